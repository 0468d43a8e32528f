"""Operator settings: from `sextant operator` flags or SEXTANT_* environment variables."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_RUNTIME_IMAGE = "ghcr.io/sextant-dev/sextant-runtime:0.1.0"


@dataclass(frozen=True)
class OperatorSettings:
    runtime_image: str = DEFAULT_RUNTIME_IMAGE
    mlflow_tracking_uri: str | None = None
    prometheus_url: str | None = None
    redis_url: str | None = None
    # How often registry aliases are re-resolved, and children re-checked for drift.
    resync_seconds: float = 30.0
    workers: int = 4  # ModelDeployments reconciled in parallel
    namespaces: tuple[str, ...] = field(default_factory=tuple)
    cluster_domain: str = "cluster.local"
    # GET /metrics (Prometheus text: the drift gauges) on this port; 0: off.
    metrics_port: int = 0
