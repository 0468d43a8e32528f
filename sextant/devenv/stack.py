"""All local services together, for the demo and for a person exploring by hand."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sextant.devenv.mlflow_server import LocalMlflow
from sextant.devenv.prometheus import LocalPrometheus
from sextant.devenv.redis import LocalRedis

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalStack:
    redis: LocalRedis
    prometheus: LocalPrometheus
    mlflow: LocalMlflow

    def endpoints(self) -> dict[str, str]:
        return {
            "Redis": self.redis.url,
            "Prometheus": self.prometheus.url,
            "MLflow": self.mlflow.url,
        }


@contextlib.contextmanager
def local_stack(workdir: Path, *, mlflow_host: str = "127.0.0.1") -> Iterator[LocalStack]:
    """Start Redis, Prometheus and MLflow under `workdir`; stop all of them on exit."""
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(LocalRedis(workdir / "redis"))
        log.info("Redis ready at %s", redis.url)
        prometheus = stack.enter_context(LocalPrometheus(workdir / "prometheus"))
        log.info("Prometheus ready at %s", prometheus.url)
        mlflow = stack.enter_context(LocalMlflow(workdir / "mlflow", host=mlflow_host))
        log.info("MLflow ready at %s", mlflow.url)
        yield LocalStack(redis=redis, prometheus=prometheus, mlflow=mlflow)
