"""The OIP codec: JSON and binary tensors for every datatype, and every malformed request."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from sextant_runtime.datatypes import NUMPY_DTYPES, encode_bytes_tensor
from sextant_runtime.errors import BadRequest
from sextant_runtime.model import Signature, TensorSpec
from sextant_runtime.protocol import Codec, InferRequest

NUMERIC = [d for d in NUMPY_DTYPES if d not in ("BYTES", "BOOL")]


def codec_for(datatype: str, shape: tuple[int, ...] = (-1, 3), outputs: bool = True) -> Codec:
    sig = Signature(
        (TensorSpec("x", datatype, shape),),
        (TensorSpec("y", datatype, shape),) if outputs else (),
    )
    return Codec("m", "7", sig)


def sample(datatype: str, shape: tuple[int, ...]) -> np.ndarray:
    count = int(np.prod(shape))
    if datatype == "BYTES":
        return np.array([f"s{i}".encode() for i in range(count)], dtype=object).reshape(shape)
    if datatype == "BOOL":
        return (np.arange(count) % 2 == 0).reshape(shape)
    dtype = NUMPY_DTYPES[datatype]
    values = np.arange(count) + (0.5 if dtype.kind == "f" else 0)
    return values.astype(dtype).reshape(shape)


def json_body(arr: np.ndarray, datatype: str, **extra: Any) -> bytes:
    data = (
        [v.decode() for v in arr.reshape(-1)] if datatype == "BYTES" else arr.reshape(-1).tolist()
    )
    entry = {"name": "x", "shape": list(arr.shape), "datatype": datatype, "data": data}
    return orjson.dumps({"inputs": [entry], **extra})


def binary_body(arr: np.ndarray, datatype: str, **extra: Any) -> tuple[bytes, int]:
    raw = encode_bytes_tensor(arr) if datatype == "BYTES" else arr.tobytes()
    entry = {
        "name": "x",
        "shape": list(arr.shape),
        "datatype": datatype,
        "parameters": {"binary_data_size": len(raw)},
    }
    header = orjson.dumps({"inputs": [entry], **extra})
    return header + raw, len(header)


@pytest.mark.parametrize("datatype", list(NUMPY_DTYPES))
def test_json_tensors_of_every_datatype_decode_to_the_same_values(datatype: str) -> None:
    arr = sample(datatype, (2, 3))
    request = codec_for(datatype).decode(json_body(arr, datatype))
    got = request.inputs["x"]
    assert got.shape == (2, 3)
    if datatype == "BYTES":
        assert [v.encode() for v in got.reshape(-1)] == list(arr.reshape(-1))
    else:
        assert got.dtype == NUMPY_DTYPES[datatype]
        np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("datatype", list(NUMPY_DTYPES))
def test_binary_tensors_of_every_datatype_decode_to_the_same_values(datatype: str) -> None:
    arr = sample(datatype, (2, 3))
    body, header_length = binary_body(arr, datatype)
    got = codec_for(datatype).decode(body, header_length).inputs["x"]
    assert got.shape == (2, 3)
    np.testing.assert_array_equal(got, arr)


@pytest.mark.parametrize("datatype", list(NUMPY_DTYPES))
def test_outputs_encode_as_json_or_binary_and_decode_back(datatype: str) -> None:
    arr = sample(datatype, (2, 3))
    codec = codec_for(datatype)
    as_json, no_header = codec.encode(InferRequest({}, 2, None, request_id="r1"), {"y": arr})
    assert no_header is None
    response = orjson.loads(as_json)
    assert response["id"] == "r1"
    assert (response["model_name"], response["model_version"]) == ("m", "7")
    [out] = response["outputs"]
    assert (out["name"], out["datatype"], out["shape"]) == ("y", datatype, [2, 3])
    expected = (
        [v.decode() for v in arr.reshape(-1)] if datatype == "BYTES" else arr.reshape(-1).tolist()
    )
    assert out["data"] == expected

    request = InferRequest({}, 2, None, outputs=["y"], binary_outputs=frozenset({"y"}))
    body, header_length = codec.encode(request, {"y": arr})
    assert header_length is not None
    header = orjson.loads(body[:header_length])
    size = header["outputs"][0]["parameters"]["binary_data_size"]
    assert len(body) == header_length + size
    raw = body[header_length:]
    if datatype == "BYTES":
        assert raw == encode_bytes_tensor(arr)
    else:
        np.testing.assert_array_equal(np.frombuffer(raw, NUMPY_DTYPES[datatype]).reshape(2, 3), arr)


def test_binary_data_output_parameter_makes_every_output_binary() -> None:
    arr = sample("FP32", (1, 3))
    codec = codec_for("FP32")
    request = codec.decode(json_body(arr, "FP32", parameters={"binary_data_output": True}))
    body, header_length = codec.encode(request, {"y": arr})
    assert header_length is not None
    np.testing.assert_array_equal(np.frombuffer(body[header_length:], np.float32), arr.reshape(-1))


def test_request_id_and_parameters_are_kept_and_rows_and_key_follow_the_shape() -> None:
    arr = sample("FP32", (4, 3))
    request = codec_for("FP32").decode(json_body(arr, "FP32", id="abc", parameters={"a": 1}))
    assert (request.id, request.parameters, request.rows, request.key) == ("abc", {"a": 1}, 4, (3,))


def test_nested_json_data_is_accepted_in_row_major_order() -> None:
    body = orjson.dumps(
        {
            "inputs": [
                {"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1, 2, 3], [4, 5, 6]]}
            ]
        }
    )
    got = codec_for("FP32").decode(body).inputs["x"]
    np.testing.assert_array_equal(got, np.arange(1, 7, dtype=np.float32).reshape(2, 3))


def test_requests_with_different_inner_shapes_get_different_batch_keys() -> None:
    codec = codec_for("FP32", shape=(-1, -1))
    a = codec.decode(json_body(sample("FP32", (2, 3)), "FP32"))
    b = codec.decode(json_body(sample("FP32", (5, 3)), "FP32"))
    c = codec.decode(json_body(sample("FP32", (2, 4)), "FP32"))
    assert a.key == b.key != c.key


def test_a_model_with_a_fixed_first_dimension_never_batches() -> None:
    codec = codec_for("FP32", shape=(1, 3))
    a = codec.decode(json_body(sample("FP32", (1, 3)), "FP32"))
    b = codec.decode(json_body(sample("FP32", (1, 3)), "FP32"))
    assert a.key != b.key
    assert a.rows == 1


def entry(**fields: Any) -> dict[str, Any]:
    return {"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1.0, 2.0, 3.0], **fields}


BAD_REQUESTS = [
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (orjson.dumps({"inputs": []}), "non-empty 'inputs' list; model takes x (FP32 [-1, 3])"),
    (orjson.dumps({"inputs": [entry(name="z")]}), "unknown input 'z': model m takes x (FP32 [-1, 3])"),  # noqa: E501
    (orjson.dumps({"inputs": [entry(), entry()]}), "input 'x' appears twice"),
    (orjson.dumps({"inputs": [entry(datatype="INT32")]}), "input 'x': datatype 'INT32' but the model expects FP32"),  # noqa: E501
    (orjson.dumps({"inputs": [entry(shape=[1, 4], data=[1, 2, 3, 4])]}), "shape [1, 4] but the model expects [-1, 3]"),  # noqa: E501
    (orjson.dumps({"inputs": [entry(shape=[3])]}), "shape [3] but the model expects [-1, 3]"),
    (orjson.dumps({"inputs": [entry(shape=[1, -3])]}), "shape must be a list of non-negative integers"),  # noqa: E501
    (orjson.dumps({"inputs": [entry(shape=[2, 3])]}), "'data' has 3 elements but shape [2, 3] needs 6"),  # noqa: E501
    (orjson.dumps({"inputs": [entry(data=["a", "b", "c"])]}), "holds values that are not FP32"),
    (orjson.dumps({"inputs": [entry(data=[1.0, None, 3.0])]}), "holds values that are not FP32"),
    (orjson.dumps({"inputs": [entry(data=[[1.0], [2.0, 3.0]])]}), "not a rectangular list"),
    (orjson.dumps({"inputs": [entry(data="123")]}), "'data' must be a list"),
    (orjson.dumps({"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32"}]}), "needs 'data' or parameters.binary_data_size"),  # noqa: E501
    (orjson.dumps({"inputs": [entry()], "outputs": [{"name": "nope"}]}), "unknown output 'nope': model m produces y"),  # noqa: E501
    (orjson.dumps({"inputs": [entry()], "parameters": [1]}), "'parameters' must be an object"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), BAD_REQUESTS)
def test_malformed_requests_are_rejected_with_a_message_naming_the_problem(
    body: bytes, message: str
) -> None:
    with pytest.raises(BadRequest) as err:
        codec_for("FP32").decode(body)
    assert message in str(err.value)
    assert err.value.status == 400


def test_a_missing_input_is_named() -> None:
    sig = Signature(
        (TensorSpec("a", "FP32", (-1, 1)), TensorSpec("b", "INT64", (-1, 1))),
        (TensorSpec("y", "FP32", (-1, 1)),),
    )
    body = orjson.dumps(
        {"inputs": [{"name": "a", "shape": [1, 1], "datatype": "FP32", "data": [1]}]}
    )
    with pytest.raises(
        BadRequest, match=r"missing input\(s\) b: model takes a \(FP32 \[-1, 1\]\), b \(INT64"
    ):
        Codec("m", "1", sig).decode(body)


@pytest.mark.parametrize(
    ("datatype", "values", "message"),
    [
        ("INT8", [1, 2, 300], "values out of range for INT8"),
        ("UINT8", [1, -2, 3], "values out of range for UINT8"),
        ("INT32", [1.5, 2, 3], "not INT32"),
        ("BOOL", [1, 0, 1], "not BOOL"),
        ("BYTES", [1, 2, 3], "must hold 3 strings"),
    ],
)
def test_json_values_that_do_not_fit_the_datatype_are_rejected(
    datatype: str, values: list[Any], message: str
) -> None:
    body = orjson.dumps(
        {"inputs": [{"name": "x", "shape": [1, 3], "datatype": datatype, "data": values}]}
    )
    with pytest.raises(BadRequest, match=message):
        codec_for(datatype).decode(body)


def test_binary_size_that_does_not_match_the_shape_is_rejected() -> None:
    arr = sample("FP32", (1, 3))
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [1, 3],
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": 8},
                }
            ]
        }
    )
    with pytest.raises(
        BadRequest, match=r"binary_data_size 8 but shape \[1, 3\] of FP32 needs 12 bytes"
    ):
        codec_for("FP32").decode(header + arr.tobytes()[:8], len(header))


def test_binary_data_past_the_end_of_the_body_is_rejected() -> None:
    body, header_length = binary_body(sample("FP32", (1, 3)), "FP32")
    with pytest.raises(BadRequest, match="runs past the end of the body"):
        codec_for("FP32").decode(body[:-4], header_length)


def test_unclaimed_binary_bytes_are_rejected() -> None:
    body, header_length = binary_body(sample("FP32", (1, 3)), "FP32")
    with pytest.raises(BadRequest, match="4 bytes of binary data after the inputs are not claimed"):
        codec_for("FP32").decode(body + b"\0\0\0\0", header_length)


def test_header_length_beyond_the_body_is_rejected() -> None:
    body, _ = binary_body(sample("FP32", (1, 3)), "FP32")
    with pytest.raises(BadRequest, match="Inference-Header-Content-Length is 9999"):
        codec_for("FP32").decode(body, 9999)


def test_truncated_binary_bytes_elements_are_rejected() -> None:
    arr = sample("BYTES", (1, 3))
    raw = encode_bytes_tensor(arr)[:-1]
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "x",
                    "shape": [1, 3],
                    "datatype": "BYTES",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ]
        }
    )
    with pytest.raises(BadRequest, match="input 'x': binary BYTES data"):
        codec_for("BYTES").decode(header + raw, len(header))


def test_non_utf8_bytes_outputs_need_binary_data() -> None:
    arr = np.array([b"\xff\xfe"], dtype=object)
    with pytest.raises(BadRequest, match="not UTF-8"):
        codec_for("BYTES", shape=(-1,)).encode(InferRequest({}, 1, None), {"y": arr})


def test_a_model_without_a_signature_takes_what_the_request_declares() -> None:
    codec = Codec("m", "1", Signature((), ()))
    body = orjson.dumps(
        {"inputs": [{"name": "anything", "shape": [2], "datatype": "INT64", "data": [4, 5]}]}
    )
    request = codec.decode(body)
    np.testing.assert_array_equal(request.inputs["anything"], np.array([4, 5]))
    with pytest.raises(BadRequest, match="datatype 'FP8' is not one of"):
        codec.decode(
            orjson.dumps({"inputs": [{"name": "a", "shape": [1], "datatype": "FP8", "data": [1]}]})
        )
