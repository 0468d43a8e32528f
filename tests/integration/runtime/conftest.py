"""`sextant serve` started for real, as a child process on a free loopback port."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sextant.devenv.process import ManagedProcess, free_port


class RuntimeServer:
    """One `sextant serve` process; `url` is its base URL once ready."""

    def __init__(
        self,
        workdir: Path,
        source: str | Path,
        name: str,
        args: list[str],
        env: dict[str, str] | None,
    ) -> None:
        self.name = name
        self.port = free_port()
        self.log_path = workdir / f"serve-{name}-{self.port}.log"
        argv = [sys.executable, "-m", "sextant", "serve", str(source), "--name", name]
        argv += [
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--cache-dir",
            str(workdir / "cache"),
        ]
        argv += ["--drain-seconds", "0"]  # tests that drain pass their own
        self.process = ManagedProcess(
            f"sextant-serve-{name}",
            argv + args,
            log_path=self.log_path,
            env={**os.environ, **(env or {})},
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/{self.name}/infer"

    def start(self, timeout: float = 120.0) -> None:
        self.process.start()
        self.process.wait_until(self._ready, timeout, what="ready (/v2/health/ready)")

    def _ready(self) -> bool:
        return httpx.get(f"{self.url}/v2/health/ready", timeout=2).status_code == 200

    def infer(self, inputs: list[dict[str, Any]], **extra: Any) -> httpx.Response:
        return httpx.post(self.infer_url, json={"inputs": inputs, **extra}, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.process.stop()


Serve = Callable[..., RuntimeServer]


def _serve_factory(workdir: Path) -> Iterator[Serve]:
    started: list[RuntimeServer] = []

    def serve(
        source: str | Path,
        *args: str,
        name: str = "model",
        env: dict[str, str] | None = None,
        wait: bool = True,
    ) -> RuntimeServer:
        server = RuntimeServer(workdir, source, name, list(args), env)
        started.append(server)
        if wait:
            server.start()
        else:
            server.process.start()
        return server

    yield serve
    for server in started:
        server.stop()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start `sextant serve SOURCE ARGS...` and wait for readiness; stopped after the test."""
    yield from _serve_factory(tmp_path)


@pytest.fixture(scope="module")
def serve_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """As `serve`, for servers shared by a module's tests."""
    yield from _serve_factory(tmp_path_factory.mktemp("serve"))
