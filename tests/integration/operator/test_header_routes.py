"""setHeaderRoute and abortScaleDownDelaySeconds on the local control plane, with a real
HTTPRoute (Gateway API CRDs) and an operator that resyncs once an hour: only watch events
and the operator's own timers move these rollouts."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from tests.integration.operator.kubeobjects import apply_md, get, wait_condition
from tests.integration.operator.test_rollouts import (
    MODEL_A,
    MODEL_B,
    annotate,
    deployments,
    quiet,
    rollout_state,
    route_weights,
    spec,
    users_route,
    without_weights,
)
from tests.polling import wait_for

ROUTE = "scorer-route"
COHORT = {"name": "x-cohort", "type": "Exact", "value": "beta"}


def header_canary(**canary: Any) -> dict[str, Any]:
    return {
        "strategy": "Canary",
        "canary": {
            "steps": [
                {"setWeight": 30},
                {
                    "setHeaderRoute": {
                        "name": "beta",
                        "match": [{"header": "x-cohort", "value": "beta"}],
                    }
                },
                {"pause": {}},
            ],
            "trafficRouting": {"type": "GatewayAPI", "gatewayAPI": {"httpRoute": ROUTE}},
            **canary,
        },
    }


def route_rules(kube: KubeAccess, namespace: str) -> list[dict[str, Any]]:
    found = get(kube, namespace, "httproute", ROUTE) or {}
    return list(found["spec"]["rules"])


def paused_on_new_version(
    kube: KubeAccess, namespace: str, rollout: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """(old, new, the route before the rollout) once the rollout pauses after its steps."""
    kube.kubectl("apply", "-f", "-", input=json.dumps(users_route(namespace)))
    apply_md(kube, namespace, "scorer", spec(MODEL_A, rollout, replicas=3))
    old = wait_condition(kube, namespace, "scorer")["status"]["stable"]["version"]
    before = get(kube, namespace, "httproute", ROUTE) or {}
    apply_md(kube, namespace, "scorer", spec(MODEL_B, rollout, replicas=3))
    md = rollout_state(kube, namespace, "scorer", "Paused")
    return old, md["status"]["canary"]["version"], before


def test_header_route_sends_the_cohort_to_the_canary_until_promotion(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    old, new, before = paused_on_new_version(kube, ro_namespace, header_canary())

    md = get(kube, ro_namespace, "modeldeployment", "scorer") or {}
    assert md["status"]["canary"]["step"] == 2
    assert md["status"]["rollout"]["headerRoutes"] == [
        {"name": "beta", "match": [{"header": "x-cohort", "value": "beta", "type": "Exact"}]}
    ]
    rules = route_rules(kube, ro_namespace)
    shared = before["spec"]["rules"][1]
    assert len(rules) == 3
    assert rules[2] == {  # as the API server stores it, defaults and all
        "matches": [{**shared["matches"][0], "headers": [COHORT]}],
        "backendRefs": [
            {"group": "", "kind": "Service", "name": "scorer-canary", "port": 80, "weight": 1}
        ],
        "timeouts": shared["timeouts"],
    }
    assert route_weights(kube, ro_namespace, ROUTE) == [70, 30]  # the weight step is untouched
    after = get(kube, ro_namespace, "httproute", ROUTE) or {}
    mine = copy.deepcopy(after)
    del mine["spec"]["rules"][2]
    assert without_weights(mine) == without_weights(before)  # every other field the user's
    canary_service = get(kube, ro_namespace, "service", "scorer-canary") or {}
    assert canary_service["spec"]["selector"]["sextant.dev/model-version"] == new
    quiet()

    annotate(kube, ro_namespace, "scorer", "promote")

    md = rollout_state(kube, ro_namespace, "scorer", "Succeeded")
    assert md["status"]["stable"]["version"] == new
    assert md["status"]["rollout"].get("headerRoutes", []) == []
    wait_for(
        lambda: len(route_rules(kube, ro_namespace)) == 2,
        timeout=30,
        what="the header route's rule removed at promotion",
    )
    final = get(kube, ro_namespace, "httproute", ROUTE) or {}
    assert without_weights(final) == without_weights(before)
    assert old != new


def test_abort_removes_the_header_route_at_once_and_the_canary_pods_after_the_delay(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    rollout = header_canary(abortScaleDownDelaySeconds=8)
    old, new, before = paused_on_new_version(kube, ro_namespace, rollout)
    assert len(route_rules(kube, ro_namespace)) == 3
    quiet()

    annotate(kube, ro_namespace, "scorer", "abort")

    md = rollout_state(kube, ro_namespace, "scorer", "Aborted")
    status = md["status"]["rollout"]
    aborted_at = datetime.fromisoformat(status["abortTime"])
    scale_down = datetime.fromisoformat(status["abortScaleDownTime"])
    assert scale_down - aborted_at == timedelta(seconds=8)
    # Traffic back on stable at once: weight 0, the cohort's rule gone.
    assert route_weights(kube, ro_namespace, ROUTE) == [100, 0]
    assert len(route_rules(kube, ro_namespace)) == 2
    # The aborted canary keeps its pod until the delay ends, then goes (a timer, no resync).
    assert deployments(kube, ro_namespace, "scorer") == {old: 3, new: 1}
    wait_for(
        lambda: datetime.now(UTC) >= scale_down - timedelta(seconds=2),
        timeout=20,
        what="almost the end of the abort delay",
        interval=0.5,
    )
    assert deployments(kube, ro_namespace, "scorer") == {old: 3, new: 1}
    wait_for(
        lambda: deployments(kube, ro_namespace, "scorer") == {old: 3},
        timeout=30,
        what="the aborted canary's Deployment removed after the delay",
    )
    assert datetime.now(UTC) >= scale_down
    final = get(kube, ro_namespace, "httproute", ROUTE) or {}
    assert without_weights(final) == without_weights(before)


def test_a_route_that_cannot_take_the_header_rule_holds_the_step_until_the_deadline(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    route = users_route(ro_namespace)
    route["spec"]["rules"] += [  # Gateway API allows 16 rules: these fill the route
        {
            "matches": [{"path": {"type": "PathPrefix", "value": f"/other-{i}"}}],
            "backendRefs": [{"name": "status-page", "port": 80}],
        }
        for i in range(14)
    ]
    kube.kubectl("apply", "-f", "-", input=json.dumps(route))
    rollout = {**header_canary(), "progressDeadlineSeconds": 15}
    apply_md(kube, ro_namespace, "scorer", spec(MODEL_A, rollout, replicas=3))
    old = wait_condition(kube, ro_namespace, "scorer")["status"]["stable"]["version"]
    apply_md(kube, ro_namespace, "scorer", spec(MODEL_B, rollout, replicas=3))

    def held() -> dict[str, Any] | None:
        md = get(kube, ro_namespace, "modeldeployment", "scorer") or {}
        rollout = (md.get("status") or {}).get("rollout") or {}
        return md if "header route beta" in (rollout.get("message") or "") else None

    md = wait_for(held, timeout=60, what="the header step holding")
    assert md["status"]["canary"]["step"] == 1
    assert route_weights(kube, ro_namespace, ROUTE) == [70, 30]
    assert len(route_rules(kube, ro_namespace)) == 16  # refused by the API server, not forced

    md = rollout_state(kube, ro_namespace, "scorer", "Aborted")
    assert "progressDeadlineSeconds" in md["status"]["rollout"]["message"]
    assert route_weights(kube, ro_namespace, ROUTE) == [100, 0]
    assert md["status"]["stable"]["version"] == old


def test_blue_green_abort_points_both_services_at_stable_and_keeps_the_preview_for_the_delay(
    kube: KubeAccess, ro_namespace: str, rollout_operator: LocalOperator
) -> None:
    rollout = {
        "strategy": "BlueGreen",
        "blueGreen": {"autoPromotion": False, "abortScaleDownDelaySeconds": 6},
    }
    apply_md(kube, ro_namespace, "ranker", spec(MODEL_A, rollout))
    old = wait_condition(kube, ro_namespace, "ranker")["status"]["stable"]["version"]
    apply_md(kube, ro_namespace, "ranker", spec(MODEL_B, rollout))
    new = rollout_state(kube, ro_namespace, "ranker", "Paused")["status"]["canary"]["version"]

    def selects(service: str) -> str:
        found = get(kube, ro_namespace, "service", service) or {}
        return str(found["spec"]["selector"]["sextant.dev/model-version"])

    assert (selects("ranker"), selects("ranker-preview")) == (old, new)
    quiet()

    annotate(kube, ro_namespace, "ranker", "abort")

    md = rollout_state(kube, ro_namespace, "ranker", "Aborted")
    scale_down = datetime.fromisoformat(md["status"]["rollout"]["abortScaleDownTime"])
    wait_for(
        lambda: selects("ranker-preview") == old,
        timeout=10,
        what="the preview Service back on stable",
    )
    assert selects("ranker") == old
    assert deployments(kube, ro_namespace, "ranker") == {old: 2, new: 2}  # kept, no traffic
    wait_for(
        lambda: deployments(kube, ro_namespace, "ranker") == {old: 2},
        timeout=30,
        what="the aborted preview removed after the delay",
    )
    assert datetime.now(UTC) >= scale_down
