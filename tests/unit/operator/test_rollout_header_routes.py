"""setHeaderRoute steps: a header cohort to the canary over GatewayAPI, one reconcile at a time."""

from __future__ import annotations

from typing import Any

from sextant_operator.api.modeldeployment import ModelDeploymentSpec, SetHeaderRoute
from sextant_operator.rollout import Tokens, VersionState
from tests.unit.operator.rollouts import Cluster, running

BETA = {"name": "beta", "match": [{"header": "x-cohort", "value": "beta"}]}
ALPHA = {"name": "alpha", "match": [{"header": "x-team", "value": "risk"}]}


def spec(*steps: dict[str, Any], replicas: int = 10) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"registry": {"name": "fraud", "alias": "champion"}},
            "replicas": replicas,
            "rollout": {
                "strategy": "Canary",
                "canary": {
                    "steps": list(steps),
                    "trafficRouting": {"type": "GatewayAPI", "gatewayAPI": {"httpRoute": "r"}},
                },
            },
        }
    )


def route(value: dict[str, Any]) -> SetHeaderRoute:
    return SetHeaderRoute.model_validate(value)


def moved_to_8(*steps: dict[str, Any], replicas: int = 10) -> Cluster:
    cluster = running(spec(*steps, replicas=replicas))
    cluster.route = 0
    cluster.settle()
    cluster.target = "8"
    return cluster


def active(cluster: Cluster) -> list[str]:
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    return [r.name for r in cluster.status.rollout.header_routes]


def test_header_route_goes_on_the_route_then_the_step_is_done() -> None:
    cluster = moved_to_8({"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}})
    cluster.step()
    cluster.ready_all()
    decision = cluster.step()
    assert (cluster.route, decision.header_routes) == (10, ())
    decision = cluster.step()  # 10% in place: the header step asks for its rule
    assert decision.header_routes == (route(BETA),)
    assert (cluster.step_index, cluster.state) == (1, "Progressing")
    assert decision.requeue_after == 1.0  # look again for the rule on the route

    decision = cluster.step()

    assert (cluster.step_index, cluster.state) == (2, "Paused")
    assert [e.reason for e in decision.events] == ["HeaderRouteSet"]
    assert "x-cohort" in decision.events[0].message
    assert active(cluster) == ["beta"]
    assert cluster.headers == (route(BETA),)
    assert cluster.route == 10  # the weight is untouched by the header route


def test_header_route_before_any_weight_gives_the_canary_one_pod_first() -> None:
    cluster = moved_to_8({"setHeaderRoute": BETA}, {"pause": {}}, replicas=4)
    decision = cluster.step()
    assert cluster.counts == {"7": 4, "8": 1}  # weight 0, but the cohort needs a pod
    assert decision.header_routes == ()  # not before that pod is ready
    assert cluster.route == 0
    cluster.ready_all()
    decision = cluster.step()
    assert decision.header_routes == (route(BETA),)
    cluster.step()
    assert (cluster.step_index, cluster.state, cluster.route) == (1, "Paused", 0)


def test_header_route_leaves_the_route_while_the_canary_has_no_ready_pod() -> None:
    cluster = moved_to_8({"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}})
    cluster.settle()
    assert cluster.headers == (route(BETA),)
    cluster.pods["8"] = VersionState(1, 1, 0)  # its one pod fails its probe

    decision = cluster.step()

    assert decision.header_routes == ()
    assert cluster.route == 0
    cluster.ready_all()
    cluster.step()
    assert cluster.headers == (route(BETA),)


def test_set_header_route_without_match_removes_only_that_route() -> None:
    cluster = moved_to_8(
        {"setWeight": 10},
        {"setHeaderRoute": BETA},
        {"setHeaderRoute": ALPHA},
        {"pause": {}},
        {"setHeaderRoute": {"name": "beta"}},
        {"pause": {}},
    )
    cluster.settle()
    assert (cluster.step_index, active(cluster)) == (3, ["beta", "alpha"])
    assert cluster.headers == (route(BETA), route(ALPHA))

    cluster.step(Tokens(promote=True))
    decision = cluster.step()

    assert (cluster.step_index, active(cluster)) == (5, ["alpha"])
    assert cluster.headers == (route(ALPHA),)
    assert "HeaderRouteRemoved" in [e.reason for e in decision.events]


def test_a_header_route_of_the_same_name_replaces_the_cohort() -> None:
    wider = {"name": "beta", "match": [{"header": "x-cohort", "value": "beta|gamma",
                                         "type": "RegularExpression"}]}  # fmt: skip
    cluster = moved_to_8(
        {"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}}, {"setHeaderRoute": wider},
        {"pause": {}},
    )  # fmt: skip
    cluster.settle()
    cluster.step(Tokens(promote=True))
    cluster.settle()
    assert cluster.headers == (route(wider),)
    assert active(cluster) == ["beta"]


def test_promotion_removes_every_header_route() -> None:
    cluster = moved_to_8({"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}}, replicas=4)
    cluster.settle()
    cluster.step(Tokens(promote=True))
    decision = cluster.settle()
    assert cluster.stable_version() == "8"
    assert decision.header_routes == ()
    assert cluster.headers == ()
    assert active(cluster) == []


def test_abort_removes_every_header_route_at_once() -> None:
    cluster = moved_to_8({"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}})
    cluster.settle()

    decision = cluster.step(Tokens(abort=True))

    assert cluster.state == "Aborted"
    assert (decision.header_routes, cluster.route) == ((), 0)
    assert active(cluster) == []


def test_a_new_version_mid_rollout_starts_without_header_routes() -> None:
    cluster = moved_to_8({"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}})
    cluster.settle()
    cluster.target = "9"

    decision = cluster.step()

    assert (cluster.step_index, active(cluster)) == (0, [])
    assert decision.header_routes == ()  # the cohort never reaches 9's unready pods


def test_header_routes_resume_from_status_after_an_operator_restart() -> None:
    cluster = moved_to_8({"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}})
    cluster.settle()
    restarted = Cluster(
        cluster.spec,
        target="8",
        now=cluster.now,
        status=cluster.status,
        pods=dict(cluster.pods),
        route=cluster.route,
        headers=cluster.headers,
    )

    decision = restarted.step()

    assert decision.events == ()
    assert decision.header_routes == (route(BETA),)
    assert (restarted.step_index, restarted.counts, restarted.status) == (
        cluster.step_index,
        cluster.counts,
        cluster.status,
    )


def test_a_canary_that_never_gets_ready_for_its_cohort_hits_the_progress_deadline() -> None:
    cluster = moved_to_8({"setHeaderRoute": BETA}, {"pause": {}})
    cluster.step()
    cluster.later(601)

    decision = cluster.step()

    assert cluster.state == "Aborted"
    assert [e.reason for e in decision.events] == ["ProgressDeadlineExceeded"]
    assert decision.header_routes == ()


def test_a_route_that_never_takes_the_header_rule_hits_the_progress_deadline() -> None:
    cluster = moved_to_8({"setWeight": 10}, {"setHeaderRoute": BETA}, {"pause": {}})
    cluster.refuses_headers = True
    cluster.settle()
    assert (cluster.step_index, cluster.state) == (1, "Progressing")
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert "header route beta" in (cluster.status.rollout.message or "")
    cluster.later(300)
    cluster.step()
    assert cluster.state == "Progressing"  # each look keeps the deadline's start

    cluster.later(301)
    decision = cluster.step()

    assert cluster.state == "Aborted"
    assert [e.reason for e in decision.events] == ["ProgressDeadlineExceeded"]
