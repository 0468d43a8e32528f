"""Where feature rows come from: a parquet or csv file from a path, file:// or http(s)://,
scanned by DuckDB without loading it whole (the jobs stream and spill, never hold a
source in memory). An http(s) file is streamed to a temporary file first, so no DuckDB
extension is fetched from the internet. s3:// and pvc:// are not read yet."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import httpx
import pyarrow as pa

from sextant_runtime.features.views import Format

HTTP_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


class SourceError(Exception):
    """A source that cannot be read: a missing file, an HTTP error, an unsupported scheme."""


def guess_format(uri: str) -> Format:
    name = urlparse(uri).path.lower()
    for suffix in (".gz", ".bz2", ".zst"):
        name = name.removesuffix(suffix)
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    raise SourceError(f"{uri}: cannot tell parquet from csv by the name; give the format")


@contextlib.contextmanager
def local_file(uri: str) -> Iterator[Path]:
    """A local path holding the file at `uri`; a download lives as long as the context."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = Path(unquote(parsed.path) if parsed.scheme else uri)
        if not path.is_file():
            raise SourceError(f"{uri}: no such file")
        yield path
    elif parsed.scheme in ("http", "https"):
        with tempfile.TemporaryDirectory(prefix="sextant-source-") as tmp:
            target = Path(tmp) / (Path(parsed.path).name or "source")
            _download(uri, target)
            yield target
    elif parsed.scheme in ("s3", "pvc"):
        raise SourceError(
            f"{uri}: {parsed.scheme}:// sources are not read yet; copy the file and give "
            "a path, file:// or http(s):// (--source)"
        )
    else:
        raise SourceError(f"{uri}: unsupported scheme {parsed.scheme!r}")


def scan_sql(path: Path, data_format: Format) -> str:
    """A DuckDB table expression reading the file lazily."""
    literal = "'" + str(path).replace("'", "''") + "'"
    if data_format == "parquet":
        return f"read_parquet({literal})"
    return f"read_csv({literal}, header = true)"


def _download(uri: str, target: Path) -> None:
    try:
        with (
            httpx.stream("GET", uri, timeout=HTTP_TIMEOUT_S, follow_redirects=True) as response,
            target.open("wb") as out,
        ):
            response.raise_for_status()
            for chunk in response.iter_bytes(_CHUNK):
                out.write(chunk)
    except httpx.HTTPError as err:
        raise SourceError(f"{uri}: {err}") from err


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
