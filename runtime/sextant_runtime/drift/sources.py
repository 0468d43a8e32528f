"""Reading a reference or a window into an Arrow table: parquet or csv, from a path,
`file://` or `http(s)://`. The format comes from the name's extension unless given."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

import httpx
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

Format = Literal["parquet", "csv"]
HTTP_TIMEOUT_S = 60.0


class SourceError(Exception):
    """The data could not be read: a missing file, an HTTP error, a malformed file."""


def read_table(uri: str, data_format: Format | None = None) -> pa.Table:
    chosen = data_format or guess_format(uri)
    parsed = urlparse(uri)
    try:
        if parsed.scheme in ("http", "https"):
            return _parse(io.BytesIO(_download(uri)), chosen)
        if parsed.scheme == "file":
            return _parse(Path(unquote(parsed.path)), chosen)
        if parsed.scheme == "":
            return _parse(Path(uri), chosen)
    except (OSError, pa.ArrowInvalid) as err:
        raise SourceError(f"{uri}: {err}") from err
    raise SourceError(
        f"{uri}: unsupported scheme {parsed.scheme!r} (a path, file:// or http(s)://)"
    )


def guess_format(uri: str) -> Format:
    name = urlparse(uri).path.lower()
    for suffix in (".gz", ".bz2", ".zst"):
        name = name.removesuffix(suffix)
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".csv", ".tsv")):
        return "csv"
    raise SourceError(f"{uri}: cannot tell parquet from csv by the name; give the format")


def _parse(source: Path | io.BytesIO, data_format: Format) -> pa.Table:
    if isinstance(source, Path) and not source.is_file():
        raise SourceError(f"{source}: no such file")
    if data_format == "parquet":
        return pq.read_table(source)
    if isinstance(source, Path):
        return pacsv.read_csv(pa.input_stream(str(source), compression="detect"))
    return pacsv.read_csv(source)


def _download(uri: str) -> bytes:
    try:
        response = httpx.get(uri, timeout=HTTP_TIMEOUT_S, follow_redirects=True)
        response.raise_for_status()
    except httpx.HTTPError as err:
        raise SourceError(f"{uri}: {err}") from err
    return response.content
