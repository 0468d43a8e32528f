"""A small users table, and running `sextant materialize` on it for a FeatureView."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import redis

from sextant_runtime.features import Column, Summary, View, materialize

NAME = "user-features"
NOW = datetime.now(UTC).replace(microsecond=0)


def write_users(path: Path) -> Path:
    """Three users; `c` last changed two days ago, past the 24h ttl."""
    times = [NOW - timedelta(minutes=m) for m in (30, 10, 5, 60 * 48)]
    pq.write_table(
        pa.table({
            "user_id": ["a", "a", "b", "c"],
            "event_timestamp": pa.array(times, pa.timestamp("us", tz="UTC")),
            "age": pa.array([30, 31, 40, 50], pa.int64()),
            "ltv": pa.array([1.0, 2.0, 3.0, 4.0], pa.float64()),
        }),
        path,
    )  # fmt: skip
    return path


def view(namespace: str, source: Path, ttl: timedelta | None = timedelta(hours=24)) -> View:
    return View(
        name=NAME,
        namespace=namespace,
        entities=(Column("user_id", "string"),),
        features=(Column("age", "int64"), Column("ltv", "float64")),
        source_uri=str(source),
        ttl=ttl,
    )


def materialized(url: str, namespace: str, source: Path) -> Summary:
    """What the CronJob's pod does, run here against the same Redis."""
    with redis.Redis.from_url(url) as client:
        return materialize(view(namespace, source), client)


def manifest(namespace: str, redis_url: str, schedule: str = "*/5 * * * *") -> dict[str, object]:
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "FeatureView",
        "metadata": {"name": NAME, "namespace": namespace},
        "spec": {
            "entities": [{"name": "user_id", "dtype": "string"}],
            "features": [{"name": "age", "dtype": "int64"}, {"name": "ltv", "dtype": "float64"}],
            "source": {"uri": "http://127.0.0.1:9/users.parquet"},
            "ttl": "24h",
            "online": {"redisUrl": redis_url},
            "materialization": {"schedule": schedule},
        },
    }
