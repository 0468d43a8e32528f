"""A throwaway Redis server (Debian's redis-server) on a free loopback port."""

from __future__ import annotations

import socket
from pathlib import Path

from sextant.devenv.process import ManagedProcess, StartStop, free_port, require_executable


class LocalRedis(StartStop):
    """redis-server with no persistence, bound to 127.0.0.1, data and log in `workdir`."""

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        binary = require_executable(
            "redis-server", "run `make setup` (Debian package redis-server)"
        )
        self.process = ManagedProcess(
            "redis-server",
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dir",
                str(workdir),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
            ],
            log_path=workdir / "redis.log",
        )

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process.start()
        self.process.wait_until(self._answers_ping, timeout, what="answering PING")

    def stop(self) -> None:
        self.process.stop()

    def _answers_ping(self) -> bool:
        # A raw RESP PING keeps the readiness probe free of client-library state.
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
