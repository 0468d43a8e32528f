"""Request bodies through simdjson: the same decoded requests and errors as orjson gave.

Every test here parses bodies of any size with simdjson (the size below which the runtime
uses orjson is set to 0), so that small bodies exercise the simdjson path.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import numpy as np
import orjson
import pytest
import simdjson
from hypothesis import given, settings
from hypothesis import strategies as st

from sextant_runtime import jsonbody, protocol
from sextant_runtime.errors import BadRequest
from sextant_runtime.jsonbody import load_request
from sextant_runtime.model import Signature, TensorSpec
from sextant_runtime.protocol import Codec


@pytest.fixture(autouse=True)
def _simdjson_for_every_size() -> Iterator[None]:
    with mock.patch.object(jsonbody, "_SIMDJSON_FROM_BYTES", 0):
        yield


DATATYPES = ["FP16", "FP32", "FP64", "INT8", "INT32", "INT64", "UINT8", "UINT64", "BOOL"]

scalars = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, bytes]:
    """A body for a model input 'x' of some datatype: often right, sometimes subtly wrong."""
    datatype = draw(st.sampled_from(DATATYPES))
    rows, cols = draw(st.integers(0, 3)), draw(st.integers(1, 4))
    if draw(st.booleans()):  # numbers of one kind, flat or nested: the fast path's input
        kind = draw(st.sampled_from(["int", "float", "mixed"]))
        number = {
            "int": st.integers(-(2**63), 2**63 - 1),
            "float": st.floats(allow_nan=False, allow_infinity=False),
            "mixed": st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6)),
        }[kind]
        flat = draw(st.lists(number, min_size=rows * cols, max_size=rows * cols))
        data: Any = (
            [flat[r * cols : (r + 1) * cols] for r in range(rows)] if draw(st.booleans()) else flat
        )
    else:  # anything: wrong lengths, ragged rows, booleans, nulls, strings, huge integers
        # (Inner lists of two or more: shorter ones are the leniency tested on its own.)
        inner = st.lists(scalars, min_size=2, max_size=3)
        data = draw(st.lists(st.one_of(scalars, inner), max_size=8))
    entry = {"name": "x", "datatype": datatype, "shape": [rows, cols], "data": data}
    # The standard library's json writes integers of any size (orjson stops at 64 bits).
    return datatype, json.dumps({"inputs": [entry], "id": "r1"}).encode()


def codec(datatype: str) -> Codec:
    spec = TensorSpec("x", datatype, (-1, -1))
    return Codec("m", "1", Signature((spec,), (TensorSpec("y", datatype, (-1, -1)),)))


def decoded(datatype: str, body: bytes) -> np.ndarray | str:
    try:
        return codec(datatype).decode(body).inputs["x"]
    except BadRequest as err:
        return f"400 {err}"


@settings(max_examples=400, deadline=None)
@given(requests())
def test_every_request_decodes_as_it_did_through_orjson(request_body: tuple[str, bytes]) -> None:
    datatype, body = request_body
    got = decoded(datatype, body)
    with mock.patch.object(protocol, "load_request", orjson.loads):  # the codec before simdjson
        expected = decoded(datatype, body)
    if isinstance(expected, str):
        assert got == expected
    else:
        assert isinstance(got, np.ndarray)
        assert got.dtype == expected.dtype
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def body_with(data: Any, datatype: str = "FP32", shape: list[int] | None = None) -> bytes:
    shape = [len(data)] if shape is None else shape
    return orjson.dumps(
        {"inputs": [{"name": "x", "datatype": datatype, "shape": shape, "data": data}]}
    )


def test_flat_numbers_arrive_as_an_array_without_a_python_object_each() -> None:
    floats = load_request(body_with([0.5, 2, -3e-7]))["inputs"][0]["data"]
    assert isinstance(floats, np.ndarray)
    assert floats.dtype == np.float64
    np.testing.assert_array_equal(floats, [0.5, 2.0, -3e-7])
    # Integers are read as int64, exact beyond a double's 53 bits.
    ints = load_request(body_with([1, 2**53 + 1], "INT64"))["inputs"][0]["data"]
    assert isinstance(ints, np.ndarray)
    assert ints.dtype == np.int64
    assert ints.tolist() == [1, 2**53 + 1]


def test_an_array_outlives_the_parse_of_the_next_body() -> None:
    # Requests wait in the batcher while later bodies are parsed by the same parser.
    first = load_request(body_with([1.0, 2.0, 3.0]))["inputs"][0]["data"]
    load_request(body_with([7.0, 8.0, 9.0]))
    assert first.tolist() == [1.0, 2.0, 3.0]
    assert first.flags.writeable


def test_rows_of_a_two_dimensional_shape_arrive_as_a_flat_array() -> None:
    rows = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    got = load_request(body_with(rows, shape=[2, 3]))["inputs"][0]["data"]
    assert isinstance(got, np.ndarray)
    assert got.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]


@pytest.mark.parametrize(
    ("data", "shape"),
    [
        ([[[1.0], [2.0]], [[3.0], [4.0]]], [2, 2, 1]),  # deeper than rows: numpy checks it
        ([[1.0, 2.0, 3.0], [4.0]], [2, 2]),  # ragged rows with the right count
        ([1.0, True, 3.0, 4.0], [4]),
        ([1.0, None, 3.0, 4.0], [4]),
        (["a", 1, 2, 3], [4]),
    ],
)
def test_other_data_stays_a_list_for_the_codec(data: list[Any], shape: list[int]) -> None:
    assert load_request(body_with(data, shape=shape))["inputs"][0]["data"] == data


def test_one_element_lists_inside_a_flat_list_read_as_their_numbers() -> None:
    # The one leniency (Triton flattens data the same way): the values are unambiguous.
    got = codec("FP32").decode(body_with([1.0, [2.0], 3.0], shape=[1, 3])).inputs["x"]
    np.testing.assert_array_equal(got, [[1.0, 2.0, 3.0]])


def test_a_body_simdjson_refuses_gets_orjsons_error() -> None:
    with pytest.raises(BadRequest, match=r"not valid JSON: .*line 1 column"):
        codec("FP32").decode(b'{"inputs": [1e400]}')


def test_a_value_still_held_from_the_last_body_does_not_block_the_next() -> None:
    document: Any = jsonbody._parser(16).parse(b'{"inputs": [[1.0]]}')
    held = document["inputs"]
    got = load_request(body_with([4.0, 5.0]))
    np.testing.assert_array_equal(got["inputs"][0]["data"], [4.0, 5.0])
    assert isinstance(held, simdjson.Array)  # and it is still readable
    assert held.as_list() == [[1.0]]


def test_a_body_over_the_reused_parser_limit_parses_with_a_parser_of_its_own() -> None:
    values = np.arange(150_528, dtype=np.float32) / 7
    body = body_with(values.tolist(), shape=[1, 150_528])
    assert len(body) > jsonbody._REUSED_PARSER_LIMIT
    got = codec("FP32").decode(body).inputs["x"]
    np.testing.assert_array_equal(got, values.reshape(1, -1))


def test_threads_parse_at_the_same_time_with_parsers_of_their_own() -> None:
    failures: list[str] = []

    def parse(seed: int) -> None:
        values = [float(seed * 1000 + i) for i in range(512)]
        body = body_with(values)
        for _ in range(200):
            got = load_request(body)["inputs"][0]["data"]
            if got.tolist() != values:
                failures.append(f"thread {seed} read another body")
                return

    threads = [threading.Thread(target=parse, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
