"""The HPA (scaling the ModelDeployment itself) and the PodDisruptionBudget."""

from __future__ import annotations

from typing import Any

from sextant_operator import labels
from sextant_operator.api import API_VERSION
from sextant_operator.api.modeldeployment import Autoscaling
from sextant_operator.render.context import RenderContext

INFLIGHT_METRIC = "sextant_inference_inflight_requests"


def render_hpa(ctx: RenderContext, autoscaling: Autoscaling) -> dict[str, Any]:
    """An autoscaling/v2 HPA whose target is the ModelDeployment's scale subresource.

    Scaling the ModelDeployment (not its Deployment) keeps one owner of spec.replicas
    while a canary or blue-green rollout runs two Deployments.
    """
    # The CRD requires at least one of the two targets.
    metrics: list[dict[str, Any]] = []
    cpu = autoscaling.target_cpu_utilization
    if cpu is not None:
        metrics.append(
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": cpu},
                },
            }
        )
    if autoscaling.target_inflight_requests is not None:
        metrics.append(
            {
                "type": "Pods",
                "pods": {
                    "metric": {"name": INFLIGHT_METRIC},
                    "target": {
                        "type": "AverageValue",
                        "averageValue": str(autoscaling.target_inflight_requests),
                    },
                },
            }
        )
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": ctx.metadata(ctx.name, labels.owner_labels(ctx.name)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": API_VERSION,
                "kind": "ModelDeployment",
                "name": ctx.name,
            },
            "minReplicas": autoscaling.min_replicas,
            "maxReplicas": autoscaling.max_replicas,
            "metrics": metrics,
        },
    }


def render_pdb(ctx: RenderContext) -> dict[str, Any]:
    """At most one runtime pod voluntarily evicted at a time (node drains, upgrades)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": ctx.metadata(ctx.name, labels.owner_labels(ctx.name)),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": labels.all_pods_selector(ctx.name)},
        },
    }
