"""What the online store says about a FeatureView: the runs' summaries and entity count.

The operator only reads Redis. `sextant materialize` writes the keys (its layout is
sextant_runtime.features.layout, which the operator image cannot import: the runtime
package pulls in DuckDB); tests/unit/featureview checks that both spell them alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis

PREFIX = "sextant:fv"
CONNECT_TIMEOUT_SECONDS = 3.0


def view_key(namespace: str, name: str) -> str:
    return f"{PREFIX}:{namespace}/{name}"


def index_key(namespace: str, name: str) -> str:
    return view_key(namespace, name) + "#entities"


def summary_field(shard: int, shards: int) -> str:
    return "last" if shards == 1 else f"last:{shard}/{shards}"


@dataclass(frozen=True)
class RunSummary:
    """One shard's last run, as `sextant materialize` recorded it."""

    time: datetime
    rows: int
    entities: int
    duration_seconds: float
    watermark: datetime | None


@dataclass(frozen=True)
class OnlineState:
    """`runs[i]` is shard i's last run, None when it never finished one."""

    runs: tuple[RunSummary | None, ...]
    online_entities: int


class RedisUnavailable(Exception):
    """Redis cannot be reached or answered with an error; the message says which."""


def read_state(
    url: str, password: str | None, *, namespace: str, name: str, shards: int, now: datetime
) -> OnlineState:
    client = redis.Redis.from_url(
        url,
        password=password,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    try:
        fields = [summary_field(i, shards) for i in range(shards)]
        pipe = client.pipeline(transaction=False)
        pipe.hmget(view_key(namespace, name), fields)
        # Expired entities leave the index here; the rest are those a lookup finds.
        cutoff_ms = (now.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
            milliseconds=1
        )
        pipe.zremrangebyscore(index_key(namespace, name), "-inf", cutoff_ms)
        pipe.zcard(index_key(namespace, name))
        raw, _, count = pipe.execute()
    except redis.RedisError as err:
        raise RedisUnavailable(f"Redis {_safe(url)}: {err}") from err
    finally:
        client.close()
    return OnlineState(tuple(_summary(r) for r in raw), int(count))


def _summary(raw: bytes | None) -> RunSummary | None:
    if not raw:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
        return RunSummary(
            time=_instant(data["time"]) or datetime.fromtimestamp(0, UTC),
            rows=int(data.get("rows") or 0),
            entities=int(data.get("entities") or 0),
            duration_seconds=float(data.get("durationSeconds") or 0.0),
            watermark=_instant(data.get("watermark")),
        )
    except (ValueError, KeyError, TypeError):
        return None  # written by a job of another version: treated as no run


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _safe(url: str) -> str:
    """The URL without a password in it (it ends up in status and Events)."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user + ':***@' if user else '***@'}{host}"
