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

import itertools
import math
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

JSON_DTYPE = "json"

# What the log buffers: one inference batch's sampled requests. (time, ids, the batch's
# inputs, its outputs, each entry's first and end row in both); starts and ends are None
# when the tensors hold the entries' rows only, in order, the same rows each (a lone
# entry: all of them, whatever their shape).
Record = tuple[
    float,
    list[str],
    Mapping[str, Any],
    Mapping[str, Any],
    list[int] | None,
    list[int] | None,
]
INPUTS, OUTPUTS = "inputs", "outputs"


def _part(record: Record, part: str) -> Mapping[str, Any]:
    """A record's INPUTS or OUTPUTS."""
    return record[2] if part == INPUTS else record[3]


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

    def batch(
        self, records: Sequence[Record], index: str
    ) -> tuple[bytes, bytes | memoryview, bytes]:
        """(ZADD of every entry's id, scored by time, to the sorted set `index`; the XADDs
        of every entry but the last; the last entry's XADD), so a caller can ask for the
        reply of that one command only. The XADDs may be a view of the packed matrix: a
        write's bytes are copied once, into the socket."""
        dense = self._dense(records)
        if dense is not None:
            matrix, members = dense
            flat = matrix.reshape(-1).data
            width = matrix.shape[1]
            return self._zadd(index, len(matrix)) + members, flat[:-width], bytes(flat[-width:])
        entries = Entries(records)
        if not entries.ids:
            return b"", b"", b""
        n = len(entries.ids) - 1
        uniform = self._uniform(entries, n) if n else b""
        # Entries unlike each other: one at a time.
        packed = b"".join([self._one(entries, i) for i in range(n)]) if uniform is None else uniform
        return self._zadd(index, n + 1) + entries.members(), packed, self._one(entries, n)

    @staticmethod
    def _zadd(index: str, count: int) -> bytes:
        return b"*%d\r\n%s%s" % (2 + 2 * count, _bulk(b"ZADD"), _bulk(index.encode()))

    def _dense(self, records: Sequence[Record]) -> tuple[np.ndarray, bytes] | None:
        """(the entries' XADDs as the rows of one byte matrix, their ZADD members) when
        every record holds its entries' rows only (starts None) and all entries have the
        same rows, tensors and id width; else None.

        The common case at sample rate 1.0, so it is the lean one: a few list passes over
        the records and one numpy copy per tensor, nothing per entry in the interpreter.
        """
        if not records or any(record[4] is not None for record in records):
            return None
        counts = [len(record[1]) for record in records]
        try:
            id_matrix = _id_matrix(records)
            times = _time_matrix(records, counts)
            tensors = {part: _dense_tensors(records, part, counts) for part in (INPUTS, OUTPUTS)}
            rows = _entry_rows(tensors, len(id_matrix))
        except (KeyError, ValueError, TypeError, AttributeError, ZeroDivisionError):
            return None
        matrix = self._rows(id_matrix, times, tensors[INPUTS], tensors[OUTPUTS], rows)
        return matrix, _members(times, id_matrix, rows)

    def _rows(
        self,
        ids: np.ndarray,
        times: np.ndarray,
        inputs: Mapping[str, np.ndarray],
        outputs: Mapping[str, np.ndarray],
        rows: int,
    ) -> np.ndarray:
        """XADDs of alike entries as the rows of one byte matrix: their ids and times as
        byte matrices, each tensor as their rows laid end to end, `rows` rows each."""
        n = len(ids)
        # An entry's tensors have its rows: the arrays' shape past their first axis.
        layout = orjson.dumps(
            {
                part: [[k, a.dtype.str, [rows, *a.shape[1:]]] for k, a in tensors.items()]
                for part, tensors in (("inputs", inputs), ("outputs", outputs))
            }
        )
        in_parts = [_matrix(a, n) for a in inputs.values()]
        out_parts = [_matrix(a, n) for a in outputs.values()]
        in_size = sum(part.shape[1] for part in in_parts)
        out_size = sum(part.shape[1] for part in out_parts)
        return _byte_rows(
            n,
            [
                self._head + _bulk(b"id") + b"$%d\r\n" % ids.shape[1],
                ids,
                b"\r\n" + _bulk(b"time") + b"$%d\r\n" % times.shape[1],
                times,
                b"\r\n" + self._constants + _bulk(b"layout") + _bulk(layout) + _bulk(b"inputs")
                + b"$%d\r\n" % in_size,
                *in_parts,
                b"\r\n" + _bulk(b"outputs") + b"$%d\r\n" % out_size,
                *out_parts,
                b"\r\n",
            ],
        )  # fmt: skip

    def _one(self, entries: Entries, i: int) -> bytes:
        return self._xadd(
            entries.ids[i].encode(),
            entries.times[i],
            entries.tensors_of(i, INPUTS),
            entries.tensors_of(i, OUTPUTS),
        )

    def _uniform(self, entries: Entries, n: int) -> bytes | None:
        """The first n entries packed as the rows of one byte matrix (numpy does the
        per-entry work), when they have the same tensors, rows and id length; else None."""
        rows = entries.alike(n)
        if rows is None:
            return None
        try:
            stacked_in = entries.stacked(INPUTS, n, rows)
            stacked_out = entries.stacked(OUTPUTS, n, rows)
            if any(a.dtype.kind in "OSUV" for a in [*stacked_in.values(), *stacked_out.values()]):
                raise ValueError("strings: each entry's layout is its own")
            ids, times = entries.id_matrix(n), entries.time_matrix(n)
            return self._rows(ids, times, stacked_in, stacked_out, rows).tobytes()
        except (KeyError, ValueError, IndexError, AttributeError, TypeError):
            return None

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
    """The entries of a writer's batch of records, flattened: ids, times, and where each
    entry's rows are in its record's tensors."""

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self.ids: list[str] = []
        self.times: list[bytes] = []
        self.record_of: list[int] = []
        self.index_in: list[int] = []
        self.rows: list[int] = []  # each entry's rows
        for number, (at, ids, _, outputs, starts, ends) in enumerate(records):
            self.ids += ids
            self.times += [_time(at)] * len(ids)  # a record's entries share their time
            self.record_of += [number] * len(ids)
            self.index_in += range(len(ids))
            if starts is None or ends is None:  # the rows split evenly among the entries
                self.rows += [_first_dimension(outputs) // max(len(ids), 1)] * len(ids)
            else:
                self.rows += map(operator.sub, ends, starts)

    def tensors_of(self, i: int, part: str) -> Mapping[str, Any]:
        """Entry i's INPUTS or OUTPUTS: its rows of its record's tensors."""
        record = self.records[self.record_of[i]]
        tensors = _part(record, part)
        starts, ends = record[4], record[5]
        if len(record[1]) == 1 and starts is None:  # a lone entry: whatever its shapes
            return tensors
        j = self.index_in[i]
        if starts is None or ends is None:
            rows = self.rows[i]
            return {name: value[j * rows : (j + 1) * rows] for name, value in tensors.items()}
        return {name: value[starts[j] : ends[j]] for name, value in tensors.items()}

    def alike(self, n: int) -> int | None:
        """The rows of each of the first n entries if all have the same rows and id length
        (ASCII ids); else None."""
        # set() and map() keep these checks out of the interpreter's per-entry loop.
        rows = set(self.rows[:n])
        ids = self.ids[:n]
        if (
            len(rows) != 1
            or len(set(map(len, ids))) != 1
            or len(set(map(len, self.times[:n]))) != 1
            or not "".join(ids).isascii()
        ):
            return None
        return int(rows.pop())

    def stacked(self, part: str, n: int, rows: int) -> dict[str, np.ndarray]:
        """Each tensor of INPUTS or OUTPUTS: the rows of the first n entries, in entry
        order, one array each. KeyError when records have different tensors."""
        names = list(_part(self.records[0], part))
        pieces: dict[str, list[np.ndarray]] = {name: [] for name in names}
        taken = 0
        for record in self.records:
            tensors, starts = _part(record, part), record[4]
            k = min(len(record[1]), n - taken)
            if k <= 0:
                break
            if list(tensors) != names:
                raise KeyError("tensors differ between batches")
            if starts is None:  # the entries' own rows: the tensors must have them all
                index: Any = slice(0, k * rows)
                whole = len(record[1]) * rows
                if any(
                    np.ndim(tensors[name]) == 0 or len(tensors[name]) != whole for name in names
                ):
                    raise ValueError("a record's tensors are not its entries' rows")
            elif starts[k - 1] == starts[0] + (k - 1) * rows:
                # Rows in order without gaps (starts only grow): a view, no copy.
                index = slice(starts[0], starts[0] + k * rows)
            else:
                index = np.asarray(starts[:k])
                if rows != 1:
                    index = (index[:, None] + np.arange(rows)).ravel()
            for name in names:
                pieces[name].append(np.asarray(tensors[name])[index])
            taken += k
        if any(len({a.dtype for a in arrays}) != 1 for arrays in pieces.values()):
            raise ValueError("dtypes differ: each entry's layout is its own")
        return {name: np.concatenate(arrays) for name, arrays in pieces.items()}

    def id_matrix(self, n: int) -> np.ndarray:
        """The first n ids (one width, ASCII) as the rows of a byte matrix."""
        return np.frombuffer("".join(self.ids[:n]).encode(), np.uint8).reshape(n, -1)

    def time_matrix(self, n: int) -> np.ndarray:
        """The first n times (one width) as the rows of a byte matrix."""
        return np.frombuffer(b"".join(self.times[:n]), np.uint8).reshape(n, -1)

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
            return _members(self.time_matrix(n), self.id_matrix(n), rows.pop())
        return b"".join(
            [
                _bulk(t) + _bulk(index_member(i, r).encode())
                for t, i, r in zip(self.times, self.ids, self.rows, strict=True)
            ]
        )


def _id_matrix(records: Sequence[Record]) -> np.ndarray:
    """The records' ids as the rows of a byte matrix: ValueError unless they are ASCII
    and of one width."""
    ids = list(itertools.chain.from_iterable(record[1] for record in records))
    widths = set(map(len, ids))
    joined = "".join(ids)
    if len(widths) != 1 or not joined.isascii() or not ids:
        raise ValueError("ids of different widths, or not ASCII")
    return np.frombuffer(joined.encode(), np.uint8).reshape(len(ids), widths.pop())


def _time_matrix(records: Sequence[Record], counts: list[int]) -> np.ndarray:
    """Each entry's time (its record's) as the rows of a byte matrix."""
    stamps = [_time(record[0]) for record in records]
    if len(set(map(len, stamps))) != 1:
        raise ValueError("times of different widths")
    matrix = np.frombuffer(b"".join(stamps), np.uint8).reshape(len(records), -1)
    return np.repeat(matrix, counts, axis=0)


def _entry_rows(tensors: Mapping[str, Mapping[str, np.ndarray]], n: int) -> int:
    """The rows of each of n entries, which every tensor must agree on."""
    lengths = {len(a) for part in tensors.values() for a in part.values()}
    if not tensors[OUTPUTS] or len(lengths) != 1:
        raise ValueError("no outputs, or tensors with different rows")
    rows = lengths.pop() // n
    if not rows or rows * n != len(next(iter(tensors[OUTPUTS].values()))):
        raise ValueError("rows do not split among the entries")
    return rows


def _dense_tensors(
    records: Sequence[Record], part: str, counts: list[int]
) -> dict[str, np.ndarray]:
    """Each tensor of INPUTS or OUTPUTS of dense records, concatenated: ValueError when
    records disagree on a tensor's dtype or shape past the rows, or hold strings."""
    names = list(_part(records[0], part))
    if len({len(_part(record, part)) for record in records}) != 1:
        raise KeyError("records have different tensors")
    out: dict[str, np.ndarray] = {}
    for name in names:
        arrays = [_part(record, part)[name] for record in records]
        dtypes = {array.dtype for array in arrays}
        if len(dtypes) != 1 or dtypes.pop().kind in "OSUV":
            raise ValueError("dtypes differ, or strings: each entry's layout is its own")
        lengths = [len(array) for array in arrays]
        # Each record's entries split its rows evenly.
        if any(length % count for length, count in zip(lengths, counts, strict=True)):
            raise ValueError("a record's rows do not split among its entries")
        if len({length // count for length, count in zip(lengths, counts, strict=True)}) != 1:
            raise ValueError("entries have different rows")
        out[name] = np.concatenate(arrays)
    return out


def _members(times: np.ndarray, ids: np.ndarray, rows: int) -> bytes:
    """ZADD's score-member pairs of alike entries from their time and id byte matrices."""
    suffix = b":%d" % rows
    parts: list[bytes | np.ndarray] = [
        b"$%d\r\n" % times.shape[1],
        times,
        b"\r\n$%d\r\n" % (ids.shape[1] + len(suffix)),
        ids,
        suffix + b"\r\n",
    ]
    return _byte_rows(len(times), parts).tobytes()


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


def _byte_rows(n: int, parts: Sequence[bytes | np.ndarray]) -> np.ndarray:
    """An (n, width) byte matrix whose rows are each the concatenation of `parts`: bytes,
    the same in every row, or an (n, k) uint8 matrix, one row each."""
    widths = [len(part) if isinstance(part, bytes) else part.shape[1] for part in parts]
    out = np.empty((n, sum(widths)), np.uint8)
    column = 0
    for part, width in zip(parts, widths, strict=True):
        out[:, column : column + width] = (
            np.frombuffer(part, np.uint8) if isinstance(part, bytes) else part
        )
        column += width
    return out


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
