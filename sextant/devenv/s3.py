"""A throwaway S3-compatible server on a free loopback port: versitygw over a directory.

versitygw (Apache-2.0) is a real S3 gateway: it checks SigV4 signatures, answers the S3
XML errors (NoSuchKey, AccessDenied, ...) and serves ranged GETs, so the runtime's S3
reader is tested against the wire protocol, not a mock. It is built once from the Go
module proxy into ~/.cache/sextant/tools/ (`python -m sextant.devenv.s3 build`, which
`make setup` runs) and started by the tests' fixture with its own keys.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sextant.devenv.process import (
    ManagedProcess,
    ServiceError,
    StartStop,
    free_port,
)

if TYPE_CHECKING:
    from pyarrow.fs import S3FileSystem

log = logging.getLogger(__name__)

VERSITYGW_MODULE = "github.com/versity/versitygw"
VERSITYGW_VERSION = "v1.8.0"
ACCESS_KEY = "sextant-test-access"
SECRET_KEY = "sextant-test-secret-key"  # a throwaway loopback server's key
REGION = "us-east-1"


def tools_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sextant" / "tools" / f"versitygw-{VERSITYGW_VERSION}"


def versitygw_path() -> Path:
    return tools_dir() / "versitygw"


def build_versitygw() -> Path:
    """`go install` the pinned versitygw into the cache unless it is already there."""
    from sextant.devenv.cluster.tools import _Go, _locked, hack_dir  # noqa: PLC0415

    target = versitygw_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / ".build.lock"):
        if target.is_file():
            return target
        log.info("building versitygw %s into %s", VERSITYGW_VERSION, target.parent)
        go = _Go(hack_dir(), log.info)
        module = f"{VERSITYGW_MODULE}/cmd/versitygw@{VERSITYGW_VERSION}"
        go.install(module, target.parent, "-s -w")
    return target


class LocalS3(StartStop):
    """versitygw's posix backend on 127.0.0.1: buckets are folders of `workdir/data`,
    object metadata lives in a sidecar folder (no xattrs needed from the filesystem)."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        access_key: str = ACCESS_KEY,
        secret_key: str = SECRET_KEY,
    ) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.access_key = access_key
        self.secret_key = secret_key
        binary = versitygw_path()
        if not binary.is_file():
            raise ServiceError(
                f"versitygw is not built ({binary} is missing): run `make setup` "
                "(or `.venv/bin/python -m sextant.devenv.s3 build`)"
            )
        self.process = ManagedProcess(
            "versitygw",
            [
                str(binary),
                "--port",
                f"127.0.0.1:{self.port}",
                "--region",
                REGION,
                "--health",
                "/health",
                "--quiet",
                "posix",
                "--sidecar",
                str(workdir / "meta"),
                str(workdir / "data"),
            ],
            log_path=workdir / "versitygw.log",
            # The root keys travel in the environment, not in `ps` output.
            env={**os.environ, "ROOT_ACCESS_KEY": access_key, "ROOT_SECRET_KEY": secret_key},
        )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """The standard AWS variables a client of this server needs."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
        }

    def start(self, timeout: float = 20.0) -> None:
        for folder in ("data", "meta"):
            (self.workdir / folder).mkdir(parents=True, exist_ok=True)
        self.process.start()
        self.process.wait_http_ok(f"{self.endpoint}/health", timeout, what="answering /health")

    def stop(self) -> None:
        self.process.stop()

    def filesystem(self) -> S3FileSystem:
        """A pyarrow S3 client with the root keys, allowed to create buckets."""
        from pyarrow.fs import S3FileSystem  # noqa: PLC0415 - dev and runtime extras only

        return S3FileSystem(
            access_key=self.access_key,
            secret_key=self.secret_key,
            region=REGION,
            scheme="http",
            endpoint_override=f"127.0.0.1:{self.port}",
            allow_bucket_creation=True,
        )

    def create_bucket(self, bucket: str) -> None:
        self.filesystem().create_dir(bucket)

    def put(self, bucket: str, key: str, data: bytes | Path) -> str:
        """Upload `data` (bytes, or a file streamed) as s3://bucket/key; returns that URI."""
        fs = self.filesystem()
        with fs.open_output_stream(f"{bucket}/{key}") as out:
            if isinstance(data, Path):
                with data.open("rb") as source:
                    while chunk := source.read(1 << 20):
                        out.write(chunk)
            else:
                out.write(data)
        return f"s3://{bucket}/{key}"


def main(argv: list[str]) -> int:
    if argv != ["build"]:
        print("usage: python -m sextant.devenv.s3 build", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(build_versitygw())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
