"""A throwaway Prometheus (Debian's prometheus) that scrapes targets registered at run time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import yaml

from sextant.devenv.process import ManagedProcess, StartStop, free_port, require_executable


class LocalPrometheus(StartStop):
    """Prometheus on a free loopback port with a fast scrape interval.

    Targets come from a file_sd JSON file: `add_target` rewrites it and Prometheus
    picks the change up through inotify, without a restart.

    `host` is the address it listens on (pods reach the real node's host at 172.29.0.1).
    Debian's build has no kubernetes_sd (Debian drops that discovery), so whoever scrapes
    pods adds them as targets, with `namespace` and `pod` labels.
    """

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        scrape_interval: str = "1s",
        *,
        host: str = "127.0.0.1",
    ) -> None:
        self.workdir = workdir
        self.host = host
        self.port = port or free_port()
        self.scrape_interval = scrape_interval
        self._targets: dict[str, dict[str, str]] = {}
        self._targets_file = workdir / "targets.json"
        binary = require_executable("prometheus", "run `make setup` (Debian package prometheus)")
        self.process = ManagedProcess(
            "prometheus",
            [
                binary,
                f"--config.file={workdir / 'prometheus.yml'}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={host}:{self.port}",
                "--web.enable-lifecycle",
                "--log.level=warn",
            ],
            log_path=workdir / "prometheus.log",
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_targets()
        config = {
            "global": {"scrape_interval": self.scrape_interval, "evaluation_interval": "1s"},
            "scrape_configs": [
                {
                    "job_name": "sextant",
                    "file_sd_configs": [{"files": [str(self._targets_file)]}],
                }
            ],
        }
        (self.workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.process.start()
        self.process.wait_until(self._is_ready, timeout, what="ready (/-/ready)")

    def stop(self) -> None:
        self.process.stop()

    def add_target(self, address: str, **labels: str) -> None:
        """Scrape `host:port` from now on, with extra target labels."""
        self._targets[address] = labels
        self._write_targets()

    def remove_target(self, address: str) -> None:
        self._targets.pop(address, None)
        self._write_targets()

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant PromQL query; the `result` vector of the HTTP API's answer."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        response.raise_for_status()
        body = response.json()
        if body.get("status") != "success":
            raise RuntimeError(f"PromQL query {promql!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def _write_targets(self) -> None:
        groups = [{"targets": [addr], "labels": labels} for addr, labels in self._targets.items()]
        # Write then rename, so Prometheus never reads a half-written file.
        tmp = self._targets_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(groups))
        tmp.replace(self._targets_file)

    def _is_ready(self) -> bool:
        return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
