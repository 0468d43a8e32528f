"""Where tabular data comes from, for drift checks and features alike: a parquet or csv
file from a path, `file://`, `http(s)://` or `s3://BUCKET/KEY` (S3 or any S3-compatible
store, configured by the standard AWS variables: see s3.py). The format comes from the
name unless given. A remote file is streamed to a temporary file, so readers always get a
local path. `pvc://` is the operator's to mount: its jobs are given the mounted path."""

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
    elif parsed.scheme == "s3":
        with tempfile.TemporaryDirectory(prefix="sextant-source-") as tmp:
            target = Path(tmp) / (Path(parsed.path).name or "source")
            _download_s3(uri, target)
            yield target
    elif parsed.scheme == "pvc":
        raise SourceError(
            f"{uri}: a pvc:// claim is mounted by the operator in the pods it runs "
            "(FeatureView and DriftMonitor jobs read it from there); here give a path, "
            "file://, http(s):// or s3://"
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


def _download_s3(uri: str, target: Path) -> None:
    from sextant_runtime import s3  # noqa: PLC0415 - loads the AWS SDK only for s3://

    try:
        s3.download_object(uri, target)
    except s3.S3Error as err:
        raise SourceError(str(err)) from err
