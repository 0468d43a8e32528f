"""Reading and waiting on what the operator made, through kubectl as a person would."""

from __future__ import annotations

import json
from typing import Any

from sextant.devenv.cluster import KubeAccess
from tests.polling import wait_for


def apply_md(kube: KubeAccess, namespace: str, name: str, spec: dict[str, Any]) -> None:
    manifest = {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    kube.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def get(kube: KubeAccess, namespace: str, *what: str) -> dict[str, Any] | None:
    result = kube.kubectl("get", "-n", namespace, "-o", "json", *what, check=False)
    if result.returncode != 0:
        return None
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def condition(md: dict[str, Any] | None, type_: str) -> dict[str, Any]:
    for cond in ((md or {}).get("status") or {}).get("conditions") or []:
        if cond["type"] == type_:
            return dict(cond)
    return {}


def wait_condition(
    kube: KubeAccess,
    namespace: str,
    name: str,
    *,
    type_: str = "Ready",
    status: str = "True",
    reason: str | None = None,
    timeout: float = 90,
) -> dict[str, Any]:
    """The ModelDeployment once its condition has that status (and reason) for its generation."""

    def check() -> dict[str, Any] | None:
        md = get(kube, namespace, "modeldeployment", name)
        cond = condition(md, type_)
        current = md is not None and cond.get("observedGeneration") == md["metadata"]["generation"]
        matches = cond.get("status") == status and (reason is None or cond.get("reason") == reason)
        return md if current and matches else None

    return wait_for(check, timeout=timeout, what=f"{name} {type_}={status} ({reason or 'any'})")


def pods(kube: KubeAccess, namespace: str, name: str) -> list[dict[str, Any]]:
    found = get(kube, namespace, "pods", "-l", f"sextant.dev/model-deployment={name}")
    return list((found or {}).get("items", []))


def nodes_by_name(kube: KubeAccess) -> dict[str, dict[str, Any]]:
    found = get(kube, "default", "nodes")
    return {node["metadata"]["name"]: node for node in (found or {}).get("items", [])}
