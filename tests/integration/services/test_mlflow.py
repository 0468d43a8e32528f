from pathlib import Path

import mlflow
import numpy as np
import onnx
import pytest
from mlflow import MlflowClient
from onnx import TensorProto, helper

from sextant.devenv.mlflow_server import LocalMlflow
from sextant.devenv.process import free_port
from sextant.registry import ModelNotFound, ModelRef, RegistryClient, RegistryUnavailable


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


def test_alias_resolves_to_the_version_it_points_at(mlflow_server: LocalMlflow) -> None:
    first = register(mlflow_server, "fraud-detector", factor=2.0)
    second = register(mlflow_server, "fraud-detector", factor=3.0)
    client = MlflowClient(tracking_uri=mlflow_server.url)
    client.set_registered_model_alias("fraud-detector", "champion", first)
    registry = RegistryClient(mlflow_server.url)

    resolved = registry.resolve("models:/fraud-detector@champion")
    assert (resolved.version, resolved.resolved_from) == (first, "models:/fraud-detector@champion")
    assert resolved.pinned_uri == f"models:/fraud-detector/{first}"

    client.set_registered_model_alias("fraud-detector", "champion", second)
    assert registry.resolve("models:/fraud-detector@champion").version == second
    assert registry.resolve(f"models:/fraud-detector/{first}").version == first


def test_resolved_version_downloads_the_registered_onnx_model(
    mlflow_server: LocalMlflow, tmp_path: Path
) -> None:
    version = register(mlflow_server, "scaler", factor=5.0)
    MlflowClient(tracking_uri=mlflow_server.url).set_registered_model_alias(
        "scaler", "prod", version
    )
    pinned = RegistryClient(mlflow_server.url).resolve("models:/scaler@prod").pinned_uri

    local = Path(mlflow.artifacts.download_artifacts(pinned, dst_path=str(tmp_path)))
    model = onnx.load(str(next(local.rglob("*.onnx"))))

    factor = onnx.numpy_helper.to_array(model.graph.initializer[0])
    np.testing.assert_allclose(factor, np.float32(5.0))


@pytest.mark.parametrize(
    "uri", ["models:/no-such-model@champion", "models:/fraud-detector@no-such-alias"]
)
def test_missing_model_or_alias_is_model_not_found(mlflow_server: LocalMlflow, uri: str) -> None:
    register(mlflow_server, "fraud-detector", factor=1.0)
    with pytest.raises(ModelNotFound, match=r"fraud-detector|no-such-model"):
        RegistryClient(mlflow_server.url).resolve(uri)


def test_unreachable_tracking_server_is_registry_unavailable() -> None:
    registry = RegistryClient(f"http://127.0.0.1:{free_port()}", timeout=2)
    with pytest.raises(RegistryUnavailable, match="unreachable"):
        registry.resolve(ModelRef("fraud-detector", alias="champion"))
