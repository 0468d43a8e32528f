from pathlib import Path

import mlflow
import numpy as np
import onnx
import pytest
from mlflow import MlflowClient

from sextant.devenv.mlflow_server import LocalMlflow
from sextant.devenv.process import free_port
from sextant.registry import ModelNotFound, ModelRef, RegistryClient, RegistryUnavailable
from tests.mlflow_models import register


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
