"""The Service in front of every runtime pod of a ModelDeployment."""

from __future__ import annotations

from typing import Any

from sextant_operator import labels
from sextant_operator.render import runtime_contract as rc
from sextant_operator.render.context import RenderContext

SERVICE_PORT = 80
METRICS_PORT = 9090


def render_service(ctx: RenderContext) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.metadata(ctx.name, labels.owner_labels(ctx.name)),
        "spec": {
            "type": "ClusterIP",
            "selector": labels.all_pods_selector(ctx.name),
            "ports": [
                {"name": "http", "port": SERVICE_PORT, "targetPort": "http", "protocol": "TCP"},
                # /metrics is served on the same container port; a port of its own lets
                # ServiceMonitors and NetworkPolicies name it.
                {"name": "metrics", "port": METRICS_PORT, "targetPort": "http", "protocol": "TCP"},
            ],
        },
    }


def service_url(ctx: RenderContext) -> str:
    return f"http://{ctx.name}.{ctx.namespace}.svc/v2/models/{ctx.name}"


def render_service_monitor(ctx: RenderContext) -> dict[str, Any]:
    """A Prometheus Operator ServiceMonitor; only rendered where that API exists."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": ctx.metadata(ctx.name, labels.owner_labels(ctx.name)),
        "spec": {
            "selector": {"matchLabels": labels.owner_labels(ctx.name)},
            "endpoints": [{"port": "metrics", "path": rc.METRICS_PATH, "interval": "15s"}],
        },
    }
