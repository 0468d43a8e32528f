"""Small ONNX models registered in a real MLflow server, for tests."""

from __future__ import annotations

import mlflow
import onnx
from onnx import TensorProto, helper

from sextant.devenv.mlflow_server import LocalMlflow


def scale_model(factor: float) -> onnx.ModelProto:
    """y = x * factor, on float32 [batch, 4]."""
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "factor"], ["y"])],
        "scale",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        initializer=[helper.make_tensor("factor", TensorProto.FLOAT, [], [factor])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    return model


def register(server: LocalMlflow, name: str, factor: float) -> str:
    """Log an ONNX model in a run and register it; return the new version."""
    mlflow.set_tracking_uri(server.url)
    with mlflow.start_run():
        info = mlflow.onnx.log_model(scale_model(factor), name="model", registered_model_name=name)
    assert info.registered_model_version is not None
    return str(info.registered_model_version)
