"""Each format served over HTTP answers exactly what its own framework computes."""

from __future__ import annotations

from pathlib import Path

import httpx
import mlflow.pyfunc
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import torch
import tritonclient.http as triton

from sextant_runtime.datatypes import NUMPY_DTYPES
from tests.integration.runtime.conftest import Serve
from tests.unit.runtime import model_files
from tests.unit.runtime.test_protocol import sample


def _rows(n: int, width: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, width)).astype(np.float32)


def _post(server, name: str, x: np.ndarray):  # type: ignore[no-untyped-def]
    response = server.infer(
        [{"name": name, "shape": list(x.shape), "datatype": "FP32", "data": x.reshape(-1).tolist()}]
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_onnx_matches_onnxruntime(serve: Serve, tmp_path: Path) -> None:

    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    server = serve(path)
    x = _rows(5, 4)
    [out] = _post(server, "x", x)["outputs"]
    expected = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert (out["name"], out["datatype"], out["shape"]) == ("y", "FP32", [5, 3])
    np.testing.assert_array_equal(np.array(out["data"], dtype=np.float32).reshape(5, 3), expected)
    meta = server_metadata(server)
    assert meta["platform"] == "onnxruntime_onnx"


def server_metadata(server):  # type: ignore[no-untyped-def]

    return httpx.get(f"{server.url}/v2/models/{server.name}", timeout=5).json()


def test_torchscript_matches_torch(serve: Serve, tmp_path: Path) -> None:

    path = model_files.torchscript(tmp_path / "model.pt")
    server = serve(path, "--format", "torchscript")
    x = _rows(3, 4)
    [out] = _post(server, "x", x)["outputs"]
    with torch.inference_mode():
        expected = torch.jit.load(str(path))(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(
        np.array(out["data"], dtype=np.float32).reshape(3, 3), expected, rtol=1e-6
    )
    assert server_metadata(server)["platform"] == "pytorch_libtorch"


def test_torch_export_matches_the_exported_program(serve: Serve, tmp_path: Path) -> None:

    path = model_files.torch_export(tmp_path / "model.pt2")
    server = serve(path)
    meta = server_metadata(server)
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    assert meta["outputs"] == [{"name": "output_0", "datatype": "FP32", "shape": [-1, 3]}]
    x = _rows(6, 4)
    [out] = _post(server, "input", x)["outputs"]
    with torch.inference_mode():
        expected = torch.export.load(str(path)).module()(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(
        np.array(out["data"], dtype=np.float32).reshape(6, 3), expected, rtol=1e-6
    )


def test_mlflow_pyfunc_tensor_model_matches_pyfunc_predict(serve: Serve, tmp_path: Path) -> None:

    path = model_files.mlflow_pyfunc(tmp_path / "pyfunc")
    server = serve(path)
    x = _rows(2, 4)
    [out] = _post(server, "input_0", x)["outputs"]
    expected = mlflow.pyfunc.load_model(str(path)).predict(x)
    np.testing.assert_array_equal(np.array(out["data"], dtype=np.float32).reshape(2, 4), expected)
    assert server_metadata(server)["platform"] == "mlflow_pyfunc"


def test_mlflow_pyfunc_column_model_takes_one_tensor_per_column(
    serve: Serve, tmp_path: Path
) -> None:

    path = model_files.mlflow_pyfunc(tmp_path / "columns", columns=True)
    server = serve(path)
    a, b = [1.5, 2.5, -1.0], [3, 4, 5]
    response = server.infer(
        [
            {"name": "a", "shape": [3], "datatype": "FP64", "data": a},
            {"name": "b", "shape": [3], "datatype": "INT64", "data": b},
        ]
    )
    assert response.status_code == 200, response.text
    [out] = response.json()["outputs"]
    expected = mlflow.pyfunc.load_model(str(path)).predict(pd.DataFrame({"a": a, "b": b}))
    assert (out["name"], out["shape"]) == ("total", [3])
    assert out["data"] == expected["total"].tolist()


@pytest.fixture(scope="module")
def all_types_server(serve_module: Serve, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    path = model_files.onnx_all_types(tmp_path_factory.mktemp("types") / "types.onnx")
    return serve_module(path, name="types")


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_every_datatype_round_trips_through_onnxruntime(all_types_server, binary: bool) -> None:  # type: ignore[no-untyped-def]

    client = triton.InferenceServerClient(all_types_server.url.removeprefix("http://"))
    inputs, outputs, arrays = [], [], {}
    for datatype in NUMPY_DTYPES:
        arr = sample(datatype, (3, 2))
        arrays[datatype] = arr
        tensor = triton.InferInput(f"x_{datatype.lower()}", [3, 2], datatype)
        tensor.set_data_from_numpy(arr, binary_data=binary)
        inputs.append(tensor)
        outputs.append(triton.InferRequestedOutput(f"y_{datatype.lower()}", binary_data=binary))
    result = client.infer("types", inputs, outputs=outputs)
    for datatype, arr in arrays.items():
        got = result.as_numpy(f"y_{datatype.lower()}")
        assert got is not None, datatype
        if datatype == "BYTES":
            assert [
                bytes(v) if not isinstance(v, str) else v.encode() for v in got.reshape(-1)
            ] == list(arr.reshape(-1))
        else:
            assert got.dtype == NUMPY_DTYPES[datatype], datatype
            np.testing.assert_array_equal(got, arr)
