"""spec.runtime.optimize for ONNX models: graph optimization level, and int8 kept on merit.

Dynamic int8 quantization (onnxruntime.quantization.quantize_dynamic: int8 weights,
activations quantized per batch at run time) is tried at load. The int8 model is served
only if, on a fixed random sample, every output stays within tolerance of the float model:

    max |int8 - float| <= tolerance * max(1, max |float|)      (float outputs)
    int8 == float                                              (integer, bool, string outputs)

The sample is `SAMPLE_ROWS` rows drawn from the model's declared inputs: float inputs
standard normal (seed 0), integer and bool inputs zero, strings empty. Otherwise the float
model is served and the reason is logged, exported as the `reason` label of
`sextant_model_quantization_accepted`, and shown in the model metadata's `parameters`.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sextant import serving
from sextant_runtime.datatypes import NUMPY_DTYPES
from sextant_runtime.model import Signature

if TYPE_CHECKING:  # onnxruntime loads only with an ONNX model (backends/onnx.py)
    import onnxruntime as ort

log = logging.getLogger(__name__)

SAMPLE_ROWS = 16

# Values of the metric's `reason` label (a program may switch on them).
WITHIN_TOLERANCE = "WithinTolerance"
OUTSIDE_TOLERANCE = "OutsideTolerance"
QUANTIZATION_FAILED = "QuantizationFailed"
NOT_ON_CUDA = "NotOnCuda"
NOT_ONNX = "NotOnnx"


@dataclass(frozen=True)
class Optimization:
    """What spec.runtime.optimize asks for (sextant serve --graph-optimization, --quantize)."""

    graph: str = serving.GRAPH_OPTIMIZATION.default
    quantize: str = serving.QUANTIZE.default
    tolerance: float = serving.QUANTIZE_TOLERANCE.default


@dataclass(frozen=True)
class Quantization:
    """The outcome of asking for int8: served or not, and why."""

    accepted: bool
    reason: str
    message: str
    float_bytes: int = 0
    int8_bytes: int = 0
    max_error: float | None = None

    def parameters(self) -> dict[str, str]:
        """Model metadata `parameters` entries (OIP parameters are strings here)."""
        out = {
            "quantization": "dynamic-int8" if self.accepted else "none",
            "quantization_reason": self.reason,
            "quantization_message": self.message,
        }
        if self.int8_bytes:
            out["float_model_bytes"] = str(self.float_bytes)
            out["int8_model_bytes"] = str(self.int8_bytes)
        return out


def quantize_dynamic_int8(path: Path) -> bytes:
    """The int8 model of the ONNX file at `path`, serialized (nothing left on disk)."""
    # Imported here: it loads the onnx package, which only this needs.
    from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="sextant-int8-") as folder:
        out = Path(folder) / "model.int8.onnx"
        quantize_dynamic(path, out, weight_type=QuantType.QInt8)
        return out.read_bytes()


def sample_inputs(signature: Signature, rows: int = SAMPLE_ROWS) -> dict[str, np.ndarray]:
    """A fixed sample shaped by the signature: free first dim `rows`, other free dims 1."""
    rng = np.random.default_rng(0)
    arrays: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        shape = tuple((rows if i == 0 else 1) if d == -1 else d for i, d in enumerate(spec.shape))
        dtype = NUMPY_DTYPES[spec.datatype]
        if spec.datatype == "BYTES":
            arr = np.empty(shape, dtype=object)
            arr.fill("")
        elif dtype.kind == "f":
            arr = rng.standard_normal(shape).astype(dtype)
        else:
            arr = np.zeros(shape, dtype=dtype)
        arrays[spec.name] = arr
    return arrays


def compare(
    reference: dict[str, np.ndarray], candidate: dict[str, np.ndarray], tolerance: float
) -> tuple[bool, float, str]:
    """(within tolerance, largest float error seen, what failed) of candidate vs reference."""
    worst = 0.0
    for name, want in reference.items():
        got = candidate.get(name)
        if got is None or got.shape != want.shape:
            return False, worst, f"output {name!r} differs in shape or is missing"
        if want.dtype.kind != "f":
            if not np.array_equal(got, want):
                return False, worst, f"output {name!r} ({want.dtype}) is not identical"
            continue
        want64, got64 = want.astype(np.float64), got.astype(np.float64)
        if not np.isfinite(got64).all():
            return False, worst, f"output {name!r} has non-finite values"
        error = float(np.max(np.abs(got64 - want64))) if want.size else 0.0
        bound = tolerance * max(1.0, float(np.max(np.abs(want64))) if want.size else 0.0)
        worst = max(worst, error)
        if error > bound:
            return False, worst, f"output {name!r}: max |int8 - float| {error:.4g} > {bound:.4g}"
    return True, worst, ""


def try_int8(
    path: Path,
    float_session: ort.InferenceSession,
    signature: Signature,
    *,
    options: ort.SessionOptions,
    providers: list[str],
    tolerance: float,
) -> tuple[ort.InferenceSession | None, Quantization]:
    """The int8 session when it passes the sample check, else None; and the outcome."""
    import onnxruntime as ort  # noqa: PLC0415 - see TYPE_CHECKING above

    float_bytes = path.stat().st_size
    try:
        int8 = quantize_dynamic_int8(path)
        session = ort.InferenceSession(int8, options, providers=providers)
    except Exception as err:  # the quantizer rejects some graphs: serve float and say so
        return None, Quantization(
            False, QUANTIZATION_FAILED, f"quantization failed: {type(err).__name__}: {err}"
        )
    sample = sample_inputs(signature)
    names = [o.name for o in float_session.get_outputs()]
    reference = dict(zip(names, float_session.run(names, sample), strict=True))
    candidate = dict(zip(names, session.run(names, sample), strict=True))
    ok, error, detail = compare(reference, candidate, tolerance)
    if not ok:
        return None, Quantization(
            False,
            OUTSIDE_TOLERANCE,
            f"int8 outputs outside tolerance {tolerance:g} on a {SAMPLE_ROWS}-row sample "
            f"({detail}): serving the float model",
            float_bytes,
            len(int8),
            error,
        )
    return session, Quantization(
        True,
        WITHIN_TOLERANCE,
        f"int8 within tolerance {tolerance:g} on a {SAMPLE_ROWS}-row sample "
        f"(max error {error:.4g}); {float_bytes} -> {len(int8)} bytes",
        float_bytes,
        len(int8),
        error,
    )
