"""Where tabular data comes from, for drift checks and features alike: a parquet or csv
file from a path, `file://` or `http(s)://`. The format comes from the name unless given.
An http(s) file is streamed to a temporary file, so readers always get a local path."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

import httpx

Format = Literal["parquet", "csv"]
HTTP_TIMEOUT_S = 60.0
_CHUNK = 1 << 20


class SourceError(Exception):
    """Data that cannot be read: a missing file, an HTTP error, an unsupported scheme."""


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
            "a path, file:// or http(s)://"
        )
    else:
        raise SourceError(f"{uri}: unsupported scheme {parsed.scheme!r}")


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
