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
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

JSON_DTYPE = "json"

# What the log buffers: one inference batch's sampled requests. (time, ids, each entry's
# inputs, the batch's outputs, each entry's first and end row in them); starts and ends
# are None when the outputs are the one entry's own.
Record = tuple[
    float,
    list[str],
    list[Mapping[str, Any]],
    Mapping[str, Any],
    list[int] | None,
    list[int] | None,
]


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
        self._head = b"*%d\r\n%s" % (len(head) + 2 * len(fields), b"".join(map(_bulk, head)))
        self._constants = constants
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

    def batch(self, records: Sequence[Record], index: str) -> tuple[bytes, bytes, bytes]:
        """(ZADD of every entry's id, scored by time, to the sorted set `index`; the XADDs
        of every entry but the last; the last entry's XADD), so a caller can ask for the
        reply of that one command only."""
        entries = Entries(records)
        if not entries.ids:
            return b"", b"", b""
        n = len(entries.ids) - 1
        packed = self._uniform(entries, n) if n else b""
        if packed is None:  # entries unlike each other: one at a time
            packed = b"".join([self._one(entries, i) for i in range(n)])
        zadd = b"*%d\r\n%s%s" % (2 + 2 * len(entries.ids), _bulk(b"ZADD"), _bulk(index.encode()))
        return zadd + entries.members(), packed, self._one(entries, n)

    def _one(self, entries: Entries, i: int) -> bytes:
        return self._xadd(
            entries.ids[i].encode(), entries.times[i], entries.inputs[i], entries.outputs_of(i)
        )

    def _uniform(self, entries: Entries, n: int) -> bytes | None:
        """The first n entries packed as the rows of one byte matrix (numpy does the
        per-entry work), when they have the same tensors, rows and id length; else None."""
        rows = entries.alike(n)
        if rows is None:
            return None
        names = list(entries.inputs[0])
        try:
            stacked_in = [np.stack([tensors[name] for tensors in entries.inputs[:n]])
                          for name in names]  # fmt: skip
            stacked_out = entries.stacked_outputs(n, rows)
            if any(a.dtype.kind in "OSUV" for a in [*stacked_in, *stacked_out.values()]):
                raise ValueError("strings: each entry's layout is its own")
            in_parts = [_matrix(a, n) for a in stacked_in]
            out_parts = [_matrix(a, n) for a in stacked_out.values()]
        except (KeyError, ValueError, IndexError, AttributeError, TypeError):
            return None
        layout = orjson.dumps(
            {
                "inputs": [[k, a.dtype.str, list(a.shape[1:])]
                           for k, a in zip(names, stacked_in, strict=True)],
                "outputs": [[k, a.dtype.str, [rows, *a.shape[1:]]]
                            for k, a in stacked_out.items()],
            }
        )  # fmt: skip
        ids, id_width = entries.id_matrix(n)
        times, time_width = entries.time_matrix(n)
        in_size = sum(part.shape[1] for part in in_parts)
        out_size = sum(part.shape[1] for part in out_parts)
        return _byte_rows(
            n,
            [
                self._head + _bulk(b"id") + b"$%d\r\n" % id_width,
                ids,
                b"\r\n" + _bulk(b"time") + b"$%d\r\n" % time_width,
                times,
                b"\r\n" + self._constants + _bulk(b"layout") + _bulk(layout) + _bulk(b"inputs")
                + b"$%d\r\n" % in_size,
                *in_parts,
                b"\r\n" + _bulk(b"outputs") + b"$%d\r\n" % out_size,
                *out_parts,
                b"\r\n",
            ],
        )  # fmt: skip

    def xadd(self, request_id: str, at: float, inputs: Any, outputs: Any) -> bytes:
        return self._xadd(request_id.encode(), _time(at), inputs, outputs)

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


class Entries:
    """The entries of a writer's batch of records, flattened: ids, times, inputs, and
    where each entry's rows are in its record's outputs."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self.ids: list[str] = []
        self.inputs: list[Mapping[str, Any]] = []
        self.times: list[bytes] = []
        self.record_of: list[int] = []
        self.index_in: list[int] = []
        for number, (at, ids, inputs, _, _, _) in enumerate(records):
            self.ids += ids
            self.inputs += inputs
            self.times += [_time(at)] * len(ids)  # a record's entries share their time
            self.record_of += [number] * len(ids)
            self.index_in += range(len(ids))
        self.rows: list[int] = []  # each entry's rows
        for _, ids, _, outputs, starts, ends in records:
            if starts is None or ends is None:
                self.rows += [_first_dimension(outputs)] * len(ids)
            else:
                self.rows += map(operator.sub, ends, starts)

    def outputs_of(self, i: int) -> Mapping[str, Any]:
        _, _, _, outputs, starts, ends = self.records[self.record_of[i]]
        if starts is None or ends is None:
            return outputs
        j = self.index_in[i]
        return {name: value[starts[j] : ends[j]] for name, value in outputs.items()}

    def alike(self, n: int) -> int | None:
        """The rows of each of the first n entries if all have the same rows, number of
        inputs and id length (ASCII ids); else None."""
        starts: list[int] = []
        ends: list[int] = []
        for _, _, _, _, record_starts, record_ends in self.records:
            if record_starts is None or record_ends is None:
                return None
            starts += record_starts
            ends += record_ends
        # map() and set() keep these checks out of the interpreter's per-entry loop.
        rows = set(map(operator.sub, ends[:n], starts[:n]))
        ids = self.ids[:n]
        if (
            len(rows) != 1
            or len(set(map(len, self.inputs[:n]))) != 1
            or len(set(map(len, ids))) != 1
            or len(set(map(len, self.times[:n]))) != 1
            or not "".join(ids).isascii()
        ):
            return None
        return int(rows.pop())

    def stacked_outputs(self, n: int, rows: int) -> dict[str, np.ndarray]:
        """Each output's rows of the first n entries, in entry order, one array each."""
        names = list(self.records[0][3])
        parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
        taken = 0
        for _, ids, _, outputs, starts, _ in self.records:
            k = min(len(ids), n - taken)
            if k <= 0:
                break
            if list(outputs) != names:
                raise KeyError("outputs differ between batches")
            first = np.asarray(starts[:k])  # type: ignore[index]
            index = first if rows == 1 else (first[:, None] + np.arange(rows)).ravel()
            for name in names:
                parts[name].append(np.asarray(outputs[name])[index])
            taken += k
        return {name: np.concatenate(arrays) for name, arrays in parts.items()}

    def id_matrix(self, n: int) -> tuple[np.ndarray, int]:
        width = len(self.ids[0])
        joined = "".join(self.ids[:n]).encode()
        return np.frombuffer(joined, np.uint8).reshape(n, width), width

    def time_matrix(self, n: int) -> tuple[np.ndarray, int]:
        width = len(self.times[0])
        return np.frombuffer(b"".join(self.times[:n]), np.uint8).reshape(n, width), width

    def members(self) -> bytes:
        """ZADD's score-member pairs: each `ID:ROWS` (index_member) scored by its time."""
        n = len(self.ids)
        rows = set(self.rows)
        if (
            len(rows) == 1
            and len(set(map(len, self.ids))) == 1
            and len(set(map(len, self.times))) == 1
            and "".join(self.ids).isascii()
        ):
            ids, id_width = self.id_matrix(n)
            times, time_width = self.time_matrix(n)
            suffix = b":%d" % rows.pop()
            parts: list[bytes | np.ndarray] = [
                b"$%d\r\n" % time_width,
                times,
                b"\r\n$%d\r\n" % (id_width + len(suffix)),
                ids,
                suffix + b"\r\n",
            ]
            return _byte_rows(n, parts)
        return b"".join(
            [
                _bulk(t) + _bulk(index_member(i, r).encode())
                for t, i, r in zip(self.times, self.ids, self.rows, strict=True)
            ]
        )


def index_member(request_id: str, rows: int) -> str:
    """A logged request in the id index: its id and rows, so a label's length is checked
    against the request it is for."""
    return f"{request_id}:{rows}"


def _first_dimension(outputs: Mapping[str, Any]) -> int:
    for value in outputs.values():
        shape = np.shape(value)
        return int(shape[0]) if shape else 1
    return 1


def _time(at: float) -> bytes:
    return b"%.6f" % at  # fixed width for centuries: entries' times pack as a matrix


def _matrix(array: np.ndarray, n: int) -> np.ndarray:
    """An array whose first axis is n entries as n rows of its raw bytes."""
    return np.ascontiguousarray(array).reshape(n, -1).view(np.uint8)


def _byte_rows(n: int, parts: Sequence[bytes | np.ndarray]) -> bytes:
    """n rows laid end to end, each the concatenation of `parts`: bytes, the same in every
    row, or an (n, k) uint8 matrix, one row each."""
    widths = [len(part) if isinstance(part, bytes) else part.shape[1] for part in parts]
    out = np.empty((n, sum(widths)), np.uint8)
    column = 0
    for part, width in zip(parts, widths, strict=True):
        out[:, column : column + width] = (
            np.frombuffer(part, np.uint8) if isinstance(part, bytes) else part
        )
        column += width
    return out.tobytes()


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
