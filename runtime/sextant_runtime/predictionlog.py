"""The prediction log: a sampled, bounded record of what a model was asked and answered.

Each logged request is one entry of a Redis stream (`sextant:predictions:MODEL`, trimmed
with `MAXLEN ~ maxLength`) with the fields `id` (the request id, also returned to the
client in the `Sextant-Request-Id` header), `time`, `model`, `version`, `track`,
`layout`, `inputs` and `outputs` (the tensors as raw bytes, see logentries.py). A
sorted set next to it (`sextant:prediction-ids:MODEL`, members `ID:ROWS` scored by time,
trimmed to exactly maxLength) says which requests are in the log and their rows, so ground
truth (sextant_runtime.groundtruth) can refuse a label for a request never logged, or one
whose length is not the request's rows.

Sampling happens when the request arrives (`next_id()`), so only a logged request gets an
id and the header: a client that receives one can send its label later.

Logging never slows or fails a request. After each batch the inference thread appends
one record to a bounded deque: the sampled requests' ids and references to the batch's
input and output arrays (no copy, no encoding). A writer thread encodes the entries and
sends them to Redis in one write per full batch (or per flush interval), replies off but
for the batch's last command (`CLIENT REPLY`), so one reply confirms a batch. When the
deque is full (Redis slow or down) the entry is dropped and counted
(`sextant_prediction_log_dropped_total{reason}`); when a write fails, that batch is
dropped and counted, and the writer backs off before it tries again.

`read_window()` is the other end: the last N rows of the log as an Arrow table whose
columns are the input and output tensors (a tensor with k values per row becomes k
columns, `NAME_0` ... `NAME_{k-1}`), which is what `sextant drift check --window` tests.
The output tensors' names are in the schema metadata (`OUTPUTS_METADATA`), in the model's
order, so the check knows which columns are predictions.
"""

from __future__ import annotations

import collections
import itertools
import logging
import os
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import redis

from sextant_runtime import logentries
from sextant_runtime.batcher import BatchObserver, Outputs, Pending

log = logging.getLogger(__name__)

STREAM_PREFIX = "sextant:predictions:"
IDS_PREFIX = "sextant:prediction-ids:"
READ_CHUNK = 1000
OUTPUTS_METADATA = b"sextant.outputs"


def stream_key(model: str) -> str:
    return f"{STREAM_PREFIX}{model}"


def ids_key(model: str) -> str:
    return f"{IDS_PREFIX}{model}"


@dataclass(frozen=True)
class LogSettings:
    redis_url: str
    sample_rate: float = 0.1
    max_length: int = 100_000
    buffer_size: int = 10_000  # entries waiting for the writer; beyond: dropped
    batch_size: int = 256  # entries per Redis write
    flush_interval_s: float = 0.05  # the writer's pace when fewer than batch_size wait
    timeout_s: float = 1.0  # Redis socket timeout
    backoff_s: float = 1.0  # pause after a failed write

    def __post_init__(self) -> None:
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ValueError("sample_rate must be in [0, 1]")
        if self.max_length < 1 or self.buffer_size < 1 or self.batch_size < 1:
            raise ValueError("max_length, buffer_size and batch_size must be >= 1")


class PredictionLog:
    """Offer entries from any thread; one writer thread sends them to Redis."""

    def __init__(
        self, settings: LogSettings, model: str, version: str, track: str, scope: str = ""
    ) -> None:
        """`scope` names the model in the Redis keys (NAMESPACE/NAME); the model by default."""
        self.settings = settings
        self.scope = scope or model
        self.key = stream_key(self.scope)
        self.ids_key = ids_key(self.scope)
        static = {"model": model, "version": version, "track": track}
        self._packer = logentries.EntryPacker(self.key, settings.max_length, static)
        self._quiet: bool | None = None  # does this Redis take CLIENT REPLY OFF? (on connect)
        # One record per inference batch (logentries.Record); the bound counts entries:
        # queued by the producers (the inference thread, and the event loop for responses
        # served from the cache) under a lock, taken by the writer thread alone.
        self._buffer: collections.deque[logentries.Record] = collections.deque()
        self._queued = 0
        self._queued_lock = threading.Lock()
        self._taken = 0
        self._wake = threading.Event()
        self._stopping = False
        self._random = random.Random()
        self._rate = settings.sample_rate
        self.written = 0
        self.dropped = {"buffer_full": 0, "redis_error": 0}
        self._full = settings.batch_size
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        # Request ids: a random prefix per process and a counter, cheaper than a uuid4.
        self._ids = itertools.count()
        self._id_prefix = os.urandom(6).hex()

    def next_id(self) -> str | None:
        """A new request id when this request is sampled for the log, else None."""
        rate = self._rate  # sampled() inlined: this runs once per request
        if rate < 1.0 and (rate <= 0.0 or self._random.random() >= rate):
            return None
        return f"{self._id_prefix}-{next(self._ids):010x}"  # one width: packs as a matrix

    def start(self) -> None:
        self._thread.start()

    def sampled(self) -> bool:
        rate = self.settings.sample_rate
        return rate >= 1.0 or (rate > 0.0 and self._random.random() < rate)

    def offer(self, request_id: str, inputs: Any, outputs: Any) -> bool:
        """Sample, then queue one request's inputs and outputs (dicts of name to array).

        Never blocks. The arrays are kept by reference: the caller must not write to them
        afterwards. Returns whether the entry was queued.
        """
        return self.sampled() and self.enqueue(request_id, inputs, outputs)

    def enqueue(self, request_id: str, inputs: Any, outputs: Any) -> bool:
        """Queue an entry already sampled; False (and counted) when the buffer is full."""
        return self.enqueue_rows([request_id], inputs, outputs)

    def enqueue_rows(self, ids: list[str], inputs: Any, outputs: Any) -> bool:
        """Queue entries already sampled whose rows are all of the tensors, in order, the
        same rows each; False (and counted) when the buffer has no room for them all."""
        if self._queued - self._taken + len(ids) > self.settings.buffer_size:
            self.dropped["buffer_full"] += len(ids)
            return False
        self._push((time.time(), ids, inputs, outputs, None, None))
        return True

    def enqueue_batch(
        self, ids: list[str], inputs: Any, outputs: Any, starts: list[int], ends: list[int]
    ) -> None:
        """Queue a batch's sampled entries: their ids, the batch's inputs and outputs, and
        each entry's first and end row in them. Those past the buffer's bound are dropped
        and counted."""
        room = self.settings.buffer_size - (self._queued - self._taken)
        if room < len(ids):
            self.dropped["buffer_full"] += len(ids) - max(room, 0)
            room = max(room, 0)
            ids, starts, ends = ids[:room], starts[:room], ends[:room]
            if not ids:
                return
        self._push((time.time(), ids, inputs, outputs, starts, ends))

    def _push(self, record: logentries.Record) -> None:
        self._buffer.append(record)
        with self._queued_lock:
            self._queued += len(record[1])
        # Wake the writer for a full batch only; else it comes every flush interval. A
        # wake-up per entry would cost a write (syscalls, GIL hand-offs) per entry.
        if self._queued - self._taken >= self._full:
            self._wake.set()

    def queued(self) -> list[tuple[str, Any, Any]]:
        """(id, inputs, outputs) of each entry waiting for the writer (tests, debugging)."""
        entries = logentries.Entries(list(self._buffer))
        return [
            (
                request_id,
                entries.tensors_of(i, logentries.INPUTS),
                entries.tensors_of(i, logentries.OUTPUTS),
            )
            for i, request_id in enumerate(entries.ids)
        ]

    def close(self, timeout: float = 5.0) -> None:
        """Send what is buffered (within `timeout`), then stop the writer."""
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        settings = self.settings
        # redis-py connects (URL, auth, TLS, database); the commands are packed here.
        pool: Any = redis.ConnectionPool.from_url(
            settings.redis_url,
            socket_timeout=settings.timeout_s,
            socket_connect_timeout=settings.timeout_s,
        )
        connection = pool.make_connection()
        try:
            while True:
                # Woken: a full batch waits (or close()); timed out: flush what there is.
                # Only full batches go between flushes, so the writer wakes once a batch,
                # not once for whatever arrived while it wrote the last one.
                woken = self._wake.wait(settings.flush_interval_s)
                self._wake.clear()
                while self._buffer and (
                    not woken or self._stopping or self._queued - self._taken >= settings.batch_size
                ):
                    batch, entries = [], 0
                    while self._buffer and entries < settings.batch_size:
                        batch.append(self._buffer.popleft())
                        entries += len(batch[-1][1])
                    self._taken += entries
                    if not self._write(connection, batch, entries) and not self._stopping:
                        time.sleep(settings.backoff_s)
                if self._stopping:
                    return
        finally:
            connection.disconnect()

    def _write(self, connection: Any, batch: list[logentries.Record], entries: int) -> bool:
        try:
            if self._quiet is None:
                self._quiet = _takes_client_reply(connection)
            connection.send_packed_command(self._pack(batch), check_health=False)
            for _ in range(2 if self._quiet else entries + 2):
                connection.read_response()
        except (redis.RedisError, OSError, ValueError, TypeError) as err:
            connection.disconnect()  # replies may be left unread: start clean
            self.dropped["redis_error"] += entries
            log.warning("prediction log: %d entries dropped: %s", entries, err)
            return False
        self.written += entries
        return True

    def _pack(self, batch: list[logentries.Record]) -> list[bytes | memoryview]:
        """The batch's commands: the id index (one ZADD and a trim to maxLength) and one
        XADD per entry; with replies off but for the last XADD when Redis allows it. In
        three buffers, so the XADDs (most of the bytes) go to the socket uncopied."""
        index, entries, last = self._packer.batch(batch, self.ids_key)
        trim = logentries.command(
            b"ZREMRANGEBYRANK", self.ids_key.encode(), b"0", b"%d" % (-self.settings.max_length - 1)
        )
        if self._quiet:
            off, on = logentries.CLIENT_REPLY_OFF, logentries.CLIENT_REPLY_ON
            return [b"".join((off, index, trim)), entries, on + last]
        return [index + trim, entries, last]

    def render(self, labels: str) -> list[str]:
        """Prometheus text lines; `labels` is the runtime's `model=...,version=...,track=...`."""
        lines = [
            "# HELP sextant_prediction_log_entries_total Prediction log entries written to Redis.",
            "# TYPE sextant_prediction_log_entries_total counter",
            f"sextant_prediction_log_entries_total{{{labels}}} {self.written}",
            "# HELP sextant_prediction_log_dropped_total Sampled entries dropped, by reason.",
            "# TYPE sextant_prediction_log_dropped_total counter",
        ]
        lines += [
            f'sextant_prediction_log_dropped_total{{{labels},reason="{reason}"}} {count}'
            for reason, count in self.dropped.items()
        ]
        lines += [
            "# HELP sextant_prediction_log_buffered Entries waiting for the writer.",
            "# TYPE sextant_prediction_log_buffered gauge",
            f"sextant_prediction_log_buffered{{{labels}}} {self._queued - self._taken}",
        ]
        return lines


class LoggingObserver(BatchObserver):
    """The batch observer as a fan-out: metrics first, then the prediction log.

    Runs on the inference thread: it queues one record per batch, the ids of the requests
    that got an id (sampled on arrival) and where their rows are in the batch's inputs and
    outputs (both kept by reference); slicing, encoding and Redis are the writer's.
    """

    def __init__(self, inner: BatchObserver, prediction_log: PredictionLog) -> None:
        self.inner = inner
        self.log = prediction_log

    def batch_done(
        self, batch: list[Pending], started: float, inputs: Outputs, outputs: Outputs | None
    ) -> None:
        self.inner.batch_done(batch, started, inputs, outputs)
        if outputs is None:
            return
        requests = [pending.request for pending in batch]
        logged = [request.log_id for request in requests]
        if None not in logged and len({request.rows for request in requests}) == 1:
            # Every request logged, the same rows each: the tensors are the entries' rows
            # (a lone request's are all its own, whatever their shape: a model that never
            # batches counts one row a request).
            self.log.enqueue_rows(logged, inputs, outputs)  # type: ignore[arg-type]
            return
        ids: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        start = 0
        for request, log_id in zip(requests, logged, strict=True):
            end = start + request.rows
            if log_id is not None:
                ids.append(log_id)
                starts.append(start)
                ends.append(end)
            start = end
        if ids:
            self.log.enqueue_batch(ids, inputs, outputs, starts, ends)


def _takes_client_reply(connection: Any) -> bool:
    """Whether this Redis takes CLIENT REPLY (some proxies refuse it): then a batch needs
    one reply, else one per command."""
    connection.send_command("CLIENT", "REPLY", "ON")
    try:
        return bool(connection.read_response() in (b"OK", "OK"))
    except redis.ResponseError:
        return False


def read_window(redis_url: str, key: str, rows: int) -> Any:
    """The last `rows` rows of the log (newest entries first, whole entries) as a table."""
    import pyarrow as pa  # noqa: PLC0415 - the drift job only

    client: Any = redis.Redis.from_url(redis_url)
    try:
        entries: list[dict[bytes, bytes]] = []
        total, last = 0, "+"
        while total < rows:
            chunk = client.xrevrange(key, max=last, min="-", count=READ_CHUNK)
            if last != "+":
                chunk = chunk[1:]  # the boundary entry was in the previous chunk
            if not chunk:
                break
            for _, fields in chunk:
                entries.append(fields)
                total += _rows_of(fields)
                if total >= rows:
                    break
            last = chunk[-1][0].decode()
    finally:
        client.close()
    columns, outputs = _columns(entries, rows)
    return pa.table(columns, metadata={OUTPUTS_METADATA: orjson.dumps(outputs)})


def output_names(table: Any) -> list[str]:
    """The output tensors' names of a window read by `read_window`, in the model's order."""
    metadata = table.schema.metadata or {}
    raw = metadata.get(OUTPUTS_METADATA)
    return [str(name) for name in orjson.loads(raw)] if raw else []


def _rows_of(fields: dict[bytes, bytes]) -> int:
    return logentries.rows(fields)


def _columns(entries: list[dict[bytes, bytes]], rows: int) -> tuple[dict[str, Any], list[str]]:
    tensors: dict[str, list[np.ndarray]] = collections.defaultdict(list)
    meta: dict[str, list[str]] = collections.defaultdict(list)
    outputs: dict[str, None] = {}  # an ordered set
    for fields in reversed(entries):  # oldest first
        n = 0
        for part in ("inputs", "outputs"):
            for name, tensor in logentries.decode(fields, part).items():
                if part == "outputs":
                    outputs[name] = None
                array = tensor.reshape(len(tensor), -1) if tensor.ndim else tensor.reshape(1, 1)
                tensors[name].append(array)
                n = len(array)
        for field in ("id", "model", "version", "track"):
            meta[f"_{field}"].extend([fields.get(field.encode(), b"").decode()] * n)
    expected = min(rows, len(meta["_id"]))
    columns: dict[str, Any] = {}
    for name, parts in tensors.items():
        try:
            matrix = np.concatenate(parts)[-rows:]
        except ValueError:  # rows of different widths: the model's signature changed
            continue
        if len(matrix) != expected:  # a tensor that some entries lack
            continue
        if matrix.shape[1] == 1:
            columns[name] = matrix[:, 0]
        else:
            for i in range(matrix.shape[1]):
                columns[f"{name}_{i}"] = matrix[:, i]
    for name, values in meta.items():
        columns[name] = values[-rows:]
    return columns, list(outputs)
