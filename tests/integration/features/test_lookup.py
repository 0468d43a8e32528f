"""The lookup thread on a real Redis: lookups waiting together share one round trip."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from sextant_runtime.features.lookup import FeatureStoreUnavailable, RedisLookup


def test_concurrent_lookups_are_coalesced_into_few_pipelined_round_trips(
    redis_server: LocalRedis,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}:"
    with redis.Redis.from_url(redis_server.url) as client:
        for i in range(64):
            client.hset(f"{prefix}{i}", mapping={"a": str(i), "b": str(-i)})
    lookup = RedisLookup(redis_server.url, ["a", "b", "c"])

    async def main() -> list[list[list[bytes | None]]]:
        return await asyncio.gather(
            *(lookup.fetch([f"{prefix}{i}", f"{prefix}none"]) for i in range(64))
        )

    try:
        answers = asyncio.run(main())
    finally:
        lookup.close()

    for i, rows in enumerate(answers):
        assert rows == [[str(i).encode(), str(-i).encode(), None], [None, None, None]]
    assert lookup.rounds < 64 / 4, lookup.rounds  # many requests per round trip


def test_an_unreachable_redis_fails_each_lookup_fast_with_503() -> None:
    lookup = RedisLookup(f"redis://127.0.0.1:{free_port()}/0", ["a"], what="FeatureView x/y")

    async def main() -> None:
        await lookup.fetch(["k"])

    try:
        with pytest.raises(FeatureStoreUnavailable, match="FeatureView x/y: the online store at"):
            asyncio.run(main())
    finally:
        lookup.close()
