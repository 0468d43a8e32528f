"""tritonclient's HTTP client and KServe's v2 REST client work against the runtime unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from tritonclient.utils import InferenceServerException

from tests.integration.runtime.conftest import RuntimeServer, Serve
from tests.unit.runtime import model_files


@pytest.fixture(scope="module")
def linear(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return model_files.onnx_linear(tmp_path_factory.mktemp("clients") / "linear.onnx")


@pytest.fixture(scope="module")
def server(serve_module: Serve, linear: Path) -> RuntimeServer:
    return serve_module(linear, "--model-version", "4", name="linear")


def expected(linear: Path, x: np.ndarray) -> np.ndarray:
    return np.asarray(ort.InferenceSession(str(linear)).run(None, {"x": x})[0])


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_http(server: RuntimeServer, linear: Path, binary: bool) -> None:

    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("linear")
    meta = client.get_model_metadata("linear")
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["versions"] == ["4"]

    x = np.random.default_rng(3).standard_normal((7, 4)).astype(np.float32)
    tensor = triton.InferInput("x", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    outputs = [triton.InferRequestedOutput("y", binary_data=binary)]
    result = client.infer("linear", [tensor], outputs=outputs, request_id="t-1", model_version="4")
    np.testing.assert_array_equal(result.as_numpy("y"), expected(linear, x))
    assert result.get_response()["id"] == "t-1"

    # Without requested outputs tritonclient asks for every output as binary data.
    default = client.infer("linear", [tensor])
    np.testing.assert_array_equal(default.as_numpy("y"), expected(linear, x))


def test_tritonclient_sees_errors_as_exceptions_with_the_message(server: RuntimeServer) -> None:

    client = triton.InferenceServerClient(server.url.removeprefix("http://"))
    tensor = triton.InferInput("x", [1, 5], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 5), np.float32))
    with pytest.raises(
        InferenceServerException, match=r"shape \[1, 5\] but the model expects \[-1, 4\]"
    ):
        client.infer("linear", [tensor])
    with pytest.raises(InferenceServerException, match="is not served here"):
        client.get_model_metadata("nope")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_kserve_inference_rest_client(server: RuntimeServer, linear: Path, binary: bool) -> None:

    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)

    async def call() -> tuple[bool, bool, bool, np.ndarray]:
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=30))
        try:
            live = await client.is_server_live(server.url)
            ready = await client.is_server_ready(server.url)
            model_ready = await client.is_model_ready(server.url, "linear")
            tensor = InferInput(name="x", shape=list(x.shape), datatype="FP32")
            tensor.set_data_from_numpy(x, binary_data=binary)
            request = InferRequest(model_name="linear", infer_inputs=[tensor], request_id="k-1")
            response = await client.infer(server.url, request, model_name="linear")
            assert response.id == "k-1"
            return live, ready, model_ready, response.outputs[0].as_numpy()
        finally:
            await client.close()

    live, ready, model_ready, y = asyncio.run(call())
    assert (live, ready, model_ready) == (True, True, True)
    np.testing.assert_array_equal(y.reshape(3, 3), expected(linear, x))
