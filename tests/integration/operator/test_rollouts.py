"""Canary and BlueGreen on the local control plane (kwok pods turn Ready at once).

The operator here resyncs once an hour: every step below is moved by watch events and the
operator's own rollout timers, never by a periodic resync healing something.
"""

from __future__ import annotations

import time
from typing import Any

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from tests.integration.operator.kubeobjects import apply_md, condition, get, wait_condition
from tests.polling import wait_for

MODEL_A = "file:///models/a.onnx"
MODEL_B = "file:///models/b.onnx"
CANARY = {
    "strategy": "Canary",
    "canary": {"steps": [{"setWeight": 50}, {"pause": {}}]},
}


def spec(uri: str, rollout: dict[str, Any], replicas: int = 2) -> dict[str, Any]:
    return {"model": {"uri": uri}, "replicas": replicas, "rollout": rollout}


def rollout_state(kube: KubeAccess, namespace: str, name: str, state: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        md = get(kube, namespace, "modeldeployment", name) or {}
        rollout = (md.get("status") or {}).get("rollout") or {}
        return md if rollout.get("state") == state else None

    return wait_for(check, timeout=90, what=f"{name} rollout {state}")


def deployments(kube: KubeAccess, namespace: str, name: str) -> dict[str, int]:
    """Version -> spec.replicas of each live Deployment of that ModelDeployment."""
    found = get(kube, namespace, "deployments", "-l", f"sextant.dev/model-deployment={name}")
    return {
        d["metadata"]["annotations"]["sextant.dev/model-version"]: d["spec"]["replicas"]
        for d in (found or {}).get("items", [])
        if d["metadata"].get("deletionTimestamp") is None
    }


def annotate(kube: KubeAccess, namespace: str, name: str, key: str, value: str = "true") -> None:
    kube.kubectl("annotate", "-n", namespace, "modeldeployment", name, f"sextant.dev/{key}={value}")


def quiet() -> None:
    """Let the watch events of the last pod changes pass: a token annotated after them must
    move the rollout by itself (kopf's diff ignores annotations under its own prefix)."""
    time.sleep(3)


def start_canary(kube: KubeAccess, namespace: str) -> tuple[str, str]:
    apply_md(kube, namespace, "fraud", spec(MODEL_A, CANARY))
    old = wait_condition(kube, namespace, "fraud")["status"]["stable"]["version"]
    apply_md(kube, namespace, "fraud", spec(MODEL_B, CANARY))
    md = rollout_state(kube, namespace, "fraud", "Paused")
    new = md["status"]["canary"]["version"]
    return old, new


def test_canary_pauses_at_half_and_promote_finishes_it(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    old, new = start_canary(kube, ro_namespace)
    md = get(kube, ro_namespace, "modeldeployment", "fraud") or {}
    assert md["status"]["canary"]["step"] == 1
    assert md["status"]["canary"]["weight"] == 50
    assert deployments(kube, ro_namespace, "fraud") == {old: 1, new: 1}
    assert condition(md, "Ready")["status"] == "True"

    quiet()
    annotate(kube, ro_namespace, "fraud", "promote")

    md = rollout_state(kube, ro_namespace, "fraud", "Succeeded")
    assert md["status"]["stable"]["version"] == new
    assert "sextant.dev/promote" not in md["metadata"].get("annotations", {})
    wait_for(
        lambda: deployments(kube, ro_namespace, "fraud") == {new: 2},
        timeout=60,
        what="only the new version's Deployment",
    )


def test_abort_returns_to_stable_and_a_reapplied_spec_does_not_restart(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    old, new = start_canary(kube, ro_namespace)

    quiet()
    annotate(kube, ro_namespace, "fraud", "abort")

    md = rollout_state(kube, ro_namespace, "fraud", "Aborted")
    assert md["status"]["rollout"]["abortedVersion"] == new
    wait_for(
        lambda: deployments(kube, ro_namespace, "fraud") == {old: 2},
        timeout=60,
        what="only the stable Deployment, at full size",
    )
    md = wait_condition(kube, ro_namespace, "fraud", type_="RolloutAborted")
    assert condition(md, "Ready")["status"] == "True"
    apply_md(kube, ro_namespace, "fraud", spec(MODEL_B, CANARY, replicas=2))  # GitOps re-apply
    md = get(kube, ro_namespace, "modeldeployment", "fraud") or {}
    assert md["status"]["rollout"]["state"] == "Aborted"
    assert deployments(kube, ro_namespace, "fraud") == {old: 2}


def test_blue_green_switches_the_active_service_on_promote(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    rollout = {
        "strategy": "BlueGreen",
        "blueGreen": {"autoPromotion": False, "scaleDownDelaySeconds": 3},
    }
    apply_md(kube, ro_namespace, "ranker", spec(MODEL_A, rollout))
    old = wait_condition(kube, ro_namespace, "ranker")["status"]["stable"]["version"]
    apply_md(kube, ro_namespace, "ranker", spec(MODEL_B, rollout))
    md = rollout_state(kube, ro_namespace, "ranker", "Paused")
    new = md["status"]["canary"]["version"]

    def selects(service: str) -> str:
        found = get(kube, ro_namespace, "service", service) or {}
        return str(found["spec"]["selector"]["sextant.dev/model-version"])

    assert deployments(kube, ro_namespace, "ranker") == {old: 2, new: 2}
    assert (selects("ranker"), selects("ranker-preview")) == (old, new)
    quiet()  # so that only the token itself can move the rollout on

    annotate(kube, ro_namespace, "ranker", "promote")

    wait_for(lambda: selects("ranker") == new, timeout=60, what="active on the new version")
    md = rollout_state(kube, ro_namespace, "ranker", "Succeeded")  # after scaleDownDelaySeconds
    assert md["status"]["stable"]["version"] == new
    wait_for(
        lambda: deployments(kube, ro_namespace, "ranker") == {new: 2},
        timeout=60,
        what="the old version scaled down after the delay",
    )
