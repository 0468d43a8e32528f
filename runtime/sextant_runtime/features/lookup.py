"""Online reads from Redis on the event loop, coalesced: one pipeline per round trip.

A request asks for its entities' hashes and awaits them. If no read is in flight, one
starts at once (no added wait when idle); requests that arrive while it is in flight
join the next one, which goes as soon as the first returns. So under load every round
trip carries the lookups of many requests (an HMGET per entity, one pipeline), and the
inference thread never waits on Redis.

When Redis cannot be reached, every lookup of that round fails with
FeatureStoreUnavailable (503): the server keeps running and the next round tries again
(redis-py reconnects). Timeouts are short so a request fails fast instead of hanging.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import redis
import redis.asyncio as aredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from sextant_runtime.errors import Unavailable

CONNECT_TIMEOUT_S = 0.5
READ_TIMEOUT_S = 1.0

Row = list[bytes | None]


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
        self._password = password
        self._what = what
        self._client: aredis.Redis | None = None  # made on the loop that uses it
        self._pending: list[tuple[list[str], asyncio.Future[list[Row]]]] = []
        self._task: asyncio.Task[None] | None = None

    async def fetch(self, keys: list[str]) -> list[Row]:
        """The `fields` of each key's hash (None where absent), in order."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Row]] = loop.create_future()
        self._pending.append((keys, future))
        if self._task is None:
            self._task = loop.create_task(self._drain())
        return await future

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _connect(self) -> aredis.Redis:
        if self._client is None:
            self._client = aredis.Redis.from_url(
                self.url,
                password=self._password,
                socket_connect_timeout=CONNECT_TIMEOUT_S,
                socket_timeout=READ_TIMEOUT_S,
                # One immediate retry covers a connection Redis closed while idle; no
                # backoff: a request must not wait out seconds of retries.
                retry=Retry(NoBackoff(), 1),
            )
        return self._client

    async def _drain(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending, []
                await self._round(group)
        finally:
            self._task = None

    async def _round(self, group: list[tuple[list[str], asyncio.Future[list[Row]]]]) -> None:
        fields = self.fields
        try:
            pipe = self._connect().pipeline(transaction=False)
            for keys, _ in group:
                for key in keys:
                    pipe.hmget(key, fields)
            results: list[Row] = await pipe.execute()
        except (redis.RedisError, OSError) as err:
            failure = FeatureStoreUnavailable(
                f"{self._what}: the online store at {_redacted(self.url)} did not answer "
                f"({type(err).__name__}: {err}); retry later"
            )
            for _, future in group:
                if not future.done():
                    future.set_exception(failure)
            return
        start = 0
        for keys, future in group:
            end = start + len(keys)
            if not future.done():  # a request that gave up meanwhile
                future.set_result(results[start:end])
            start = end


def _redacted(url: str) -> str:
    """The URL without a password in it."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    return f"{scheme}{sep}***@{rest.split('@', 1)[1]}"
