"""Small builders and probes for the workloads the cluster tests run."""

from __future__ import annotations

from typing import Any

from kubernetes.client import CoreV1Api, V1Pod

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def deployment(
    name: str,
    *,
    replicas: int = 1,
    limits: dict[str, str] | None = None,
    tolerations: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """A Deployment of one container; kwok never pulls the image, so any name will do."""
    container: dict[str, Any] = {"name": "main", "image": "registry.example/sextant/model:1"}
    if limits:
        container["resources"] = {"limits": limits}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [container], "tolerations": tolerations or []},
            },
        },
    }


def pods(core: CoreV1Api, namespace: str, app: str) -> list[V1Pod]:
    return list(core.list_namespaced_pod(namespace, label_selector=f"app={app}").items)


def is_ready(pod: V1Pod) -> bool:
    conditions = pod.status.conditions or []
    return pod.status.phase == "Running" and any(
        c.type == "Ready" and c.status == "True" for c in conditions
    )


def ready_pods(core: CoreV1Api, namespace: str, app: str, count: int) -> list[V1Pod] | None:
    """The app's pods once exactly `count` of them are Running and Ready, else None."""
    found = pods(core, namespace, app)
    ready = [p for p in found if is_ready(p)]
    return ready if len(ready) == count == len(found) else None


def unschedulable_condition(core: CoreV1Api, namespace: str, app: str) -> Any:
    """The PodScheduled=False condition of the app's one pod, once the scheduler set it."""
    for pod in pods(core, namespace, app):
        for condition in pod.status.conditions or []:
            if condition.type == "PodScheduled" and condition.status == "False":
                return condition
    return None
