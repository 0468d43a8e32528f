"""The whole desired set of children of one ModelDeployment under RollingUpdate."""

from __future__ import annotations

from typing import Any

from sextant_operator.api.modeldeployment import ModelDeploymentSpec
from sextant_operator.render.autoscaling import render_hpa, render_pdb
from sextant_operator.render.context import RenderContext
from sextant_operator.render.deployment import render_deployment
from sextant_operator.render.service import render_service, render_service_monitor

# Every kind the operator may create for a ModelDeployment, as (apiVersion, kind): what
# is owned but no longer desired is deleted, so this list bounds the pruning too.
CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("policy/v1", "PodDisruptionBudget"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
)


def desired_replicas(spec: ModelDeploymentSpec) -> int:
    """spec.replicas, kept inside the autoscaling bounds while an HPA drives it."""
    if spec.autoscaling is None:
        return spec.replicas
    return max(spec.autoscaling.min_replicas, min(spec.replicas, spec.autoscaling.max_replicas))


def desired_children(ctx: RenderContext, *, service_monitors: bool) -> list[dict[str, Any]]:
    """`service_monitors`: whether the monitoring.coreos.com API exists in this cluster."""
    spec = ctx.md.spec
    replicas = desired_replicas(spec)
    children = [render_service(ctx), render_deployment(ctx, "stable", replicas)]
    if spec.autoscaling is not None:
        children.append(render_hpa(ctx, spec.autoscaling))
    max_replicas = spec.autoscaling.max_replicas if spec.autoscaling else replicas
    if max_replicas > 1:
        children.append(render_pdb(ctx))
    if spec.monitoring.service_monitor and service_monitors:
        children.append(render_service_monitor(ctx))
    return children
