"""A keyed work queue with the semantics of client-go's workqueue.

- A key waits in the queue at most once: triggers that arrive before a worker takes it
  merge into one reconcile (a burst of pod events is one reconcile, not fifty).
- A key is processed by one worker at a time; a trigger that arrives meanwhile queues it
  again for after the worker is done, so no change is ever missed.
- `add_after` wakes a key later (a rollout pause ends, the next resync) with a little
  jitter; the earliest pending wake-up of a key wins.
- `add_backoff` retries a failing key with a per-key exponential backoff that `forget`
  resets once a reconcile succeeds.

Each trigger carries a flag (`resolve`: ask the model registry again) that merges by OR, so
merging a child event into a resync never loses the resync's registry poll.
"""

from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections import deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

DEFAULT_BASE_BACKOFF_SECONDS = 1.0
DEFAULT_MAX_BACKOFF_SECONDS = 300.0
_JITTER_SHARE = 0.05
_MAX_JITTER_SECONDS = 1.0


class WorkQueue(Generic[K]):
    def __init__(
        self,
        *,
        base_backoff: float = DEFAULT_BASE_BACKOFF_SECONDS,
        max_backoff: float = DEFAULT_MAX_BACKOFF_SECONDS,
    ) -> None:
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._lock = threading.Condition()
        self._ready: deque[K] = deque()
        self._pending: dict[K, bool] = {}  # queued or to be re-queued -> its resolve flag
        self._processing: set[K] = set()
        self._delayed: list[tuple[float, int, K]] = []
        self._due: dict[K, tuple[float, bool]] = {}  # the pending wake-up per key
        self._failures: dict[K, int] = {}
        self._sequence = itertools.count()
        self._shut = False
        self._clock = threading.Thread(target=self._release_due, name="workqueue-clock")
        self._clock.daemon = True
        self._clock.start()

    # --- producers -----------------------------------------------------------------------

    def add(self, key: K, *, resolve: bool = False) -> None:
        with self._lock:
            if self._shut:
                return
            queued = key in self._pending
            self._pending[key] = self._pending.get(key, False) or resolve
            if not queued and key not in self._processing:
                self._ready.append(key)
                self._lock.notify_all()

    def add_after(self, key: K, delay: float, *, resolve: bool = False) -> None:
        """Wake `key` after `delay` (plus jitter). A key has one pending wake-up: the
        earlier of the two times wins, and the resolve flags merge."""
        if delay <= 0:
            self.add(key, resolve=resolve)
            return
        delay += random.uniform(0.0, min(_MAX_JITTER_SECONDS, delay * _JITTER_SHARE))
        due = time.monotonic() + delay
        with self._lock:
            if self._shut:
                return
            pending = self._due.get(key)
            if pending is not None and pending[0] <= due:
                self._due[key] = (pending[0], pending[1] or resolve)
                return
            self._due[key] = (due, resolve or (pending is not None and pending[1]))
            heapq.heappush(self._delayed, (due, next(self._sequence), key))
            self._lock.notify_all()

    def add_backoff(self, key: K, *, resolve: bool = False) -> float:
        """Queue `key` again after its next backoff delay; returns that delay."""
        with self._lock:
            failures = self._failures.get(key, 0)
            self._failures[key] = failures + 1
        delay = min(self._base_backoff * 2.0**failures, self._max_backoff)
        self.add_after(key, delay, resolve=resolve)
        return delay

    def forget(self, key: K) -> None:
        """The key succeeded: its next failure starts the backoff from the base delay."""
        with self._lock:
            self._failures.pop(key, None)

    def drop(self, key: K) -> None:
        """The object is gone: no pending wake-up or backoff of it is kept."""
        with self._lock:
            self._failures.pop(key, None)
            self._due.pop(key, None)
            if key in self._pending and key not in self._processing:
                del self._pending[key]
                self._ready.remove(key)

    # --- workers -------------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> tuple[K, bool] | None:
        """The next key and its merged resolve flag; None on shutdown or timeout.

        The caller must call `done(key)` when it has finished with it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while not self._ready:
                if self._shut:
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._lock.wait(remaining)
            key = self._ready.popleft()
            resolve = self._pending.pop(key)
            self._processing.add(key)
            return key, resolve

    def done(self, key: K) -> None:
        with self._lock:
            self._processing.discard(key)
            if key in self._pending:  # triggered while it was being processed
                self._ready.append(key)
                self._lock.notify_all()

    def shutdown(self) -> None:
        with self._lock:
            self._shut = True
            self._lock.notify_all()

    def __len__(self) -> int:
        with self._lock:
            return len(self._ready)

    def waiting(self) -> int:
        """Keys with a pending delayed wake-up."""
        with self._lock:
            return len(self._due)

    # --- the clock -----------------------------------------------------------------------

    def _release_due(self) -> None:
        with self._lock:
            while not self._shut:
                now = time.monotonic()
                while self._delayed and self._delayed[0][0] <= now:
                    due, _, key = heapq.heappop(self._delayed)
                    pending = self._due.get(key)
                    if pending is None or pending[0] != due:
                        continue  # dropped, or replaced by an earlier wake-up
                    del self._due[key]
                    resolve = pending[1]
                    queued = key in self._pending
                    self._pending[key] = self._pending.get(key, False) or resolve
                    if not queued and key not in self._processing:
                        self._ready.append(key)
                        self._lock.notify_all()
                timeout = self._delayed[0][0] - now if self._delayed else None
                self._lock.wait(timeout)
