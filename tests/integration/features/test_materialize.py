"""`sextant materialize` on a real Redis: expiry, watermark, idempotence, ordering, shards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from click.testing import CliRunner

from sextant.cli import main
from sextant.devenv.redis import LocalRedis
from sextant_runtime.features import Column, View, materialize, read_watermark
from sextant_runtime.features.layout import decode_value, entity_key, view_key

NOW = datetime.now(UTC).replace(microsecond=0)  # set again as each test starts (conftest)
TTL = timedelta(hours=1)


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


@pytest.fixture
def client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_server.url) as connection:
        yield connection


def _write(path: Path, rows: list[tuple[Any, ...]]) -> None:
    user_ids, times, created, ages, scores = zip(*rows, strict=True)
    pq.write_table(pa.table({
        "user_id": list(user_ids),
        "event_timestamp": pa.array(times, pa.timestamp("us", tz="UTC")),
        "created": pa.array(created, pa.timestamp("us", tz="UTC")),
        "age": pa.array(ages, pa.int64()),
        "score": pa.array(scores, pa.float64()),
    }), path)  # fmt: skip


def _view(path: Path, ttl: timedelta | None = TTL) -> View:
    return View(
        name="users",
        namespace=f"t{uuid.uuid4().hex[:10]}",
        entities=(Column("user_id", "string"),),
        features=(Column("age", "int64"), Column("score", "float64")),
        source_uri=str(path),
        created_timestamp_field="created",
        ttl=ttl,
    )


def _online(client: redis.Redis, view: View, user_id: str) -> dict[str, Any] | None:
    raw = client.hgetall(entity_key(view.namespace, view.name, [user_id]))
    if not raw:
        return None
    values = {c.name: decode_value(c.dtype, raw.get(c.name.encode())) for c in view.features}
    return {**values, "_ts": int(raw[b"_ts"])}


def _entity_keys(client: redis.Redis, view: View) -> set[bytes]:
    return set(client.scan_iter(match=view_key(view.namespace, view.name) + ":*"))


def test_latest_value_per_entity_lands_with_expiry_at_event_time_plus_ttl(
    client: redis.Redis, tmp_path: Path
) -> None:
    source = tmp_path / "users.parquet"
    _write(source, [
        ("a", ago(20), ago(20), 1, 0.5),
        ("a", ago(10), ago(10), 2, None),
        ("a", ago(10), ago(11), 3, 9.0),   # same event time, created earlier: loses
        ("b", ago(5), ago(5), 7, 1.25),
        ("c", ago(90), ago(90), 9, 9.0),   # older than ttl: already expired, not written
        ("d", NOW + timedelta(minutes=1), NOW, 4, 4.0),  # after the window
    ])  # fmt: skip
    view = _view(source)
    summary = materialize(view, client, until=NOW)
    assert (summary.rows, summary.entities, summary.written) == (4, 2, 2)
    assert summary.watermark == ago(5)
    assert _online(client, view, "a") == {"age": 2, "score": None, "_ts": _micros(ago(10))}
    assert _online(client, view, "b") == {"age": 7, "score": 1.25, "_ts": _micros(ago(5))}
    assert _online(client, view, "c") is None
    assert _online(client, view, "d") is None
    remaining = client.pttl(entity_key(view.namespace, view.name, ["a"])) / 1000
    expected = (ago(10) + TTL - datetime.now(UTC)).total_seconds()
    assert expected - 5 < remaining <= expected + 1


def test_without_ttl_keys_never_expire(client: redis.Redis, tmp_path: Path) -> None:
    source = tmp_path / "users.parquet"
    _write(source, [("a", ago(60 * 24 * 400), ago(1), 1, 1.0)])
    view = _view(source, ttl=None)
    materialize(view, client, until=NOW)
    assert client.pttl(entity_key(view.namespace, view.name, ["a"])) == -1


def test_incremental_runs_start_after_the_watermark_kept_in_redis(
    client: redis.Redis, tmp_path: Path
) -> None:
    source = tmp_path / "users.parquet"
    first = [("a", ago(30), ago(30), 1, 1.0), ("b", ago(25), ago(25), 2, 2.0)]
    _write(source, first)
    view = _view(source)
    assert materialize(view, client, until=ago(20)).watermark == ago(25)
    assert read_watermark(client, view) == ago(25)
    late = ("c", ago(26), ago(10), 3, 3.0)  # arrives late: at or before the watermark
    _write(source, [*first, ("a", ago(15), ago(15), 10, 10.0), late])
    second = materialize(view, client, until=NOW)
    assert (second.rows, second.entities) == (1, 1)
    assert second.watermark == read_watermark(client, view) == ago(15)
    assert _online(client, view, "a")["age"] == 10  # type: ignore[index]
    assert _online(client, view, "c") is None
    last = json.loads(client.hget(view_key(view.namespace, view.name), "last") or "{}")
    assert last["rows"] == 1
    assert last["watermark"] == ago(15).isoformat().replace("+00:00", "Z")
    full = materialize(view, client, until=NOW, full=True)
    assert _online(client, view, "c") == {"age": 3, "score": 3.0, "_ts": _micros(ago(26))}
    assert full.watermark == ago(15)


def test_rerunning_a_window_changes_nothing(client: redis.Redis, tmp_path: Path) -> None:
    source = tmp_path / "users.parquet"
    _write(source, [(f"u{i}", ago(i % 50), ago(i % 50), i, i / 3) for i in range(300)])
    view = _view(source)
    materialize(view, client, until=NOW, batch_size=64)
    before = _dump(client, view)
    again = materialize(view, client, until=NOW, batch_size=64)
    assert (again.rows, again.written) == (0, 0)
    full = materialize(view, client, until=NOW, full=True, batch_size=64)
    assert (full.entities, full.written) == (300, 300)
    assert _dump(client, view) == before


def test_an_older_row_never_overwrites_a_newer_one(client: redis.Redis, tmp_path: Path) -> None:
    newer, older = tmp_path / "newer.parquet", tmp_path / "older.parquet"
    _write(newer, [("a", ago(5), ago(5), 2, 2.0), ("b", ago(5), ago(4), 2, 2.0)])
    _write(older, [("a", ago(6), ago(1), 1, 1.0), ("b", ago(5), ago(5), 1, 1.0),
                   ("c", ago(6), ago(6), 1, 1.0)])  # fmt: skip
    view = _view(newer)
    materialize(view, client, until=NOW)
    late = materialize(view.with_source(str(older)), client, until=NOW, full=True)
    assert (late.entities, late.written) == (3, 1)
    assert _online(client, view, "a")["age"] == 2  # type: ignore[index]
    assert _online(client, view, "b")["age"] == 2  # type: ignore[index]  # created breaks the tie
    assert _online(client, view, "c")["age"] == 1  # type: ignore[index]


def test_shards_cover_every_entity_exactly_once(client: redis.Redis, tmp_path: Path) -> None:
    source = tmp_path / "users.parquet"
    _write(source, [(f"u{i}", ago(i % 30), ago(i % 30), i, float(i)) for i in range(500)])
    view = _view(source)
    runs = [materialize(view, client, until=NOW, shard=i, shards=3) for i in range(3)]
    assert sum(r.entities for r in runs) == sum(r.written for r in runs) == 500
    assert all(r.entities > 100 for r in runs)
    assert len(_entity_keys(client, view)) == 500
    meta = client.hgetall(view_key(view.namespace, view.name))
    assert {b"watermark:0/3", b"watermark:1/3", b"watermark:2/3"} <= set(meta)


def test_the_command_prints_the_run_as_json(redis_server: LocalRedis, tmp_path: Path) -> None:
    source = tmp_path / "users.parquet"
    _write(source, [("a", ago(5), ago(5), 1, 1.0), ("b", ago(5), ago(5), 2, 2.0)])
    namespace = f"t{uuid.uuid4().hex[:10]}"
    manifest = tmp_path / "fv.yaml"
    manifest.write_text(f"""
apiVersion: sextant.dev/v1alpha1
kind: FeatureView
metadata: {{name: users, namespace: {namespace}}}
spec:
  entities: [{{name: user_id}}]
  features: [{{name: age, dtype: int64}}, {{name: score, dtype: float64}}]
  source: {{uri: "file://{source}", createdTimestampField: created}}
  ttl: 1h
  online: {{redisUrl: "{redis_server.url}"}}
""")
    result = CliRunner().invoke(main, ["materialize", "-f", str(manifest)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["rows"], summary["entities"]) == (2, 2)
    assert set(summary) >= {"time", "rows", "entities", "durationSeconds", "watermark"}
    with redis.Redis.from_url(redis_server.url) as client:
        assert client.hget(entity_key(namespace, "users", ["b"]), "age") == b"2"
    down = CliRunner().invoke(
        main, ["materialize", "-f", str(manifest), "--redis-url", "redis://127.0.0.1:1/0"]
    )
    assert down.exit_code == 1
    assert "Redis redis://127.0.0.1:1/0" in down.output


def _micros(instant: datetime) -> int:
    return int(instant.timestamp() * 1_000_000)


def _dump(client: redis.Redis, view: View) -> dict[bytes, tuple[dict[bytes, bytes], int]]:
    # Expiry is absolute (event time + ttl): compare the expiry instant, not the remainder.
    return {
        key: (client.hgetall(key), client.pexpiretime(key)) for key in _entity_keys(client, view)
    }
