"""Dynamic batching: a queue, a timer, and one copy into a contiguous buffer.

The event loop submits decoded requests; one inference thread forms batches and runs
them, so inference never blocks the loop and the next batch gathers while one runs.

A batch starts with the oldest queued request and takes later requests with the same
`key` (same non-batch shapes) in arrival order until it holds `max_batch_size` rows or
`max_delay` has passed since that first request arrived, whichever comes first. When the
thread was busy for longer than that, the waiting requests go at once. Each request's
rows are concatenated along axis 0 and every output is split back by the same offsets.

Results go back to the loop with one `call_soon_threadsafe` per batch. A backend
exception fails only that batch's requests. A request whose deadline passes while it
waits is answered 504 and never reaches the backend.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import threading
import time
from typing import Any

import numpy as np

from sextant_runtime.errors import (
    BackendFailed,
    DeadlineExceeded,
    InferenceError,
    QueueFull,
    Unavailable,
)
from sextant_runtime.model import Backend
from sextant_runtime.protocol import InferRequest

log = logging.getLogger(__name__)

Outputs = dict[str, np.ndarray]


class Pending:
    """A queued request and the future its handler awaits."""

    __slots__ = ("deadline", "enqueued", "future", "request", "started", "timer")

    def __init__(
        self, request: InferRequest, future: asyncio.Future[Outputs], deadline: float | None
    ) -> None:
        self.request = request
        self.future = future
        self.enqueued = time.monotonic()
        self.deadline = deadline
        self.started = 0.0
        self.timer: asyncio.TimerHandle | None = None


class BatchObserver:
    """Hooks for metrics; the default does nothing."""

    def batch_done(
        self, batch: list[Pending], started: float, inputs: Outputs, outputs: Outputs | None
    ) -> None:
        """Called on the inference thread after each batch: its inputs and outputs, every
        request's rows in order along axis 0 (outputs None when it failed)."""


class Batcher:
    def __init__(
        self,
        backend: Backend,
        loop: asyncio.AbstractEventLoop,
        *,
        max_batch_size: int = 32,
        max_delay_ms: float = 5.0,
        max_queue_size: int = 1024,
        observer: BatchObserver | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queue_size < 1 or max_delay_ms < 0:
            raise ValueError("max_batch_size and max_queue_size must be >= 1, max_delay_ms >= 0")
        self.backend = backend
        self.max_batch_size = max_batch_size if backend.signature.batchable else 1
        self.max_delay = max_delay_ms / 1000.0
        self.max_queue_size = max_queue_size
        self._loop = loop
        self._observer = observer or BatchObserver()
        self._queue: collections.deque[Pending] = collections.deque()
        self._rows: dict[object, int] = {}  # queued rows per batch key
        self._lock = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._stopping = False
        self._flushing = False  # no new requests can come: close batches without waiting
        self._busy = False
        self._failure: str | None = None
        self._thread = threading.Thread(target=self._run, name="sextant-inference", daemon=True)

    # -- event-loop side ----------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    @property
    def queued(self) -> int:
        return len(self._queue)

    @property
    def idle(self) -> bool:
        """Nothing queued and no batch running."""
        return not self._queue and not self._busy

    def submit(
        self, request: InferRequest, timeout: float | None = None
    ) -> asyncio.Future[Outputs]:
        """Queue a request; the future resolves to its outputs or raises an InferenceError.

        Raises QueueFull at once when max_queue_size requests are already waiting.
        `timeout` (seconds) is the request's own deadline while it waits in the queue.
        """
        future: asyncio.Future[Outputs] = self._loop.create_future()
        deadline = None if timeout is None else time.monotonic() + timeout
        pending = Pending(request, future, deadline)
        key = request.key
        with self._lock:
            if len(self._queue) >= self.max_queue_size:
                raise QueueFull(
                    f"queue is full ({self.max_queue_size} requests waiting); retry later"
                )
            if self._stopping:
                raise Unavailable("server is shutting down")
            if self._failure is not None:
                raise Unavailable(self._failure)
            self._queue.append(pending)
            rows = self._rows.get(key, 0) + request.rows
            self._rows[key] = rows
            # Wake the thread for the first request, and when a batch is full; the delay
            # timer covers everything else.
            if len(self._queue) == 1 or rows >= self.max_batch_size:
                self._wakeup.notify()
        if timeout is not None:
            pending.timer = self._loop.call_later(timeout, self._expire, pending)
        return future

    def _expire(self, pending: Pending) -> None:
        """The request's deadline passed: answer 504 if its batch has not started."""
        with self._lock:
            if pending.started or pending.future.done():
                return
            try:
                self._queue.remove(pending)
            except ValueError:
                return
            self._forget_rows(pending)
        waited = (time.monotonic() - pending.enqueued) * 1000
        pending.future.set_exception(
            DeadlineExceeded(
                f"deadline passed after {waited:.0f} ms in the queue; no inference ran"
            )
        )

    def _deliver(self, batch: list[Pending], results: list[Outputs] | InferenceError) -> None:
        if isinstance(results, InferenceError):
            for pending in batch:
                if pending.timer is not None:
                    pending.timer.cancel()
                if not pending.future.done():
                    pending.future.set_exception(results)
            return
        for pending, outputs in zip(batch, results, strict=True):
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                pending.future.set_result(outputs)

    def flush(self) -> None:
        """From now on batches go as soon as the thread is free (the listener closed)."""
        with self._lock:
            self._flushing = True
            self._wakeup.notify()

    def stop(self) -> None:
        """Refuse new requests, let the thread finish what is queued, and join it."""
        with self._lock:
            self._stopping = self._flushing = True
            self._wakeup.notify()
        self._thread.join()

    # -- inference thread ---------------------------------------------------------------

    def _run(self) -> None:
        batch: list[Pending] | None = []
        try:
            while True:
                batch = self._next_batch()
                if batch is None:
                    return
                if batch:
                    self._execute(batch)
        except BaseException as err:  # the thread is gone: say so rather than hang requests
            self._die(err, batch or [])

    def _die(self, err: BaseException, running: list[Pending]) -> None:
        """Record why the thread ended, and answer 503 to what it would have run."""
        reason = f"the inference thread died: {type(err).__name__}: {err}"
        log.critical(reason, exc_info=err)
        with self._lock:
            self._failure = reason
            orphans = [*running, *self._queue]
            self._queue.clear()
            self._rows.clear()
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
            self._loop.call_soon_threadsafe(self._deliver, orphans, Unavailable(reason))

    @property
    def failure(self) -> str | None:
        """Why the inference thread died (liveness fails on it), or None while it runs."""
        return self._failure

    def _forget_rows(self, pending: Pending) -> None:
        key = pending.request.key
        left = self._rows.get(key, 0) - pending.request.rows
        if left > 0:
            self._rows[key] = left
        else:
            self._rows.pop(key, None)

    def _next_batch(self) -> list[Pending] | None:
        """Wait for a batch to be due and take it off the queue (None: stop)."""
        with self._lock:
            self._busy = False
            while not self._queue:
                if self._stopping:
                    return None
                self._wakeup.wait()
            first = self._queue[0]
            key = first.request.key
            if self.max_batch_size > 1 and not self._flushing:
                due = first.enqueued + self.max_delay
                while self._rows.get(key, 0) < self.max_batch_size and not self._flushing:
                    remaining = due - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wakeup.wait(remaining)
                    if not self._queue or self._queue[0] is not first:
                        return []  # the first request expired meanwhile: start over
            self._busy = True
            return self._take(key)

    def _take(self, key: object) -> list[Pending]:
        """Pop up to max_batch_size rows of `key` in arrival order; expire overdue ones."""
        queue = self._queue
        now = time.monotonic()
        batch: list[Pending] = []
        skipped: list[Pending] = []
        expired: list[Pending] = []
        rows = 0
        limit = self.max_batch_size
        while queue and rows < limit:
            pending = queue[0]
            request = pending.request
            if request.key != key:
                skipped.append(queue.popleft())
                continue
            if batch and rows + request.rows > limit:
                break
            queue.popleft()
            self._forget_rows(pending)
            if pending.deadline is not None and pending.deadline <= now:
                expired.append(pending)
                continue
            pending.started = now
            batch.append(pending)
            rows += request.rows
        if skipped:
            queue.extendleft(reversed(skipped))
        if expired:
            self._loop.call_soon_threadsafe(self._expire_taken, expired)
        return batch

    def _expire_taken(self, expired: list[Pending]) -> None:
        for pending in expired:
            if pending.timer is not None:
                pending.timer.cancel()
            if not pending.future.done():
                waited = (time.monotonic() - pending.enqueued) * 1000
                pending.future.set_exception(
                    DeadlineExceeded(
                        f"deadline passed after {waited:.0f} ms in the queue; no inference ran"
                    )
                )

    def _execute(self, batch: list[Pending]) -> None:
        started = time.monotonic()
        inputs: Outputs = {}
        outputs: Outputs | None = None
        results: list[Outputs] | InferenceError
        try:
            if len(batch) == 1:
                inputs = batch[0].request.inputs
                outputs = self.backend.predict(inputs)
                results = [outputs]
            else:
                inputs = concatenate(batch)
                outputs = self.backend.predict(inputs)
                results = split(outputs, [p.request.rows for p in batch])
        except InferenceError as err:
            results = err
        except Exception as err:  # any backend failure fails this batch only
            log.exception("inference failed for a batch of %d request(s)", len(batch))
            results = BackendFailed(f"inference failed: {type(err).__name__}: {err}")
        self._loop.call_soon_threadsafe(self._deliver, batch, results)
        try:
            self._observer.batch_done(
                batch, started, inputs, None if isinstance(results, InferenceError) else outputs
            )
        except Exception:  # metrics must never fail requests
            log.exception("batch observer failed")


def concatenate(batch: list[Pending]) -> dict[str, np.ndarray]:
    """Each input's rows from every request, in order, in one contiguous array."""
    first = batch[0].request.inputs
    return {name: np.concatenate([p.request.inputs[name] for p in batch]) for name in first}


def split(outputs: Outputs, rows: list[int]) -> list[Outputs]:
    """Cut every output back into per-request pieces along axis 0."""
    total = sum(rows)
    bounds: list[tuple[int, int]] = []
    start = 0
    for n in rows:
        bounds.append((start, start + n))
        start += n
    pieces: list[dict[str, Any]] = [{} for _ in rows]
    for name, arr in outputs.items():
        if arr.ndim == 0 or arr.shape[0] != total:
            raise BackendFailed(
                f"output {name!r} has shape {list(arr.shape)}, which does not split into "
                f"a batch of {total} rows"
            )
        for piece, (lo, hi) in zip(pieces, bounds, strict=True):
            piece[name] = arr[lo:hi]
    return pieces
