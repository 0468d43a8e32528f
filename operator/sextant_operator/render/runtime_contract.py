"""How the operator talks to the runtime container: port, paths, environment, model mounts.

This is the one place that knows `sextant serve`'s interface from the outside; variable
names and defaults come from `sextant.serving`, which `sextant serve` reads too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sextant import serving
from sextant_operator.predictionlog import prediction_log_env
from sextant_operator.render.features import feature_env
from sextant_operator.rollout.duration import seconds

if TYPE_CHECKING:
    from sextant_operator.api.modeldeployment import Runtime
    from sextant_operator.render.context import RenderContext
    from sextant_operator.settings import OperatorSettings

HTTP_PORT = 8080
READY_PATH = "/v2/health/ready"
LIVE_PATH = "/v2/health/live"
METRICS_PATH = "/metrics"
MODEL_CACHE_DIR = "/var/cache/sextant"
PVC_ROOT = "/mnt/models"
RUNTIME_UID = 65532  # the runtime image's non-root user


def pod_security_context() -> dict[str, Any]:
    """Pods of the runtime image (servers and jobs): non-root as the image's user, the
    runtime's default seccomp profile; Pod Security "restricted" admits them."""
    return {
        "runAsNonRoot": True,
        "runAsUser": RUNTIME_UID,
        "runAsGroup": RUNTIME_UID,
        "fsGroup": RUNTIME_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    """Its containers: no privilege escalation, no capabilities, a read-only root."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }


def runtime_env(ctx: RenderContext, track: str) -> list[dict[str, Any]]:
    """Serving options and the metric labels (model, version, track) as environment."""
    runtime = ctx.md.spec.runtime
    batching = runtime.batching
    env = {
        serving.PORT.env: str(HTTP_PORT),
        serving.DEVICE.env: runtime.device,
        serving.MAX_BATCH_SIZE.env: str(batching.max_batch_size),
        serving.MAX_DELAY_MS.env: str(batching.max_delay_ms),
        serving.MAX_QUEUE_SIZE.env: str(batching.max_queue_size),
        serving.VERSION.env: ctx.artifact.version,
        serving.TRACK.env: track,
        serving.CACHE_DIR.env: MODEL_CACHE_DIR,
        **optimize_env(runtime),
        **cache_env(runtime, ctx.settings),
    }
    if ctx.md.spec.model.format:
        env[serving.FORMAT.env] = ctx.md.spec.model.format
    if ctx.artifact.tracking_uri:
        env[serving.TRACKING_URI.env] = ctx.artifact.tracking_uri
    log_env = prediction_log_env(ctx.md.spec, ctx.settings)
    if log_env or serving.RESPONSE_CACHE_URL.env in env:
        # Redis keys are scoped NAMESPACE/NAME: same-named models never share a log or cache.
        env[serving.NAMESPACE.env] = ctx.md.metadata.namespace or ""
    rendered = [{"name": key, "value": value} for key, value in env.items()]
    return [
        *rendered,
        *log_env,
        *feature_env(ctx.md.spec.features, ctx.feature_view, ctx.settings),
    ]


def optimize_env(runtime: Runtime) -> dict[str, str]:
    """spec.runtime.optimize as variables; only what differs from `sextant serve`'s defaults,
    so pods of ModelDeployments that do not set it keep their template (no restart)."""
    optimize = runtime.optimize
    env: dict[str, str] = {}
    if optimize.graph_optimization != serving.GRAPH_OPTIMIZATION.default:
        env[serving.GRAPH_OPTIMIZATION.env] = optimize.graph_optimization
    if optimize.quantize != serving.QUANTIZE.default:
        env[serving.QUANTIZE.env] = optimize.quantize
    return env


def cache_env(runtime: Runtime, settings: OperatorSettings) -> dict[str, str]:
    """spec.runtime.cache as variables; none when it is off or no Redis URL is configured
    (the ResponseCache condition says so: see sextant_operator.responsecache)."""
    if not runtime.cache.enabled or not settings.redis_url:
        return {}
    return {
        serving.RESPONSE_CACHE_URL.env: settings.redis_url,
        serving.RESPONSE_CACHE_TTL_SECONDS.env: repr(seconds(runtime.cache.ttl)),
    }


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
