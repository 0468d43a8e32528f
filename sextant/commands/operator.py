"""`sextant operator`: run the Kubernetes operator (needs the `operator` extra)."""

from __future__ import annotations

import click


@click.command("operator")
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    envvar="SEXTANT_NAMESPACES",
    help="Watch only this namespace (repeatable). Default: all namespaces.",
)
@click.option(
    "--runtime-image",
    envvar="SEXTANT_RUNTIME_IMAGE",
    default=None,
    help="Image of the runtime pods when a ModelDeployment names none.",
)
@click.option(
    "--mlflow-tracking-uri",
    envvar="SEXTANT_MLFLOW_TRACKING_URI",
    help="MLflow tracking server for spec.model.registry without trackingUri.",
)
@click.option(
    "--prometheus-url", envvar="SEXTANT_PROMETHEUS_URL", help="Prometheus for rollout analysis."
)
@click.option("--redis-url", envvar="SEXTANT_REDIS_URL", help="Redis for FeatureViews.")
@click.option(
    "--resync-seconds",
    envvar="SEXTANT_RESYNC_SECONDS",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="How often registry aliases are re-resolved and children re-checked.",
)
@click.option(
    "--workers",
    envvar="SEXTANT_WORKERS",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="ModelDeployments reconciled at once (one object is never reconciled twice at once).",
)
@click.option(
    "--liveness-port",
    envvar="SEXTANT_LIVENESS_PORT",
    type=int,
    default=8081,
    show_default=True,
    help="Serve GET /healthz on this port (0: off).",
)
@click.option(
    "--metrics-port",
    envvar="SEXTANT_METRICS_PORT",
    type=click.IntRange(min=0, max=65535),
    default=0,
    show_default=True,
    help="Serve GET /metrics (Prometheus: the DriftMonitor gauges) on this port (0: off).",
)
@click.option(
    "--peering",
    envvar="SEXTANT_PEERING",
    default=None,
    help="kopf peering name: run several replicas, one active at a time. Default: standalone.",
)
def operator_command(
    *,
    namespaces: tuple[str, ...],
    runtime_image: str | None,
    mlflow_tracking_uri: str | None,
    prometheus_url: str | None,
    redis_url: str | None,
    resync_seconds: float,
    workers: int,
    liveness_port: int,
    metrics_port: int,
    peering: str | None,
) -> None:
    """Run the Sextant operator against the cluster in KUBECONFIG (or in-cluster)."""
    from sextant_operator.operator_main import run_operator
    from sextant_operator.settings import DEFAULT_RUNTIME_IMAGE, OperatorSettings

    settings = OperatorSettings(
        runtime_image=runtime_image or DEFAULT_RUNTIME_IMAGE,
        mlflow_tracking_uri=mlflow_tracking_uri,
        prometheus_url=prometheus_url,
        redis_url=redis_url,
        resync_seconds=resync_seconds,
        workers=workers,
        namespaces=namespaces,
        metrics_port=metrics_port,
    )
    liveness = f"http://0.0.0.0:{liveness_port}/healthz" if liveness_port else None
    run_operator(settings, liveness_endpoint=liveness, peering_name=peering)
