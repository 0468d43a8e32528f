"""Point-in-time correct historical retrieval: an entity frame in, a training frame out.

Semantics are Feast's SQL offline stores': for an entity row with keys K at time T, each
feature of a view takes the latest row of that view with keys K and event time in
[T - ttl, T] (both ends inclusive; no ttl means no lower bound); rows with the same event
time are ordered by their created timestamp (the latest wins; a missing created time
loses). No matching row gives nulls and the entity row is kept; nothing after T is ever
read. Every entity row comes out once, in its order, with its columns unchanged.

The join is DuckDB's ASOF join, one per view, on rows first deduplicated by (keys, event
time) so that the created timestamp decides ties; the ttl bound is checked on the row
the ASOF join found (if the latest row at or before T is older than T - ttl, every
older one is too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import timedelta

import pyarrow as pa

from sextant_runtime.features.rows import (
    CREATED,
    TS,
    check_columns,
    connect,
    feature_column,
    key_column,
    quote,
    select_sql,
)
from sextant_runtime.features.sources import guess_format, local_file, scan_sql
from sextant_runtime.features.views import SQL_TYPES, View, ViewError

ROW = "__sextant_row"
ENTITY_TS = "__sextant_entity_ts"
_MICROSECOND = timedelta(microseconds=1)


def output_names(views: Sequence[View], full_feature_names: bool) -> list[list[str]]:
    """The column each view's features get: `view__feature` with full names (Feast's)."""
    names = [
        [f"{v.name}__{f}" if full_feature_names else f for f in v.feature_names] for v in views
    ]
    flat = [n for per_view in names for n in per_view]
    duplicates = sorted({n for n in flat if flat.count(n) > 1})
    if duplicates:
        raise ViewError(
            f"feature names {', '.join(duplicates)} appear in several FeatureViews; "
            "use full feature names"
        )
    return names


def get_historical_features(
    entity_df: pa.Table,
    views: Sequence[View],
    *,
    timestamp_column: str = "event_timestamp",
    full_feature_names: bool = False,
    memory_limit: str | None = None,
) -> pa.Table:
    """The entity frame with every view's features appended, point-in-time correct."""
    if not views:
        raise ViewError("no FeatureView given")
    names = output_names(views, full_feature_names)
    _check_entity_frame(entity_df, views, timestamp_column, names)
    entity = entity_df.select([timestamp_column, *_entity_key_names(views)]).append_column(
        ROW, pa.array(range(entity_df.num_rows), pa.int64())
    )
    con = connect(memory_limit)
    try:
        con.register("__sextant_entity", entity)
        with contextlib.ExitStack() as stack:
            for index, view in enumerate(views):
                path = stack.enter_context(local_file(view.source_uri))
                scan = scan_sql(path, view.source_format or guess_format(view.source_uri))
                check_columns(con, view, scan)
                con.execute(f"CREATE TEMP VIEW __sextant_fv{index} AS {_deduplicated(view, scan)}")
            query = _join_sql(views, names, timestamp_column)
            features = con.sql(query).to_arrow_table()
    finally:
        con.close()
    result = entity_df
    for column in features.column_names:
        result = result.append_column(column, features[column])
    return result


def _entity_key_names(views: Sequence[View]) -> list[str]:
    return list(dict.fromkeys(name for v in views for name in v.entity_names))


def _check_entity_frame(
    entity_df: pa.Table, views: Sequence[View], timestamp_column: str, names: list[list[str]]
) -> None:
    columns = set(entity_df.column_names)
    needed = [timestamp_column, *_entity_key_names(views)]
    missing = [name for name in needed if name not in columns]
    if missing:
        raise ViewError(f"the entity frame has no column {', '.join(missing)}")
    clashing = sorted(columns & {n for per_view in names for n in per_view})
    if clashing:
        raise ViewError(f"the entity frame already has the feature columns {', '.join(clashing)}")


def _deduplicated(view: View, scan: str) -> str:
    rows = select_sql(view, scan)
    if not view.created_timestamp_field:
        return rows
    keys = ", ".join(key_column(i) for i in range(len(view.entities)))
    return (
        f"SELECT * FROM ({rows}) QUALIFY row_number() OVER "
        f"(PARTITION BY {keys}, {TS} ORDER BY {CREATED} DESC NULLS LAST) = 1"
    )


def _join_sql(views: Sequence[View], names: list[list[str]], timestamp_column: str) -> str:
    entity_columns = [f"{ROW}", f"CAST({quote(timestamp_column)} AS TIMESTAMPTZ) AS {ENTITY_TS}"]
    joins, outputs = [], []
    for v, view in enumerate(views):
        alias = f"f{v}"
        conditions = []
        for k, entity in enumerate(view.entities):
            column = f"__sextant_v{v}_{key_column(k)}"
            entity_columns.append(
                f"CAST({quote(entity.name)} AS {SQL_TYPES[entity.dtype]}) AS {column}"
            )
            conditions.append(f"e.{column} = {alias}.{key_column(k)}")
        conditions.append(f"e.{ENTITY_TS} >= {alias}.{TS}")
        joins.append(f"ASOF LEFT JOIN __sextant_fv{v} {alias} ON {' AND '.join(conditions)}")
        for f, name in enumerate(names[v]):
            value = f"{alias}.{feature_column(f)}"
            if view.ttl is not None:
                micros = view.ttl // _MICROSECOND
                value = (
                    f"CASE WHEN {alias}.{TS} >= e.{ENTITY_TS} - INTERVAL ({micros}) MICROSECOND "
                    f"THEN {value} END"
                )
            outputs.append(f"{value} AS {quote(name)}")
    return (
        f"SELECT {', '.join(outputs)} "
        f"FROM (SELECT {', '.join(entity_columns)} FROM __sextant_entity) e "
        f"{' '.join(joins)} ORDER BY e.{ROW}"
    )
