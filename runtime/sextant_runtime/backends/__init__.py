"""Backends: one module per model format, imported only when that format is served."""

from __future__ import annotations

import logging
from pathlib import Path

from sextant_runtime.formats import detect_format
from sextant_runtime.model import Backend
from sextant_runtime.optimize import NOT_ONNX, Optimization, Quantization

log = logging.getLogger(__name__)


def load_backend(
    path: Path,
    *,
    format: str | None = None,
    device: str = "auto",
    threads: int = 0,
    optimization: Optimization | None = None,
) -> Backend:
    """Load the model at `path` (format detected when not given) onto `device`."""
    found, artifact = detect_format(path, format)
    optimization = optimization or Optimization()
    if found == "onnx":
        from sextant_runtime.backends.onnx import OnnxBackend  # noqa: PLC0415 - by format

        return OnnxBackend(artifact, device=device, threads=threads, optimization=optimization)
    backend = _load_other(found, artifact, device, threads)
    # spec.runtime.optimize is onnxruntime's: said, never silently dropped, for others.
    if optimization != Optimization(tolerance=optimization.tolerance):
        log.warning(
            "spec.runtime.optimize applies to ONNX models only; loading %s unchanged",
            found,
            extra={"graph_optimization": optimization.graph, "quantize": optimization.quantize},
        )
    if optimization.quantize != "none":
        backend.quantization = Quantization(
            False, NOT_ONNX, f"dynamic int8 is for ONNX models; this is {found}"
        )
    return backend


def _load_other(found: str, artifact: Path, device: str, threads: int) -> Backend:
    if found in ("torchscript", "torch-export"):
        from sextant_runtime.backends.torch import TorchBackend  # noqa: PLC0415

        return TorchBackend(
            artifact, exported=found == "torch-export", device=device, threads=threads
        )
    from sextant_runtime.backends.pyfunc import PyfuncBackend  # noqa: PLC0415

    return PyfuncBackend(artifact, threads=threads)
