"""`sextant operator` as a child process against a local cluster: for tests, demo, benchmarks."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from sextant.devenv.process import ManagedProcess, StartStop, free_port, log_tail


class LocalOperator(StartStop):
    """Runs as whoever `kubeconfig` names; `start()` returns once kopf serves /healthz."""

    def __init__(self, kubeconfig: Path, workdir: Path, args: Sequence[str] = ()) -> None:
        self.log_path = workdir / "operator.log"
        self.liveness_port = free_port()
        argv = [
            sys.executable, "-m", "sextant", "-v", "operator",
            f"--liveness-port={self.liveness_port}", *args,
        ]  # fmt: skip
        self.process = ManagedProcess(
            "sextant-operator",
            argv,
            log_path=self.log_path,
            env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def start(self, timeout: float = 60.0) -> None:
        self.process.start()
        self.process.wait_http_ok(
            f"http://127.0.0.1:{self.liveness_port}/healthz", timeout, what="live (/healthz)"
        )

    def kill(self) -> None:
        """SIGKILL, no clean shutdown: what a crash or an OOM kill does."""
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.stop(grace=1)

    def stop(self) -> None:
        self.process.stop()

    def log(self, lines: int = 60) -> str:
        return log_tail(self.log_path, lines)
