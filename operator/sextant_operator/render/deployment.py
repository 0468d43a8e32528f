"""The Deployment that runs `sextant serve` for one track (stable, canary, ...) of a model."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from sextant import serving
from sextant_operator import labels
from sextant_operator.render import runtime_contract as rc
from sextant_operator.render.context import RenderContext
from sextant_operator.render.s3env import s3_env
from sextant_operator.render.scheduling import gpu_limits, pod_scheduling

# SIGTERM reaches the runtime only after preStop; by then the pod has left the Service's
# endpoints. The runtime then keeps serving DRAIN_SECONDS more with `Connection: close`,
# so keep-alive clients move to other pods, and finishes what is queued. Each pod of a
# rollout pays preStop + drain, so both stay short; the rest of the grace period covers
# the queued work.
PRE_STOP_SLEEP_SECONDS = 5
DRAIN_SECONDS = 10
FINISH_SECONDS = 15
TERMINATION_GRACE_SECONDS = PRE_STOP_SLEEP_SECONDS + DRAIN_SECONDS + FINISH_SECONDS

# A runtime with no resources set still gets a scheduling request, so that the HPA's CPU
# utilization has a denominator and the scheduler does not pack pods blindly.
DEFAULT_REQUESTS = {"cpu": "1", "memory": "2Gi"}

_WRITABLE_DIRS = {"tmp": "/tmp", "model-cache": rc.MODEL_CACHE_DIR}


def deployment_name(ctx: RenderContext, track: str) -> str:
    return ctx.name if track == "stable" else f"{ctx.name}-{track}"


def render_deployment(ctx: RenderContext, track: str, replicas: int) -> dict[str, Any]:
    name = deployment_name(ctx, track)
    owner = labels.owner_labels(ctx.name)
    pod_labels = {
        **owner,
        labels.TRACK: track,
        labels.MODEL_VERSION: labels.version_value(ctx.artifact.version),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": ctx.metadata(name, {**owner, labels.TRACK: track}),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels.track_selector(ctx.name, track)},
            # Never drop below the serving capacity during an update; add one pod at a time.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": _pod_spec(ctx, track),
            },
        },
    }


def _pod_spec(ctx: RenderContext, track: str) -> dict[str, Any]:
    volumes, mounts = _volumes(ctx)
    spec: dict[str, Any] = {
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
        "securityContext": rc.pod_security_context(),
        "containers": [_container(ctx, track, mounts)],
        "volumes": volumes,
    }
    spec.update(pod_scheduling(ctx.md.spec))
    return spec


def _container(ctx: RenderContext, track: str, mounts: list[dict[str, Any]]) -> dict[str, Any]:
    spec = ctx.md.spec

    def get(path: str) -> dict[str, Any]:
        return {"httpGet": {"path": path, "port": "http"}}

    return {
        "name": "runtime",
        "image": spec.runtime.image or ctx.settings.runtime_image,
        "args": ["serve", rc.serve_source(ctx.artifact.source), "--name", ctx.name],
        "env": _env(ctx, track),
        "ports": [{"name": "http", "containerPort": rc.HTTP_PORT, "protocol": "TCP"}],
        # Model download and warm-up can take minutes: startup covers it, liveness follows.
        "startupProbe": {**get(rc.LIVE_PATH), "periodSeconds": 5, "failureThreshold": 120},
        "readinessProbe": {**get(rc.READY_PATH), "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {**get(rc.LIVE_PATH), "periodSeconds": 10, "failureThreshold": 6},
        "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_SLEEP_SECONDS}}},
        "resources": _resources(ctx),
        "securityContext": rc.container_security_context(),
        "volumeMounts": mounts,
    }


def _resources(ctx: RenderContext) -> dict[str, Any]:
    user = ctx.md.spec.resources
    requests: dict[str, Any] = dict(user.requests) or dict(DEFAULT_REQUESTS)
    limits: dict[str, Any] = dict(user.limits)
    limits.update(gpu_limits(ctx.md.spec.gpu))
    resources: dict[str, Any] = {"requests": requests}
    if limits:
        resources["limits"] = limits
    return resources


def _env(ctx: RenderContext, track: str) -> list[dict[str, Any]]:
    """The rendered variables, then the user's; a name the user sets replaces ours (env is
    a list map keyed by name: server-side apply rejects a name given twice)."""
    user = _user_env(ctx)
    theirs = {entry["name"] for entry in user}
    ours = [*rc.runtime_env(ctx, track), *_sizing_env(ctx), *_s3_env(ctx)]
    return [*(entry for entry in ours if entry["name"] not in theirs), *user]


def _sizing_env(ctx: RenderContext) -> list[dict[str, Any]]:
    """What the pod spec allows the runtime, told to the runtime (the user's env wins).

    Threads follow the CPU limit (else the request), rounded up: a backend that sizes its
    thread pool from the node's cores instead thrashes under a CFS quota. The drain wait is
    the one the termination grace period is sized for."""
    env = [{"name": serving.DRAIN_SECONDS.env, "value": str(DRAIN_SECONDS)}]
    resources = _resources(ctx)
    cpu = resources.get("limits", {}).get("cpu") or resources["requests"].get("cpu")
    if cpu is not None:
        env.append({"name": serving.THREADS.env, "value": str(max(1, cpu_cores(cpu)))})
    return env


_SUFFIXES = {
    **{f"{p}i": Decimal(1024) ** power for power, p in enumerate("KMGTPE", 1)},
    **{p: Decimal(1000) ** power for power, p in enumerate("kMGTPE", 1)},
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
}


def cpu_cores(quantity: str | int) -> int:
    """A CPU quantity (resource.Quantity: "500m", "2", "1.5", "1e3", 4) in cores, rounded up."""
    text = str(quantity).strip()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if text.endswith(suffix):
            return math.ceil(Decimal(text[: -len(suffix)]) * _SUFFIXES[suffix])
    return math.ceil(Decimal(text))


def _s3_env(ctx: RenderContext) -> list[dict[str, Any]]:
    """spec.model.s3 as the AWS variables of the runtime (only for an s3:// artifact)."""
    return s3_env(ctx.md.spec.model.s3, ctx.artifact.source)


def _user_env(ctx: RenderContext) -> list[dict[str, Any]]:
    return [
        env.model_dump(by_alias=True, exclude_none=True, mode="json")
        for env in ctx.md.spec.runtime.env
    ]


def _volumes(ctx: RenderContext) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volumes: list[dict[str, Any]] = [{"name": n, "emptyDir": {}} for n in _WRITABLE_DIRS]
    mounts: list[dict[str, Any]] = [
        {"name": n, "mountPath": path} for n, path in _WRITABLE_DIRS.items()
    ]
    claim = rc.pvc_claim(ctx.artifact.source)
    if claim is not None:
        volumes.append(
            {"name": "model", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        )
        mounts.append({"name": "model", "mountPath": rc.pvc_mount_path(claim), "readOnly": True})
    return volumes, mounts
