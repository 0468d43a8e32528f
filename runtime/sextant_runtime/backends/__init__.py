"""Backends: one module per model format, imported only when that format is served."""

from __future__ import annotations

from pathlib import Path

from sextant_runtime.formats import detect_format
from sextant_runtime.model import Backend


def load_backend(
    path: Path, *, format: str | None = None, device: str = "auto", threads: int = 0
) -> Backend:
    """Load the model at `path` (format detected when not given) onto `device`."""
    found, artifact = detect_format(path, format)
    if found == "onnx":
        from sextant_runtime.backends.onnx import OnnxBackend  # noqa: PLC0415 - by format

        return OnnxBackend(artifact, device=device, threads=threads)
    if found in ("torchscript", "torch-export"):
        from sextant_runtime.backends.torch import TorchBackend  # noqa: PLC0415

        return TorchBackend(
            artifact, exported=found == "torch-export", device=device, threads=threads
        )
    from sextant_runtime.backends.pyfunc import PyfuncBackend  # noqa: PLC0415

    return PyfuncBackend(artifact, threads=threads)
