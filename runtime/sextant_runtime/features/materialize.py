"""`sextant materialize`: copy the latest value of every entity of a FeatureView from its
offline source into Redis, for online lookup.

One run reads the rows with event time in (watermark, until] (and, with a ttl, not
older than until - ttl: those would already have expired), keeps the latest row per
entity (event time, then created time, as the point-in-time join does), and writes each
entity's hash with an atomic compare in Redis (a Lua script: a row older than the one
stored is dropped, an equal one rewritten), so re-running a window changes nothing and
two runs racing cannot put an older value over a newer one. Writes are pipelined per
batch of `batch_size` entities, read from DuckDB's streaming Arrow reader; the
per-entity reduction is DuckDB's hash aggregate, which spills to disk past
`memory_limit`, so memory does not grow with the source.

The watermark (the newest event time written) is kept in Redis next to the data and
advanced only forward, after every batch was written; a failed run leaves it where it
was, and the next run redoes the window. `shard`/`shards` split entities by a hash of
their key (an Indexed Job's pods), each shard with its own watermark. Rows that arrive
later with an event time at or before the watermark are not picked up by an incremental
run (as in Feast); `full=True` re-reads everything within ttl.

Key layout: `sextant_runtime.features.layout`
    sextant:fv:{namespace}/{name}          bookkeeping hash (watermark, last run's summary)
    sextant:fv:{namespace}/{name}:{key}    one hash per entity: features, _ts, _created;
                                           expires at event time + ttl
    sextant:fv:{namespace}/{name}#entities sorted set: entity hash -> its expiry (ms), so
                                           status.onlineEntities is counted without SCAN
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sextant_runtime.features import layout
from sextant_runtime.features.rows import (
    CREATED,
    TS,
    check_columns,
    connect,
    feature_column,
    key_column,
    select_sql,
)
from sextant_runtime.features.sources import guess_format, local_file, scan_sql
from sextant_runtime.features.views import View

if TYPE_CHECKING:
    import pyarrow as pa
    import redis

DEFAULT_BATCH_SIZE = 5000

# KEYS[1] entity hash, KEYS[2] the view's entity index; ARGV: event µs, created µs or '',
# expire-at ms or '', field, value...
_WRITE_IF_NOT_OLDER = """
local ts = tonumber(ARGV[1])
local created = tonumber(ARGV[2]) or -math.huge
local current = redis.call('HMGET', KEYS[1], '_ts', '_created')
if current[1] then
  local current_ts = tonumber(current[1])
  local current_created = tonumber(current[2]) or -math.huge
  if ts < current_ts or (ts == current_ts and created < current_created) then
    return 0
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], '_ts', ARGV[1], '_created', ARGV[2], unpack(ARGV, 4))
if ARGV[3] ~= '' then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
redis.call('ZADD', KEYS[2], ARGV[3] ~= '' and ARGV[3] or '+inf', KEYS[1])
return 1
"""

# KEYS[1] bookkeeping hash; ARGV: watermark field, µs, summary field, summary JSON.
_ADVANCE_WATERMARK = """
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '')
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
if current == nil or tonumber(ARGV[2]) > current then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Summary:
    """One run, as FeatureView's status.lastMaterialization reports it."""

    feature_view: str
    time: datetime
    rows: int
    entities: int
    written: int
    duration_seconds: float
    watermark: datetime | None
    window_start: datetime | None
    window_end: datetime
    shard: int
    shards: int

    def to_json(self) -> dict[str, Any]:
        return {
            "featureView": self.feature_view,
            "time": _iso(self.time),
            "rows": self.rows,
            "entities": self.entities,
            "written": self.written,
            "durationSeconds": round(self.duration_seconds, 3),
            "watermark": _iso(self.watermark),
            "window": {"after": _iso(self.window_start), "until": _iso(self.window_end)},
            "shard": {"index": self.shard, "count": self.shards},
        }


def read_watermark(
    client: redis.Redis, view: View, shard: int = 0, shards: int = 1
) -> datetime | None:
    raw = client.hget(
        layout.view_key(view.namespace, view.name), layout.watermark_field(shard, shards)
    )
    return layout.from_micros(int(raw)) if raw else None


def materialize(
    view: View,
    client: redis.Redis,
    *,
    until: datetime | None = None,
    full: bool = False,
    shard: int = 0,
    shards: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    memory_limit: str | None = None,
) -> Summary:
    """Write the latest value of every entity (of this shard) in the window into Redis."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    started = time.monotonic()
    end = _utc(until) if until else datetime.now(UTC)
    incremental = view.incremental and not full
    watermark = read_watermark(client, view, shard, shards) if incremental else None
    oldest = end - view.ttl if view.ttl is not None else None
    rows = entities = written = 0
    newest: int | None = None
    write = client.register_script(_WRITE_IF_NOT_OLDER)
    entity_index = layout.index_key(view.namespace, view.name)
    batches = _latest_rows(
        view, watermark=watermark, oldest=oldest, end=end, shard=shard, shards=shards,
        batch_size=batch_size, memory_limit=memory_limit,
    )  # fmt: skip
    for batch in batches:
        columns = batch.to_pydict()
        keys = [
            layout.entity_key(view.namespace, view.name, values)
            for values in zip(*(columns[key_column(i)] for i in range(len(view.entities))),
                              strict=True)
        ]  # fmt: skip
        pipe = client.pipeline(transaction=False)
        for row, key in enumerate(keys):
            args: list[Any] = [columns["ts_us"][row], columns["created_us"][row] or "",
                               columns["expire_ms"][row] or ""]  # fmt: skip
            for index, feature in enumerate(view.feature_names):
                value = columns[feature_column(index)][row]
                if value is not None:
                    args.extend((feature, value))
            write(keys=[key, entity_index], args=args, client=pipe)
        written += sum(int(r) for r in pipe.execute())
        rows += sum(columns["n"])
        entities += len(keys)
        batch_newest = max(columns["ts_us"])
        newest = batch_newest if newest is None else max(newest, batch_newest)
    summary = Summary(
        feature_view=view.name,
        time=datetime.now(UTC),
        rows=rows,
        entities=entities,
        written=written,
        duration_seconds=time.monotonic() - started,
        watermark=layout.from_micros(newest) if newest is not None else watermark,
        window_start=max(w for w in (watermark, oldest) if w) if watermark or oldest else None,
        window_end=end,
        shard=shard,
        shards=shards,
    )
    _record(client, view, summary, newest)
    return summary


def _record(client: redis.Redis, view: View, summary: Summary, newest: int | None) -> None:
    """Advance the watermark (never backwards) and keep the run's summary beside it."""
    key = layout.view_key(view.namespace, view.name)
    field = layout.watermark_field(summary.shard, summary.shards)
    last = layout.summary_field(summary.shard, summary.shards)
    text = json.dumps(summary.to_json())
    if newest is None:
        client.hset(key, last, text)
        return
    client.register_script(_ADVANCE_WATERMARK)(keys=[key], args=[field, newest, last, text])


def _latest_rows(
    view: View,
    *,
    watermark: datetime | None,
    oldest: datetime | None,
    end: datetime,
    shard: int,
    shards: int,
    batch_size: int,
    memory_limit: str | None,
) -> Iterator[pa.RecordBatch]:
    """The latest row per entity in the window, encoded for Redis, in Arrow batches."""
    with (
        tempfile.TemporaryDirectory(prefix="sextant-duckdb-") as spill,
        local_file(view.source_uri) as path,
        contextlib.closing(connect(memory_limit, spill)) as con,
    ):
        scan = scan_sql(path, view.source_format or guess_format(view.source_uri))
        check_columns(con, view, scan)
        keys = [key_column(i) for i in range(len(view.entities))]
        conditions = [f"{TS} <= $until"]
        parameters: dict[str, Any] = {"until": end}
        if watermark is not None:
            conditions.append(f"{TS} > $after")
            parameters["after"] = watermark
        if oldest is not None:
            conditions.append(f"{TS} >= $oldest")
            parameters["oldest"] = oldest
        if shards > 1:
            text = " || ':' || ".join(f"CAST({k} AS VARCHAR)" for k in keys)
            conditions.append(f"md5_number({text}) % {shards} = {shard}")
        fields = [TS, CREATED, *(feature_column(i) for i in range(len(view.features)))]
        latest = (
            f"SELECT {', '.join(keys)}, count(*) AS n, "
            f"arg_max(struct_pack({', '.join(f'{f} := {f}' for f in fields)}), "
            f"struct_pack(t := {TS}, c := coalesce({CREATED}, '-infinity'::TIMESTAMPTZ))) "
            "AS latest "
            f"FROM ({select_sql(view, scan)}) WHERE {' AND '.join(conditions)} "
            f"GROUP BY ALL"
        )
        expire = (
            f"epoch_ms(latest.{TS} + INTERVAL ({view.ttl // timedelta(microseconds=1)}) "
            "MICROSECOND)"
            if view.ttl is not None
            else "NULL"
        )
        encoded = [
            f"{_encoded(f'latest.{feature_column(i)}', c.dtype)} AS {feature_column(i)}"
            for i, c in enumerate(view.features)
        ]
        query = (
            f"SELECT {', '.join(keys)}, n, epoch_us(latest.{TS}) AS ts_us, "
            f"epoch_us(latest.{CREATED}) AS created_us, {expire} AS expire_ms, "
            f"{', '.join(encoded)} FROM ({latest})"
        )
        reader = con.sql(query, params=parameters).to_arrow_reader(batch_size)
        yield from reader


def _encoded(column: str, dtype: str) -> str:
    """The SQL giving the layout's encoding of a feature value (see layout.py)."""
    if dtype in ("string", "bytes"):
        return column
    if dtype == "bool":
        return f"CASE WHEN {column} THEN '1' WHEN NOT {column} THEN '0' END"
    if dtype == "timestamp":
        return f"CAST(epoch_us({column}) AS VARCHAR)"
    return f"CAST({column} AS VARCHAR)"


def _utc(instant: datetime) -> datetime:
    return instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant.astimezone(UTC)


def _iso(instant: datetime | None) -> str | None:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z") if instant else None
