"""Where feature rows come from: a parquet or csv file from a path, file:// or http(s)://,
scanned by DuckDB without loading it whole (the jobs stream and spill, never hold a
source in memory). An http(s) file is streamed to a temporary file first, so no DuckDB
extension is fetched from the internet. s3:// is streamed the same way (tables.py); a
pvc:// claim is read from where the operator mounts it."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from sextant_runtime.tables import Format, SourceError, guess_format, local_file

__all__ = ["SourceError", "guess_format", "local_file", "read_table", "scan_sql"]


def scan_sql(path: Path, data_format: Format) -> str:
    """A DuckDB table expression reading the file lazily."""
    literal = "'" + str(path).replace("'", "''") + "'"
    if data_format == "parquet":
        return f"read_parquet({literal})"
    return f"read_csv({literal}, header = true)"


def read_table(uri: str, data_format: Format | None = None) -> pa.Table:
    """A whole (small) table, such as an entity frame, read through DuckDB."""
    with local_file(uri) as path:
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            scan = scan_sql(path, data_format or guess_format(uri))
            return con.sql(f"SELECT * FROM {scan}").to_arrow_table()
        except duckdb.Error as err:
            raise SourceError(f"{uri}: {err}") from err
        finally:
            con.close()
