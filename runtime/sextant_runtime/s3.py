"""Objects in S3 or any S3-compatible store (MinIO, Ceph RGW, versitygw), streamed to files.

Settings come from the standard AWS variables, so a pod gets them as plain env (the
operator renders them from spec.model.s3): the endpoint from AWS_ENDPOINT_URL_S3 or
AWS_ENDPOINT_URL (AWS itself when unset), the region from AWS_REGION or
AWS_DEFAULT_REGION (us-east-1), the credentials from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), else the AWS SDK's own chain (web
identity, config files). pyarrow's S3 filesystem does the protocol: it is already in the
runtime image for the drift and feature tables, so no second S3 client is shipped.

Errors name the bucket and key and say which kind they are: not found and access denied
are final; an unreachable endpoint or a 5xx is retried with backoff by the callers.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

from sextant_runtime.staging import staging

if TYPE_CHECKING:
    from pyarrow.fs import S3FileSystem

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_REGION = "us-east-1"
# Each read of an S3 input stream is one ranged GET: big enough to keep requests few,
# small enough that a multi-GB model never sits in memory.
CHUNK_BYTES = 8 << 20
CONNECT_TIMEOUT_S = 5.0
REQUEST_TIMEOUT_S = 60.0

_ACCESS = re.compile(
    r"ACCESS_DENIED|INVALID_ACCESS_KEY_ID|SIGNATURE_DOES_NOT_MATCH|AccessDenied|"
    r"InvalidAccessKeyId|SignatureDoesNotMatch|HTTP status 40[13]\b|"
    # versitygw (and some other gateways) name an unknown key id in their own words.
    r"UserNotFound|[Nn]o user exists with the provided access key"
)
# Any other 4xx but timeouts and throttling is the request's fault: retrying cannot help.
_CLIENT_ERROR = re.compile(r"HTTP status 4(?!08|29)\d\d\b")
_NO_BUCKET = re.compile(r"NO_SUCH_BUCKET|NoSuchBucket|[Bb]ucket '?[^ ]*'? does not exist")


class S3Error(RuntimeError):
    """An S3 object could not be read; the message names the bucket, key and cause."""


class S3NotFound(S3Error):
    """No such bucket, key or prefix."""


class S3AccessDenied(S3Error):
    """The store refused the credentials (wrong key, bad signature, no permission)."""


class S3Unavailable(S3Error):
    """The endpoint did not answer, or answered 5xx: worth retrying."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str  # may be empty (the whole bucket) or a prefix

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise S3Error(f"{uri}: expected s3://BUCKET/KEY")
        if parts.query or parts.fragment:
            raise S3Error(f"{uri}: s3:// URIs take no ?query or #fragment")
        return cls(parts.netloc, parts.path.lstrip("/"))

    @property
    def path(self) -> str:
        """bucket/key, as pyarrow's filesystem names it."""
        return f"{self.bucket}/{self.key}".rstrip("/")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class S3Settings:
    endpoint: str | None  # scheme://host[:port], None for AWS itself
    region: str
    access_key: str | None
    secret_key: str | None
    session_token: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> S3Settings:
        env = os.environ if env is None else env
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL") or None
        if endpoint is not None:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                name = (
                    "AWS_ENDPOINT_URL_S3" if env.get("AWS_ENDPOINT_URL_S3") else "AWS_ENDPOINT_URL"
                )
                raise S3Error(f"{name}={endpoint!r}: expected http(s)://HOST[:PORT]")
        access = env.get("AWS_ACCESS_KEY_ID") or None
        secret = env.get("AWS_SECRET_ACCESS_KEY") or None
        if (access is None) != (secret is None):
            missing = "AWS_SECRET_ACCESS_KEY" if secret is None else "AWS_ACCESS_KEY_ID"
            raise S3Error(f"{missing} is not set: S3 credentials need both keys")
        return cls(
            endpoint=endpoint,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            access_key=access,
            secret_key=secret,
            session_token=env.get("AWS_SESSION_TOKEN") or None,
        )

    def filesystem(self) -> S3FileSystem:
        from pyarrow.fs import (  # noqa: PLC0415 - the C++ AWS SDK loads only for s3://
            AwsStandardS3RetryStrategy,
            S3FileSystem,
        )

        endpoint = urlsplit(self.endpoint) if self.endpoint else None
        return S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            session_token=self.session_token,
            region=self.region,
            scheme=endpoint.scheme if endpoint else "https",
            endpoint_override=endpoint.netloc if endpoint else None,
            connect_timeout=CONNECT_TIMEOUT_S,
            request_timeout=REQUEST_TIMEOUT_S,
            # One try per call: the callers retry a whole download with their own backoff,
            # so an unreachable endpoint fails fast and says so.
            retry_strategy=AwsStandardS3RetryStrategy(max_attempts=1),
        )


@dataclass(frozen=True)
class S3Object:
    path: str  # bucket/key
    relative: str  # below the requested prefix; the basename for a single object
    size: int
    etag: str  # changes whenever the content does: the cache key


def list_objects(fs: S3FileSystem, where: S3Location) -> list[S3Object]:
    """The object at `where`, or every object below it when it is a prefix."""
    from pyarrow.fs import FileSelector, FileType  # noqa: PLC0415

    if not where.key:
        raise S3Error(f"{where}: give a key or prefix inside the bucket, not the whole bucket")
    info = _call(where, "reading", lambda: fs.get_file_info(where.path))
    if info.type == FileType.File:
        name = PurePosixPath(where.key).name
        return [S3Object(info.path, name, info.size or 0, _etag(fs, info.path, where))]
    if info.type == FileType.Directory:
        selector = FileSelector(where.path, recursive=True)
        found = _call(where, "listing", lambda: fs.get_file_info(selector))
        objects = [
            S3Object(
                i.path,
                i.path[len(where.path) :].lstrip("/"),
                i.size or 0,
                _etag(fs, i.path, where),
            )
            for i in sorted(found, key=lambda i: str(i.path))
            if i.type == FileType.File
        ]
        if objects:
            return objects
    raise S3NotFound(f"{where}: no such key or prefix in bucket {where.bucket!r}")


def _etag(fs: S3FileSystem, path: str, where: S3Location) -> str:
    """The object's ETag from a HEAD request (pyarrow's listings do not carry it)."""
    handle = _call(where, "reading", lambda: fs.open_input_file(path))
    with handle:
        metadata = handle.metadata()
    return bytes(metadata.get("ETag", b"")).decode(errors="replace").strip('"')


def copy_object(fs: S3FileSystem, obj: S3Object, target: Path, where: S3Location) -> None:
    """Stream one object to `target` in CHUNK_BYTES pieces; the file appears only whole."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with staging(target.parent, folder=False) as tmp:
        with tmp.open("wb") as out:
            stream = _call(where, "opening", lambda: fs.open_input_stream(obj.path))
            with stream:
                while chunk := _call(where, "reading", lambda: stream.read(CHUNK_BYTES)):
                    out.write(chunk)
        received = tmp.stat().st_size
        if received != obj.size:
            raise S3Unavailable(f"{where}: received {received} bytes of {obj.size}")
        os.replace(tmp, target)


def download_object(
    uri: str,
    target: Path,
    *,
    settings: S3Settings | None = None,
    attempts: int = 3,
    backoff: float = 0.5,
) -> Path:
    """Stream the single object at `uri` to `target`, retrying an unavailable endpoint."""
    where = S3Location.parse(uri)
    config = settings or S3Settings.from_env()

    def once() -> Path:
        fs = config.filesystem()
        objects = list_objects(fs, where)
        if len(objects) != 1 or objects[0].path != where.path:
            raise S3Error(f"{where}: is a prefix of {len(objects)} objects; name one object")
        copy_object(fs, objects[0], target, where)
        return target

    return with_retries(where, once, attempts=attempts, backoff=backoff)


def with_retries(where: S3Location, action: Callable[[], T], *, attempts: int, backoff: float) -> T:
    """Run `action`, again after a pause while the store is unavailable."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except S3Unavailable as err:
            if attempt == attempts:
                raise S3Unavailable(f"{err} (gave up after {attempts} attempts)") from None
            log.warning(
                "s3 read failed, retrying",
                extra={"uri": str(where), "attempt": attempt, "error": str(err)},
            )
            time.sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")  # attempts >= 1


def _call(where: S3Location, doing: str, action: Callable[[], T]) -> T:
    """Run one pyarrow call; its OSError becomes the S3Error kind its message says."""
    try:
        return action()
    except FileNotFoundError:
        raise S3NotFound(
            f"{where}: no such key in bucket {where.bucket!r} (or no such bucket)"
        ) from None
    except OSError as err:
        raise classify(where, doing, str(err)) from None


def classify(where: S3Location, doing: str, message: str) -> S3Error:
    """The S3Error for an error text of the AWS SDK (as pyarrow passes it on)."""
    detail = message.strip().splitlines()[0] if message.strip() else "unknown error"
    if _ACCESS.search(message):
        return S3AccessDenied(
            f"{where}: access denied {doing} bucket {where.bucket!r} key {where.key!r}: "
            f"check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket policy ({detail})"
        )
    if _NO_BUCKET.search(message):
        return S3NotFound(f"{where}: no such bucket {where.bucket!r} ({detail})")
    if _CLIENT_ERROR.search(message):
        return S3Error(f"{where}: the S3 endpoint refused the request while {doing} ({detail})")
    return S3Unavailable(f"{where}: S3 endpoint unavailable while {doing} ({detail})")
