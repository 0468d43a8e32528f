"""Prediction log entries on the wire: tensors as raw bytes, Redis commands packed here.

Why not JSON and redis-py's pipeline: at sample rate 1.0 the writer thread encodes and
sends every request on the cores that serve them. Measured on the small benchmark model
(bench/prediction_log.py), JSON text of floats and redis-py's generic command packing and
per-command reply parsing cost about 60 us an entry, a third of the request itself; raw
bytes and commands packed from prebuilt parts cost a few microseconds.

An entry's fields: `id`, `time`, `model`, `version`, `track`, `layout`, `inputs`,
`outputs`. `layout` is JSON, `{"inputs": [[name, dtype, shape], ...], "outputs": [...]}`
with numpy's dtype string (`<f4`); `inputs` and `outputs` are those tensors' bytes,
C order, one after the other. A tensor of strings has dtype `json` and a fourth item, its
byte length, and its bytes are the JSON text of its values. `decode()` reads it back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson

JSON_DTYPE = "json"


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def command(*args: bytes) -> bytes:
    """One Redis command in RESP, the protocol's own framing."""
    return b"*%d\r\n%s" % (len(args), b"".join(_bulk(arg) for arg in args))


CLIENT_REPLY_OFF = command(b"CLIENT", b"REPLY", b"OFF")
CLIENT_REPLY_ON = command(b"CLIENT", b"REPLY", b"ON")


def _text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"cannot log a {type(value).__name__}")


class EntryPacker:
    """XADD commands for one stream: one bytes format per command, constants packed once."""

    def __init__(self, key: str, max_length: int, static: Mapping[str, str]) -> None:
        fields = ["id", "time", *static, "layout", "inputs", "outputs"]
        head = [b"XADD", key.encode(), b"MAXLEN", b"~", str(max_length).encode(), b"*"]
        constants = b"".join(_bulk(k.encode()) + _bulk(v.encode()) for k, v in static.items())
        value = b"$%d\r\n%s\r\n"
        self._format = b"".join(
            (
                b"*%d\r\n" % (len(head) + 2 * len(fields)),
                b"".join(map(_bulk, head)).replace(b"%", b"%%"),
                _bulk(b"id"),
                value,
                _bulk(b"time"),
                value,
                constants.replace(b"%", b"%%"),
                _bulk(b"layout"),
                value,
                _bulk(b"inputs"),
                value,
                _bulk(b"outputs"),
                value,
            )
        )
        # Layouts of all-numeric entries by (name, dtype, shape) of each tensor: a model
        # has one or a few, so the common entry skips building and encoding one.
        self._layouts: dict[tuple[Any, ...], bytes] = {}

    def batch(self, entries: Iterable[tuple[str, float, Any, Any]], index: str) -> list[bytes]:
        """ZADD of the entries' ids (scored by time) to the sorted set `index`, then one
        XADD per entry."""
        commands = [b""]
        members: list[bytes] = []
        last, when = None, b""
        for request_id, at, inputs, outputs in entries:
            if at != last:  # a batch's entries share their time: format it once
                last, when = at, repr(at).encode()
            rid = request_id.encode()
            members.append(b"$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(when), when, len(rid), rid))
            commands.append(self._xadd(rid, when, inputs, outputs))
        zadd = b"*%d\r\n%s%s" % (2 + 2 * len(members), _bulk(b"ZADD"), _bulk(index.encode()))
        commands[0] = zadd + b"".join(members)
        return commands

    def xadd(self, request_id: str, at: float, inputs: Any, outputs: Any) -> bytes:
        return self._xadd(request_id.encode(), repr(at).encode(), inputs, outputs)

    def _xadd(self, rid: bytes, when: bytes, inputs: Any, outputs: Any) -> bytes:
        key: tuple[Any, ...] | None = None
        layout = None
        try:
            key = (*_signature(inputs), None, *_signature(outputs))
            layout = self._layouts.get(key)
        except AttributeError:  # not arrays: the general path takes anything array-like
            pass
        if layout is not None:
            in_bytes = _raw(inputs)
            out_bytes = _raw(outputs)
        else:
            in_layout, in_bytes, in_numeric = _tensors(inputs)
            out_layout, out_bytes, out_numeric = _tensors(outputs)
            layout = orjson.dumps({"inputs": in_layout, "outputs": out_layout})
            if key is not None and in_numeric and out_numeric and len(self._layouts) < 64:
                self._layouts[key] = layout
        return self._format % (
            len(rid), rid, len(when), when, len(layout), layout,
            len(in_bytes), in_bytes, len(out_bytes), out_bytes,
        )  # fmt: skip


def _signature(tensors: Mapping[str, Any]) -> list[Any]:
    """Name, dtype and shape of each tensor: what a layout depends on."""
    out: list[Any] = []
    for name, value in tensors.items():
        out += (name, value.dtype, value.shape)
    return out


def _raw(tensors: Mapping[str, Any]) -> bytes:
    if len(tensors) == 1:
        for value in tensors.values():
            return bytes(value.tobytes())
    return b"".join([value.tobytes() for value in tensors.values()])


def _tensors(tensors: Mapping[str, Any]) -> tuple[list[list[Any]], bytes, bool]:
    """(layout items, bytes, whether every tensor is numeric: then the layout is constant
    for the same names, dtypes and shapes)."""
    layout: list[list[Any]] = []
    parts: list[bytes] = []
    numeric = True
    for name, value in tensors.items():
        array = np.asarray(value)
        if array.dtype.kind in "OSU":
            text = orjson.dumps(array.tolist(), default=_text)
            layout.append([name, JSON_DTYPE, list(array.shape), len(text)])
            parts.append(text)
            numeric = False
        else:
            layout.append([name, array.dtype.str, list(array.shape)])
            parts.append(array.tobytes())  # C order, whatever the array's own order
    return layout, b"".join(parts), numeric


def decode(fields: Mapping[bytes, bytes], part: str) -> dict[str, np.ndarray]:
    """The tensors of an entry's `inputs` or `outputs`, by name."""
    layout = orjson.loads(fields.get(b"layout", b"{}")).get(part, [])
    payload = fields.get(part.encode(), b"")
    out: dict[str, np.ndarray] = {}
    offset = 0
    for name, dtype, shape, *rest in layout:
        if dtype == JSON_DTYPE:
            size = int(rest[0])
            out[name] = np.asarray(orjson.loads(payload[offset : offset + size]), dtype=object)
        else:
            kind = np.dtype(dtype)
            count = math.prod(shape)
            size = count * kind.itemsize
            out[name] = np.frombuffer(payload, kind, count, offset).reshape(shape)
        offset += size
    return out


def rows(fields: Mapping[bytes, bytes]) -> int:
    """Rows of an entry: the first dimension of its first output (1 for a scalar)."""
    for _, _, shape, *_ in orjson.loads(fields.get(b"layout", b"{}")).get("outputs", []):
        return int(shape[0]) if shape else 1
    return 1
