"""The feature rows of one FeatureView as a DuckDB query: keys and features cast to the
types the spec declares, timestamps as UTC instants. Naive timestamps are read as UTC,
as Feast does."""

from __future__ import annotations

import duckdb

from sextant_runtime.features.sources import SourceError
from sextant_runtime.features.views import SQL_TYPES, View

# Column names the queries give the parts of a feature row.
TS = "__sextant_ts"
CREATED = "__sextant_created"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def key_column(index: int) -> str:
    return f"__sextant_k{index}"


def feature_column(index: int) -> str:
    return f"__sextant_f{index}"


def connect(
    memory_limit: str | None = None, temp_directory: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB that reads naive timestamps as UTC and spills to disk."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if memory_limit:
        con.execute(f"SET memory_limit = {_literal(memory_limit)}")
    if temp_directory:
        con.execute(f"SET temp_directory = {_literal(temp_directory)}")
    return con


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def check_columns(con: duckdb.DuckDBPyConnection, view: View, scan: str) -> None:
    """A clear error naming what the source lacks, before any query runs."""
    try:
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    except duckdb.Error as err:
        raise SourceError(f"FeatureView {view.name}: {view.source_uri}: {err}") from err
    wanted = [*view.entity_names, view.timestamp_field, *view.feature_names]
    if view.created_timestamp_field:
        wanted.append(view.created_timestamp_field)
    missing = [name for name in wanted if name not in present]
    if missing:
        raise SourceError(
            f"FeatureView {view.name}: {view.source_uri} has no column {', '.join(missing)} "
            f"(it has {', '.join(sorted(present))})"
        )


def select_sql(view: View, scan: str) -> str:
    """SELECT keys (__sextant_kN), event time, created time and features (__sextant_fN)
    of every row with an event time, cast to the spec's types."""
    columns = [
        f"CAST({quote(c.name)} AS {SQL_TYPES[c.dtype]}) AS {key_column(i)}"
        for i, c in enumerate(view.entities)
    ]
    columns.append(f"CAST({quote(view.timestamp_field)} AS TIMESTAMPTZ) AS {TS}")
    created = (
        f"CAST({quote(view.created_timestamp_field)} AS TIMESTAMPTZ)"
        if view.created_timestamp_field
        else "CAST(NULL AS TIMESTAMPTZ)"
    )
    columns.append(f"{created} AS {CREATED}")
    columns.extend(
        f"CAST({quote(c.name)} AS {SQL_TYPES[c.dtype]}) AS {feature_column(i)}"
        for i, c in enumerate(view.features)
    )
    return (
        f"SELECT {', '.join(columns)} FROM {scan} WHERE {quote(view.timestamp_field)} IS NOT NULL"
    )
