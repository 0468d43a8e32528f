"""spec.runtime.optimize on real onnxruntime sessions: int8 is served only on merit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from sextant_runtime.backends import load_backend
from sextant_runtime.backends.onnx import OnnxBackend
from sextant_runtime.metrics import Metrics
from sextant_runtime.optimize import (
    NOT_ONNX,
    OUTSIDE_TOLERANCE,
    WITHIN_TOLERANCE,
    Optimization,
    compare,
    sample_inputs,
)
from tests.unit.runtime import model_files

INT8 = Optimization(quantize="dynamic-int8")


@pytest.fixture(scope="module")
def mlp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_files.onnx_mlp(tmp_path_factory.mktemp("mlp") / "mlp.onnx")


def test_int8_within_tolerance_is_served_smaller_and_close_to_float(mlp: Path) -> None:
    float_model = OnnxBackend(mlp, device="cpu")
    int8_model = OnnxBackend(mlp, device="cpu", optimization=INT8)
    quantization = int8_model.quantization
    assert quantization is not None
    assert (quantization.accepted, quantization.reason) == (True, WITHIN_TOLERANCE)
    assert quantization.int8_bytes < quantization.float_bytes / 2  # int8 weights
    x = np.random.default_rng(7).standard_normal((4, 32)).astype(np.float32)
    want, got = float_model.predict({"x": x})["y"], int8_model.predict({"x": x})["y"]
    assert not np.array_equal(want, got)  # really the int8 graph
    assert np.max(np.abs(got - want)) <= 0.05 * max(1.0, float(np.max(np.abs(want))))
    assert int8_model.parameters["quantization"] == "dynamic-int8"


def test_int8_outside_tolerance_serves_the_float_model_and_says_why(mlp: Path) -> None:
    strict = Optimization(quantize="dynamic-int8", tolerance=1e-7)
    backend = OnnxBackend(mlp, device="cpu", optimization=strict)
    float_model = OnnxBackend(mlp, device="cpu")
    quantization = backend.quantization
    assert quantization is not None
    assert (quantization.accepted, quantization.reason) == (False, OUTSIDE_TOLERANCE)
    assert "serving the float model" in quantization.message
    x = np.ones((2, 32), np.float32)
    np.testing.assert_array_equal(
        backend.predict({"x": x})["y"], float_model.predict({"x": x})["y"]
    )
    assert backend.parameters["quantization"] == "none"
    assert backend.parameters["quantization_reason"] == OUTSIDE_TOLERANCE

    metrics = Metrics("mlp", "1", "stable")
    metrics.quantization = quantization
    text = metrics.render().decode()
    assert (
        'sextant_model_quantization_accepted{model="mlp",version="1",track="stable",'
        'reason="OutsideTolerance"} 0'
    ) in text


def test_graph_optimization_level_reaches_the_session(mlp: Path) -> None:
    for level, expected in [
        ("disabled", ort.GraphOptimizationLevel.ORT_DISABLE_ALL),
        ("basic", ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
        ("all", ort.GraphOptimizationLevel.ORT_ENABLE_ALL),
    ]:
        backend = OnnxBackend(mlp, device="cpu", optimization=Optimization(graph=level))
        assert backend._session.get_session_options().graph_optimization_level == expected
        assert backend.parameters == {"graph_optimization": level}
        assert backend.quantization is None


def test_int8_asked_of_a_non_onnx_model_is_refused_in_the_open(tmp_path: Path) -> None:
    path = model_files.torchscript(tmp_path / "model.pt")
    backend = load_backend(path, device="cpu", optimization=INT8)
    assert backend.quantization is not None
    assert (backend.quantization.accepted, backend.quantization.reason) == (False, NOT_ONNX)


def test_compare_allows_scaled_float_error_and_no_integer_change() -> None:
    want = {"y": np.array([[10.0, -20.0]], np.float32), "label": np.array([1, 0])}
    close = {"y": np.array([[10.9, -20.0]], np.float32), "label": np.array([1, 0])}
    assert compare(want, close, 0.05)[0]  # 0.9 <= 0.05 * 20
    far = {"y": np.array([[11.1, -20.0]], np.float32), "label": np.array([1, 0])}
    assert not compare(want, far, 0.05)[0]
    flipped = {"y": want["y"], "label": np.array([0, 0])}
    ok, _, detail = compare(want, flipped, 0.05)
    assert not ok
    assert "label" in detail


def test_the_sample_follows_the_signature(mlp: Path) -> None:
    sample = sample_inputs(OnnxBackend(mlp, device="cpu").signature, rows=5)
    assert sample["x"].shape == (5, 32)
    assert sample["x"].dtype == np.float32
    assert sample["x"].std() > 0.5
