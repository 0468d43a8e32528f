"""GPU requests and node placement: the user's scheduling fields merged with what GPUs need."""

from __future__ import annotations

from typing import Any

from sextant_operator.api.modeldeployment import Gpu, ModelDeploymentSpec

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
# The taint the NVIDIA GPU operator and most managed clusters put on GPU nodes.
GPU_TOLERATION = {"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}


def gpu_limits(gpu: Gpu | None) -> dict[str, Any]:
    """A MIG profile asks for that slice only, never also for a whole GPU."""
    if gpu is None:
        return {}
    if gpu.mig_profile:
        return {f"nvidia.com/mig-{gpu.mig_profile}": 1}
    return {GPU_RESOURCE: gpu.count}


def pod_scheduling(spec: ModelDeploymentSpec) -> dict[str, Any]:
    """Pod-spec scheduling fields. User values are kept; GPU needs are added to them."""
    user = spec.scheduling
    node_selector = dict(user.node_selector)
    tolerations = [t.model_dump(by_alias=True, exclude_none=True) for t in user.tolerations]
    if spec.gpu is not None:
        if spec.gpu.product:
            node_selector.setdefault(GPU_PRODUCT_LABEL, spec.gpu.product)
        if not any(_tolerates_gpu_taint(t) for t in tolerations):
            tolerations.append(dict(GPU_TOLERATION))
    fields: dict[str, Any] = {
        "nodeSelector": node_selector,
        "tolerations": tolerations,
        "affinity": user.affinity,
        "priorityClassName": user.priority_class_name,
        "runtimeClassName": user.runtime_class_name,
        "topologySpreadConstraints": [
            c.model_dump(by_alias=True, exclude_none=True) for c in user.topology_spread_constraints
        ],
    }
    # Leave out what is empty so server-side apply does not claim fields nobody set.
    return {key: value for key, value in fields.items() if value}


def _tolerates_gpu_taint(toleration: dict[str, Any]) -> bool:
    key = toleration.get("key")
    effect = toleration.get("effect")
    return (key in (None, "", GPU_RESOURCE) and toleration.get("operator") == "Exists") and (
        effect in (None, "", "NoSchedule")
    )
