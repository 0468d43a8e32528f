"""Canary and BlueGreen on the local control plane (kwok pods turn Ready at once).

The operator here resyncs once an hour: every step below is moved by watch events and the
operator's own rollout timers, never by a periodic resync healing something.
"""

from __future__ import annotations

import copy
import json
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
    wait_condition(kube, ro_namespace, "fraud", type_="RolloutAborted")
    # Ready again once stable's replica that made room for the canary is back (Ready counts
    # every replica); aborted is a served state, not a degraded one.
    md = wait_condition(kube, ro_namespace, "fraud", type_="Ready")
    assert condition(md, "RolloutAborted")["status"] == "True"
    assert md["status"]["phase"] != "Degraded"
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


def route_weights(kube: KubeAccess, namespace: str, route: str) -> list[int]:
    found = get(kube, namespace, "httproute", route) or {}
    return [ref.get("weight", 1) for ref in found["spec"]["rules"][1]["backendRefs"]]


def without_weights(route: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(route["spec"])
    for rule in spec["rules"]:
        for ref in rule["backendRefs"]:
            ref.pop("weight", None)
    return {"labels": route["metadata"].get("labels"), "spec": spec}


def users_route(namespace: str) -> dict[str, Any]:
    """An HTTPRoute as a person writes it, with more in it than the two weights."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "scorer-route", "namespace": namespace, "labels": {"team": "risk"}},
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateways"}],
            "hostnames": ["scorer.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/health"}}],
                    "backendRefs": [{"name": "status-page", "port": 80}],
                },
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v2"}}],
                    "backendRefs": [
                        {"name": "scorer-stable", "port": 80, "weight": 100},
                        {"name": "scorer-canary", "port": 80, "weight": 0},
                    ],
                    "timeouts": {"request": "10s"},
                },
            ],
        },
    }


GATEWAY_CANARY = {
    "strategy": "Canary",
    "canary": {
        "steps": [{"setWeight": 30}, {"pause": {}}],
        "trafficRouting": {"type": "GatewayAPI", "gatewayAPI": {"httpRoute": "scorer-route"}},
    },
}


def test_gateway_api_canary_changes_only_the_backend_weights_of_the_users_route(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    route = users_route(ro_namespace)
    kube.kubectl("apply", "-f", "-", input=json.dumps(route))
    rollout = GATEWAY_CANARY
    apply_md(kube, ro_namespace, "scorer", spec(MODEL_A, rollout, replicas=3))
    old = wait_condition(kube, ro_namespace, "scorer")["status"]["stable"]["version"]
    before = get(kube, ro_namespace, "httproute", "scorer-route") or {}

    def selects(service: str) -> str:
        found = get(kube, ro_namespace, "service", service) or {}
        return str(found["spec"]["selector"]["sextant.dev/model-version"])

    apply_md(kube, ro_namespace, "scorer", spec(MODEL_B, rollout, replicas=3))
    md = rollout_state(kube, ro_namespace, "scorer", "Paused")
    new = md["status"]["canary"]["version"]

    assert md["status"]["canary"]["weight"] == 30
    assert deployments(kube, ro_namespace, "scorer") == {old: 3, new: 1}  # ceil(0.3 x 3)
    assert route_weights(kube, ro_namespace, "scorer-route") == [70, 30]
    after = get(kube, ro_namespace, "httproute", "scorer-route") or {}
    assert without_weights(after) == without_weights(before)
    assert [selects(s) for s in ("scorer", "scorer-stable", "scorer-canary")] == [old, old, new]
    quiet()

    annotate(kube, ro_namespace, "scorer", "promote")

    md = rollout_state(kube, ro_namespace, "scorer", "Succeeded")
    assert md["status"]["stable"]["version"] == new
    wait_for(
        lambda: route_weights(kube, ro_namespace, "scorer-route") == [100, 0],
        timeout=30,
        what="the weight back on the stable Service, now on the new version",
    )
    assert [selects(s) for s in ("scorer", "scorer-stable", "scorer-canary")] == [new] * 3
    wait_for(
        lambda: deployments(kube, ro_namespace, "scorer") == {new: 3},
        timeout=60,
        what="only the new version's Deployment",
    )
    final = get(kube, ro_namespace, "httproute", "scorer-route") or {}
    assert without_weights(final) == without_weights(before)


def test_gateway_api_abort_takes_the_weight_off_the_canary_at_once(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    kube.kubectl("apply", "-f", "-", input=json.dumps(users_route(ro_namespace)))
    apply_md(kube, ro_namespace, "scorer", spec(MODEL_A, GATEWAY_CANARY, replicas=3))
    old = wait_condition(kube, ro_namespace, "scorer")["status"]["stable"]["version"]
    apply_md(kube, ro_namespace, "scorer", spec(MODEL_B, GATEWAY_CANARY, replicas=3))
    rollout_state(kube, ro_namespace, "scorer", "Paused")
    assert route_weights(kube, ro_namespace, "scorer-route") == [70, 30]
    quiet()

    annotate(kube, ro_namespace, "scorer", "abort")

    rollout_state(kube, ro_namespace, "scorer", "Aborted")
    assert route_weights(kube, ro_namespace, "scorer-route") == [100, 0]
    wait_for(
        lambda: deployments(kube, ro_namespace, "scorer") == {old: 3},
        timeout=60,
        what="only the stable Deployment",
    )
