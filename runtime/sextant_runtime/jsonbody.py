"""Request bodies as Python objects, with numeric tensor data read straight into numpy.

orjson turns a JSON tensor into one Python float per number, which numpy then reads back;
for 512 floats that is most of the request's decode cost, and for an image-sized tensor
it takes milliseconds. simdjson parses the body once, and its `as_buffer` copies a numeric
array into a buffer of doubles or int64 in C, with no Python object per number.

`load_request` returns what `orjson.loads` would, except that the `data` of each entry of
`inputs` becomes a flat ndarray (float64 for FP datatypes, int64 for integer ones) when it
holds as many numbers as its shape says, as one flat list or, for a 2-D shape, as a list
of rows. Everything else stays a list for the codec's own checks: deeper nesting (numpy
checks that it is rectangular), booleans, strings, nulls, integers beyond int64, other
datatypes. Small bodies, and any body simdjson refuses, go to orjson, so errors name the
problem as before. One leniency, as in Triton, which also reads data by flattening it:
one-element lists inside a flat list or a row of the right length (`[1, [2], 3]` for
shape [3]) read as their numbers.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

import numpy as np
import orjson
import simdjson

# Smaller bodies go to orjson, numbers and all: simdjson's path costs a few µs of Python
# per body, which only pays off from a few hundred numbers (bench/json_decode.py).
_SIMDJSON_FROM_BYTES = 2048
# Bodies up to this size reuse the thread's parser, which keeps buffers the size of the
# largest body it parsed; bigger ones get a parser of their own, freed with the request.
_REUSED_PARSER_LIMIT = 1 << 20
# The buffer each datatype's numbers are read into: doubles, or int64 for integers (exact
# where a double is not). UINT64 stays a list: its values may exceed int64.
_BUFFERS: dict[str, tuple[Literal["d", "i"], type[np.float64] | type[np.int64]]] = {
    **dict.fromkeys(("FP16", "FP32", "FP64"), ("d", np.float64)),
    **dict.fromkeys(
        ("INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32"), ("i", np.int64)
    ),
}

_local = threading.local()


def load_request(body: bytes | memoryview) -> Any:
    """The body as plain Python values; raise orjson.JSONDecodeError when it is not JSON."""
    if len(body) < _SIMDJSON_FROM_BYTES:
        return orjson.loads(body)
    try:
        doc = _parser(len(body)).parse(body)
    # Not JSON to simdjson (RuntimeError: an integer beyond 64 bits, or a value of this
    # thread's last document still held somewhere, as a parser holds one document at a
    # time): orjson names the problem, or parses the body.
    except (ValueError, RuntimeError):
        return orjson.loads(body)
    if not isinstance(doc, simdjson.Object):
        return _plain(doc)
    # Keys and indexing, not items(): items() would build every value as Python objects.
    return {key: _inputs(doc[key]) if key == "inputs" else _plain(doc[key]) for key in doc}


def _parser(size: int) -> simdjson.Parser:
    if size > _REUSED_PARSER_LIMIT:
        return simdjson.Parser()
    parser: simdjson.Parser | None = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = simdjson.Parser()
    return parser


def _plain(value: Any) -> Any:
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


def _inputs(value: Any) -> Any:
    if not isinstance(value, simdjson.Array):
        return _plain(value)
    return [
        _input(entry) if isinstance(entry, simdjson.Object) else _plain(entry) for entry in value
    ]


def _input(entry: simdjson.Object) -> dict[str, Any]:
    out = {key: _plain(entry[key]) for key in entry if key != "data"}
    if "data" in entry:
        data = entry["data"]
        out["data"] = _numeric(data, out) if isinstance(data, simdjson.Array) else _plain(data)
    return out


def _numeric(data: simdjson.Array, entry: dict[str, Any]) -> Any:
    """Numbers as a flat ndarray when they are a flat list of the shape's count, or rows
    of a 2-D shape's width (`x.tolist()` of a batch); else a list, for numpy to check."""
    buffer = _BUFFERS.get(entry.get("datatype"))  # type: ignore[arg-type]
    if buffer is None:
        return data.as_list()
    kind, dtype = buffer
    shape = entry.get("shape")
    if type(shape) is not list or not all(type(d) is int for d in shape):
        return data.as_list()  # the codec names the bad shape
    count = 1
    for d in shape:
        count *= d
    if len(data) != count and not _rows(data, shape):
        return data.as_list()  # deeper nesting, or the wrong length: numpy's checks
    try:
        # as_buffer flattens nested lists; its count equal to the shape's means no list
        # held more than the layout above allows.
        values = np.frombuffer(data.as_buffer(of_type=kind), dtype=dtype)
    except (TypeError, ValueError):  # a boolean, string, null or out-of-range number
        return data.as_list()
    if values.size != count:
        return data.as_list()
    return values


def _rows(data: simdjson.Array, shape: list[int]) -> bool:
    """Whether data is shape[0] lists of shape[1] items each (checked row by row, so only
    for 2-D shapes: deeper nesting would cost a Python step per innermost list)."""
    if len(shape) != 2 or len(data) != shape[0]:
        return False
    width = shape[1]
    return all(isinstance(row, simdjson.Array) and len(row) == width for row in data)
