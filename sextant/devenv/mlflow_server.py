"""A throwaway MLflow tracking server: sqlite store, local artifact root, served artifacts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

from sextant.devenv.process import ManagedProcess, StartStop, free_port


class LocalMlflow(StartStop):
    """`mlflow server` on a free port of loopback (or of `host`).

    Artifacts are proxied by the server (`mlflow-artifacts:` URIs), as in a real
    deployment, so clients need only the tracking URI, never the artifact path.
    """

    def __init__(self, workdir: Path, port: int | None = None, host: str = "127.0.0.1") -> None:
        self.workdir = workdir
        self.port = port or free_port()
        # A host address of the local cluster's real nodes lets their pods download models.
        self.host = host
        env = {**os.environ, "MLFLOW_TRACKING_URI": ""}
        self.process = ManagedProcess(
            "mlflow-server",
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{workdir / 'mlflow.db'}",
                "--artifacts-destination",
                str(workdir / "artifacts"),
                "--host",
                host,
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            log_path=workdir / "mlflow.log",
            cwd=workdir,
            env=env,
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 120.0) -> None:
        # The first start creates the sqlite schema (alembic migrations): give it time.
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process.start()
        self.process.wait_until(self._is_healthy, timeout, what="healthy (/health)")

    def stop(self) -> None:
        self.process.stop()

    def _is_healthy(self) -> bool:
        return httpx.get(f"{self.url}/health", timeout=2).status_code == 200
