"""Which backend a model artifact needs, told from the artifact itself."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import yaml

FORMATS = ("onnx", "torchscript", "torch-export", "mlflow-pyfunc")

_ONNX_SUFFIXES = (".onnx", ".ort")
_MODEL_SUFFIXES = (*_ONNX_SUFFIXES, ".pt2", ".pt", ".pth", ".torchscript", ".ts", ".jit")


class FormatError(ValueError):
    """The artifact's format cannot be told, or does not match what was asked for."""


def detect_format(path: Path, requested: str | None = None) -> tuple[str, Path]:
    """The format and the file (or MLflow model directory) that the backend should load."""
    if requested is not None and requested not in FORMATS:
        raise FormatError(f"format must be one of {', '.join(FORMATS)}, not {requested!r}")
    if not path.exists():
        raise FormatError(f"model artifact {path} does not exist")
    if path.is_dir():
        return _detect_directory(path, requested)
    found = requested or _detect_file(path)
    return found, path


def _detect_directory(path: Path, requested: str | None) -> tuple[str, Path]:
    mlmodel = path / "MLmodel"
    if mlmodel.is_file():
        flavors = _flavors(mlmodel)
        onnx = flavors.get("onnx")
        # An MLflow ONNX model runs on onnxruntime directly: batching, no pyfunc layer.
        if requested in (None, "onnx") and isinstance(onnx, dict) and onnx.get("data"):
            return "onnx", path / str(onnx["data"])
        if requested not in (None, "mlflow-pyfunc"):
            raise FormatError(
                f"{path} is an MLflow model with flavors {', '.join(flavors)}; "
                f"it cannot be served as {requested}"
            )
        if "python_function" not in flavors:
            raise FormatError(f"MLflow model {path} has no python_function flavor to serve")
        return "mlflow-pyfunc", path
    candidates = sorted(p for p in path.iterdir() if p.is_file() and p.suffix in _MODEL_SUFFIXES)
    if len(candidates) != 1:
        names = ", ".join(p.name for p in candidates) or "none"
        raise FormatError(
            f"model directory {path} has no MLmodel file and not exactly one model file "
            f"({', '.join(_MODEL_SUFFIXES)}): found {names}"
        )
    return detect_format(candidates[0], requested)


def _flavors(mlmodel: Path) -> dict[str, Any]:
    try:
        meta = yaml.safe_load(mlmodel.read_text())
    except yaml.YAMLError as err:
        raise FormatError(f"{mlmodel} is not valid YAML: {err}") from None
    flavors = meta.get("flavors") if isinstance(meta, dict) else None
    if not isinstance(flavors, dict):
        raise FormatError(f"{mlmodel} lists no flavors")
    return flavors


def _detect_file(path: Path) -> str:
    if path.suffix in _ONNX_SUFFIXES:
        return "onnx"
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
        if any(n.endswith("/archive_format") or n.endswith("/models/model.json") for n in names):
            return "torch-export"
        if any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names):
            return "torchscript"
        raise FormatError(
            f"{path} is a zip archive but neither TorchScript nor a torch.export program; "
            "pass --format"
        )
    with path.open("rb") as f:
        head = f.read(2)
    # An ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
    if head[:1] == b"\x08":
        return "onnx"
    raise FormatError(f"cannot tell the format of {path}; pass --format ({', '.join(FORMATS)})")
