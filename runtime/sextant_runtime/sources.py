"""Model sources: where `sextant serve MODEL_SOURCE` gets the artifact from.

- a local path or `file:///path`: used in place;
- `http://` / `https://`: downloaded with httpx into the cache directory, the size checked
  against Content-Length (and the digest against a `#sha256=HEX` fragment when given),
  retried with backoff on network errors, 5xx and short bodies;
- `models:/NAME@ALIAS` or `models:/NAME/VERSION`: resolved on the MLflow tracking server
  (MLFLOW_TRACKING_URI) and downloaded with the mlflow library into the cache directory,
  one directory per resolved version;
- `s3://BUCKET/KEY` (one object) or `s3://BUCKET/PREFIX/` (every object below it, such as
  an MLflow model folder): streamed from S3 or any S3-compatible store configured by the
  standard AWS variables (see s3.py) into the cache directory, one entry per listing of
  names, sizes and ETags, so a changed object is fetched anew; retried while the endpoint
  is unavailable, final when the key is missing or the credentials are refused.

A `pvc://CLAIM/PATH` never reaches the runtime: the operator mounts the claim read-only
and passes the mounted path (render/runtime_contract.py).

Downloads land in a temporary name and are renamed into place when complete, so a
cached entry is always whole. A download abandoned at shutdown (the loader is a daemon
thread) has its temporary name removed by `staging.discard_partial_downloads`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import httpx

from sextant_runtime.staging import staging

if TYPE_CHECKING:
    from sextant_runtime import s3

log = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class SourceError(RuntimeError):
    """The model could not be fetched; the message says from where and why."""


@dataclass(frozen=True)
class FetchedModel:
    path: Path
    version: str | None  # the registry version, when the source had one
    source: str


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sextant" / "models"


def fetch(
    source: str,
    cache_dir: Path | None = None,
    *,
    tracking_uri: str | None = None,
    attempts: int = 3,
    backoff: float = 0.5,
    timeout: float = 60.0,
) -> FetchedModel:
    """Make the model at `source` available as a local path."""
    cache = cache_dir or default_cache_dir()
    scheme = urlsplit(source).scheme
    if scheme == "models":
        return _fetch_registry(source, cache, tracking_uri, attempts, backoff)
    if scheme == "s3":
        return FetchedModel(_fetch_s3(source, cache / "s3", attempts, backoff), None, source)
    if scheme in ("http", "https"):
        path = download(source, cache / "http", attempts=attempts, backoff=backoff, timeout=timeout)
        return FetchedModel(path, None, source)
    if scheme == "file":
        path = Path(unquote(urlsplit(source).path))
    elif not scheme:
        path = Path(source)
    else:
        raise SourceError(
            f"model source {source!r}: the runtime reads local paths, file://, http(s)://, "
            f"s3:// and models:/ URIs, not {scheme}://"
        )
    if not path.exists():
        raise SourceError(f"model source {source!r}: {path} does not exist")
    return FetchedModel(path.resolve(), None, source)


class _Retryable(Exception):
    pass


def download(
    url: str, dest_dir: Path, *, attempts: int = 3, backoff: float = 0.5, timeout: float = 60.0
) -> Path:
    """Download `url` into `dest_dir/<hash>/<basename>` unless it is already there."""
    parts = urlsplit(url)
    digest = _fragment_digest(parts.fragment, url)
    plain_url = parts._replace(fragment="").geturl()
    basename = _SAFE_NAME.sub("_", unquote(parts.path.rsplit("/", 1)[-1])) or "model"
    folder = dest_dir / hashlib.sha256(plain_url.encode()).hexdigest()[:16]
    target = folder / basename
    if target.is_file():
        log.info("using cached download", extra={"url": plain_url, "path": str(target)})
        return target
    folder.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            _download_once(plain_url, target, digest, timeout)
            log.info("downloaded model", extra={"url": plain_url, "path": str(target)})
            return target
        except (httpx.TransportError, _Retryable) as err:
            last = err
            log.warning(
                "download failed, retrying" if attempt < attempts else "download failed",
                extra={"url": plain_url, "attempt": attempt, "error": str(err)},
            )
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
    raise SourceError(f"downloading {plain_url} failed after {attempts} attempts: {last}")


def _fragment_digest(fragment: str, url: str) -> str | None:
    if not fragment:
        return None
    match = re.fullmatch(r"sha256=([0-9a-fA-F]{64})", fragment)
    if match is None:
        raise SourceError(f"{url}: the only URL fragment understood is #sha256=<64 hex digits>")
    return match[1].lower()


def _download_once(url: str, target: Path, digest: str | None, timeout: float) -> None:
    with httpx.stream("GET", url, follow_redirects=True, timeout=timeout) as response:
        status = response.status_code
        if status in (408, 429) or status >= 500:
            raise _Retryable(f"HTTP {status}")
        if status >= 400:
            raise SourceError(f"downloading {url}: HTTP {status} {response.reason_phrase}")
        length = response.headers.get("content-length")
        expected = int(length) if length and length.isdigit() else None
        hasher = hashlib.sha256()
        with staging(target.parent, folder=False) as tmp:
            with tmp.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                    hasher.update(chunk)
            received = response.num_bytes_downloaded
            if expected is not None and received != expected:
                raise _Retryable(f"received {received} bytes but Content-Length is {expected}")
            if digest is not None and hasher.hexdigest() != digest:
                raise _Retryable(f"sha256 is {hasher.hexdigest()}, expected {digest}")
            os.replace(tmp, target)


def _fetch_s3(uri: str, cache: Path, attempts: int, backoff: float) -> Path:
    from sextant_runtime import s3  # noqa: PLC0415 - loads the AWS SDK only for s3://

    try:
        where = s3.S3Location.parse(uri)
        settings = s3.S3Settings.from_env()
        return s3.with_retries(
            where,
            lambda: _download_s3(where, settings, cache, uri),
            attempts=attempts,
            backoff=backoff,
        )
    except s3.S3NotFound as err:
        raise SourceError(f"model not found: {err}") from None
    except s3.S3Error as err:
        raise SourceError(f"model source {uri!r}: {err}") from None


def _download_s3(where: s3.S3Location, settings: s3.S3Settings, cache: Path, uri: str) -> Path:
    from sextant_runtime import s3  # noqa: PLC0415

    fs = settings.filesystem()
    objects = s3.list_objects(fs, where)
    # The names, sizes and ETags name the cache entry: a re-uploaded object is a new entry.
    listing = repr([(o.relative, o.size, o.etag) for o in objects]).encode()
    folder = (
        cache
        / hashlib.sha256(uri.encode()).hexdigest()[:16]
        / hashlib.sha256(listing).hexdigest()[:16]
    )
    target = folder / (_SAFE_NAME.sub("_", PurePosixPath(where.key).name) or "model")
    if target.exists():
        log.info("using cached s3 model", extra={"uri": uri, "path": str(target)})
        return target
    folder.mkdir(parents=True, exist_ok=True)
    if len(objects) == 1 and objects[0].path == where.path:
        s3.copy_object(fs, objects[0], target, where)
    else:
        with staging(folder, folder=True) as partial:
            for obj in objects:
                s3.copy_object(fs, obj, _inside(partial, obj.relative, where), where)
            os.replace(partial, target)
    log.info(
        "downloaded s3 model",
        extra={"uri": uri, "objects": len(objects), "path": str(target)},
    )
    return target


def _inside(root: Path, relative: str, where: s3.S3Location) -> Path:
    """root/relative, refusing keys such as `../x` that would land outside the cache."""
    from sextant_runtime import s3  # noqa: PLC0415

    path = (root / relative).resolve()
    if not relative or not path.is_relative_to(root.resolve()):
        raise s3.S3Error(f"{where}: key {relative!r} would be written outside the model folder")
    return path


def _fetch_registry(
    uri: str, cache: Path, tracking_uri: str | None, attempts: int, backoff: float
) -> FetchedModel:
    from sextant.registry import (  # noqa: PLC0415 - only for models:/ sources
        ModelRef,
        RegistryClient,
        RegistryError,
    )

    tracking = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not tracking:
        raise SourceError(f"{uri} needs the MLflow tracking server: set MLFLOW_TRACKING_URI")
    try:
        ref = ModelRef.parse(uri)
    except ValueError as err:
        raise SourceError(str(err)) from None
    client = RegistryClient(tracking)
    try:
        resolved = client.resolve(ref)
    except RegistryError as err:
        raise SourceError(f"{uri}: {err}") from None
    finally:
        client.close()
    target = cache / "mlflow" / _SAFE_NAME.sub("_", ref.name) / resolved.version
    if target.is_dir():
        log.info("using cached registry model", extra={"uri": uri, "path": str(target)})
        return FetchedModel(target, resolved.version, uri)
    target.parent.mkdir(parents=True, exist_ok=True)
    last: Exception | None = None
    for attempt in range(1, attempts + 1):
        try:
            with staging(target.parent, folder=True) as folder:
                _download_registry(resolved.pinned_uri, folder, tracking)
                os.replace(folder, target)
            log.info(
                "downloaded registry model",
                extra={"uri": uri, "version": resolved.version, "path": str(target)},
            )
            return FetchedModel(target, resolved.version, uri)
        except Exception as err:  # mlflow raises its own exception types, and OSError
            last = err
            log.warning(
                "registry download failed",
                extra={"uri": uri, "attempt": attempt, "error": str(err)},
            )
            if attempt < attempts:
                time.sleep(backoff * 2 ** (attempt - 1))
    raise SourceError(f"downloading {resolved.pinned_uri} failed after {attempts} attempts: {last}")


def _download_registry(pinned_uri: str, staging: Path, tracking_uri: str) -> None:
    import mlflow.artifacts  # noqa: PLC0415 - mlflow is slow to import

    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=pinned_uri, dst_path=str(staging), tracking_uri=tracking_uri
        )
    )
    # Whatever folder mlflow chose inside the staging dir, the model ends at its top.
    if local.resolve() != staging.resolve():
        for item in list(local.iterdir()):
            shutil.move(str(item), staging / item.name)
        local.rmdir()
