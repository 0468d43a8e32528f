"""Online reads from Redis for the event loop, coalesced: one pipeline per round trip.

A request hands its entities' keys to one lookup thread and awaits a future. If the
thread is idle it reads at once (no added wait); lookups that arrive while a read is in
flight go together in the next one, as soon as it returns. So under load every round
trip carries the lookups of many requests (an HMGET per entity, one pipeline).

Why a thread with redis-py's blocking client, not redis.asyncio on the loop: on this
path the asyncio client costs several times the CPU of the blocking one per call
(measured: bench/README.md), and the blocking read releases the GIL while it waits, so
neither the event loop nor the inference thread ever waits on Redis, and a Redis that
hangs cannot stall health checks or requests that need no lookup.

When Redis cannot be reached, every lookup of that round fails with
FeatureStoreUnavailable (503): the server keeps running and the next round tries again
(redis-py reconnects). Timeouts are short so a request fails fast instead of hanging.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from sextant_runtime.errors import Unavailable

CONNECT_TIMEOUT_S = 0.5
READ_TIMEOUT_S = 1.0

Row = list[bytes | None]
_Pending = tuple[list[str], "asyncio.Future[list[Row]]"]


class FeatureStoreUnavailable(Unavailable):
    """Redis did not answer: 503, the caller may retry."""


class RedisLookup:
    def __init__(
        self,
        url: str,
        fields: Sequence[str],
        *,
        password: str | None = None,
        what: str = "features",
    ) -> None:
        self.url = url
        self.fields = list(fields)
        self._what = what
        self._client = redis.Redis.from_url(
            url,
            password=password,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=READ_TIMEOUT_S,
            # One immediate retry covers a connection Redis closed while idle; no
            # backoff: a request must not wait out seconds of retries.
            retry=Retry(NoBackoff(), 1),
        )
        self._pending: list[_Pending] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.rounds = 0  # round trips to Redis so far
        self._thread = threading.Thread(target=self._run, name="feature-lookup", daemon=True)

    def fetch(self, keys: list[str]) -> asyncio.Future[list[Row]]:
        """The `fields` of each key's hash (None where absent), in order; await it."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
            self._thread.start()
        future: asyncio.Future[list[Row]] = loop.create_future()
        with self._lock:
            self._pending.append((keys, future))
            if len(self._pending) == 1:
                self._wake.notify()
        return future

    def close(self) -> None:
        with self._lock:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join(READ_TIMEOUT_S + CONNECT_TIMEOUT_S + 1)
        self._client.close()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._pending and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    group, self._pending = self._pending, []
                    if group:
                        self._hand_back(group, Unavailable("server is shutting down"))
                    return
                group, self._pending = self._pending, []
            self._hand_back(group, self._read(group))

    def _read(self, group: list[_Pending]) -> list[Row] | FeatureStoreUnavailable:
        fields = self.fields
        self.rounds += 1
        try:
            if len(group) == 1 and len(group[0][0]) == 1:
                one: Row = self._client.hmget(group[0][0][0], fields)  # type: ignore[assignment]
                return [one]
            pipe = self._client.pipeline(transaction=False)
            for keys, _ in group:
                for key in keys:
                    pipe.hmget(key, fields)
            results: list[Row] = pipe.execute()
        except (redis.RedisError, OSError) as err:
            return FeatureStoreUnavailable(
                f"{self._what}: the online store at {_redacted(self.url)} did not answer "
                f"({type(err).__name__}: {err}); retry later"
            )
        return results

    def _hand_back(self, group: list[_Pending], results: list[Row] | Unavailable) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_deliver, group, results)


def _deliver(group: list[_Pending], results: list[Row] | Unavailable) -> None:
    """On the event loop: each request's rows, or the round's error."""
    start = 0
    for keys, future in group:
        end = start + len(keys)
        if not future.done():  # a request that gave up meanwhile
            if isinstance(results, Unavailable):
                future.set_exception(results)
            else:
                future.set_result(results[start:end])
        start = end


def _redacted(url: str) -> str:
    """The URL without a password in it."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.split('@', 1)[1]}"
