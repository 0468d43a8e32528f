"""How the operator talks to the runtime container: port, paths, environment, model mounts.

This is the one place that knows `sextant serve`'s interface from the outside; keep it in
step with sextant_runtime's configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sextant_operator.predictionlog import prediction_log_env
from sextant_operator.render.features import feature_env

if TYPE_CHECKING:
    from sextant_operator.render.context import RenderContext

HTTP_PORT = 8080
READY_PATH = "/v2/health/ready"
LIVE_PATH = "/v2/health/live"
METRICS_PATH = "/metrics"
MODEL_CACHE_DIR = "/var/cache/sextant"
PVC_ROOT = "/mnt/models"
RUNTIME_UID = 65532  # the runtime image's non-root user


def runtime_env(ctx: RenderContext, track: str) -> list[dict[str, Any]]:
    """Serving options and the metric labels (model, version, track) as environment."""
    batching = ctx.md.spec.runtime.batching
    env = {
        "SEXTANT_PORT": str(HTTP_PORT),
        "SEXTANT_DEVICE": ctx.md.spec.runtime.device,
        "SEXTANT_MAX_BATCH_SIZE": str(batching.max_batch_size),
        "SEXTANT_MAX_DELAY_MS": str(batching.max_delay_ms),
        "SEXTANT_MAX_QUEUE_SIZE": str(batching.max_queue_size),
        "SEXTANT_MODEL_VERSION": ctx.artifact.version,
        "SEXTANT_TRACK": track,
        "SEXTANT_CACHE_DIR": MODEL_CACHE_DIR,
    }
    if ctx.md.spec.model.format:
        env["SEXTANT_MODEL_FORMAT"] = ctx.md.spec.model.format
    if ctx.artifact.tracking_uri:
        env["MLFLOW_TRACKING_URI"] = ctx.artifact.tracking_uri
    rendered = [{"name": key, "value": value} for key, value in env.items()]
    return [
        *rendered,
        *prediction_log_env(ctx.md.spec, ctx.settings),
        *feature_env(ctx.md.spec.features, ctx.feature_view, ctx.settings),
    ]


def pvc_claim(uri: str) -> str | None:
    """The claim of a pvc://CLAIM/PATH URI, else None."""
    if not uri.startswith("pvc://"):
        return None
    return uri.removeprefix("pvc://").split("/", 1)[0]


def pvc_mount_path(claim: str) -> str:
    return f"{PVC_ROOT}/{claim}"


def serve_source(uri: str) -> str:
    """What `sextant serve` is given: a pvc:// URI becomes the path where it is mounted."""
    claim = pvc_claim(uri)
    if claim is None:
        return uri
    path = uri.removeprefix(f"pvc://{claim}").lstrip("/")
    return f"{pvc_mount_path(claim)}/{path}"
