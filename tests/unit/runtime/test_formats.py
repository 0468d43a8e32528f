"""Format detection from the artifact, and the errors when it cannot be told."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import mlflow.onnx
import onnx
import pytest

from sextant_runtime.backends import load_backend
from sextant_runtime.formats import FormatError, detect_format
from tests.unit.runtime import model_files


def test_onnx_file_is_detected_by_suffix_and_by_content(tmp_path: Path) -> None:
    path = model_files.onnx_linear(tmp_path / "model.onnx")
    assert detect_format(path) == ("onnx", path)
    renamed = tmp_path / "model.bin"
    shutil.copy(path, renamed)
    assert detect_format(renamed) == ("onnx", renamed)


def test_torchscript_and_torch_export_archives_are_told_apart(tmp_path: Path) -> None:
    ts = model_files.torchscript(tmp_path / "a.pt")
    ex = model_files.torch_export(tmp_path / "b.pt2")
    assert detect_format(ts)[0] == "torchscript"
    assert detect_format(ex)[0] == "torch-export"
    unnamed = tmp_path / "c.bin"
    shutil.copy(ex, unnamed)
    assert detect_format(unnamed)[0] == "torch-export"


def test_mlflow_directories_are_pyfunc_unless_they_hold_an_onnx_flavor(tmp_path: Path) -> None:
    pyfunc = model_files.mlflow_pyfunc(tmp_path / "pyfunc")
    assert detect_format(pyfunc) == ("mlflow-pyfunc", pyfunc)

    onnx_model = onnx.load(str(model_files.onnx_linear(tmp_path / "x.onnx")))
    mlflow.onnx.save_model(onnx_model, str(tmp_path / "mlflow-onnx"), pip_requirements=["onnx"])
    fmt, artifact = detect_format(tmp_path / "mlflow-onnx")
    assert fmt == "onnx"
    assert artifact.suffix == ".onnx"
    assert detect_format(tmp_path / "mlflow-onnx", "mlflow-pyfunc")[0] == "mlflow-pyfunc"


def test_a_directory_with_one_model_file_is_that_file(tmp_path: Path) -> None:
    path = model_files.onnx_linear(tmp_path / "dir" / "m.onnx")
    assert detect_format(tmp_path / "dir") == ("onnx", path)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "missing.onnx", "does not exist"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "not exactly one model file"),
        (
            lambda p: (p / "junk.bin").write_bytes(b"hello") and p / "junk.bin",
            "cannot tell the format",
        ),
    ],
)
def test_undetectable_artifacts_fail_with_a_reason(tmp_path: Path, setup, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError, match=message):
        detect_format(setup(tmp_path))


def test_an_unknown_requested_format_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(FormatError, match="format must be one of"):
        detect_format(model_files.onnx_linear(tmp_path / "m.onnx"), "tensorflow")


def test_torchscript_without_a_signature_says_how_to_add_one(tmp_path: Path) -> None:
    path = model_files.torchscript(tmp_path / "bare.pt", embed_signature=False)
    with pytest.raises(ValueError, match="declares no inputs: save it with _extra_files"):
        load_backend(path)


def test_torchscript_signature_may_sit_beside_the_file(tmp_path: Path) -> None:

    path = model_files.torchscript(tmp_path / "bare.pt", embed_signature=False)
    (tmp_path / "sextant.json").write_text(json.dumps(model_files.TORCH_SIGNATURE))
    backend = load_backend(path)
    assert [s.name for s in backend.signature.inputs] == ["x"]
