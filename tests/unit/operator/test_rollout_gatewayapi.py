"""GatewayAPI routing: only the two backendRef weights of the user's HTTPRoute ever change."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from sextant_operator.api.modeldeployment import SetHeaderRoute
from sextant_operator.rollout.gatewayapi import (
    canary_replicas,
    routable_weight,
    route_weight,
    weight_patch,
)
from sextant_operator.rollout.headerroutes import header_patch, present
from sextant_operator.rollout.types import VersionState

STABLE, CANARY = "fraud-stable", "fraud-canary"


def users_route() -> dict[str, Any]:
    """A route as a person writes it: hostnames, matches, filters, other backends, timeouts."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "fraud-route", "namespace": "ml"},
        "spec": {
            "parentRefs": [{"name": "public", "namespace": "gateways"}],
            "hostnames": ["fraud.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/health"}}],
                    "backendRefs": [{"name": "status-page", "port": 80}],
                },
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/v2"}}],
                    "filters": [
                        {
                            "type": "RequestHeaderModifier",
                            "requestHeaderModifier": {"add": [{"name": "x-team", "value": "risk"}]},
                        }
                    ],
                    "backendRefs": [
                        {"name": STABLE, "port": 80, "weight": 100},
                        {"name": CANARY, "port": 80, "weight": 0},
                    ],
                    "timeouts": {"request": "10s"},
                },
            ],
        },
    }


def test_setting_a_weight_changes_the_two_weights_and_nothing_else() -> None:
    route = users_route()

    patched = jsonpatch.apply_patch(route, weight_patch(route, STABLE, CANARY, 30))

    expected = copy.deepcopy(route)
    expected["spec"]["rules"][1]["backendRefs"][0]["weight"] = 70
    expected["spec"]["rules"][1]["backendRefs"][1]["weight"] = 30
    assert patched == expected
    assert route_weight(patched, STABLE, CANARY) == 30


def test_the_patch_refuses_a_route_whose_rules_moved_meanwhile() -> None:
    route = users_route()
    ops = weight_patch(route, STABLE, CANARY, 30)
    moved = copy.deepcopy(route)
    moved["spec"]["rules"].reverse()

    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(moved, ops)


def test_weights_already_in_place_need_no_patch() -> None:
    assert weight_patch(users_route(), STABLE, CANARY, 0) == []


def test_a_route_without_both_backends_has_no_weight() -> None:
    route = users_route()
    route["spec"]["rules"][1]["backendRefs"].pop()
    assert route_weight(route, STABLE, CANARY) is None
    assert route_weight(None, STABLE, CANARY) is None
    assert weight_patch(route, STABLE, CANARY, 30) == []


@pytest.mark.parametrize(
    ("weight", "replicas", "pods"),
    [(0, 10, 0), (1, 10, 1), (30, 10, 3), (30, 3, 1), (50, 3, 2), (100, 4, 4)],
)
def test_the_canary_gets_enough_pods_to_carry_its_weight_alone(
    weight: int, replicas: int, pods: int
) -> None:
    assert canary_replicas(weight, replicas) == pods


@pytest.mark.parametrize(
    ("goal", "ready", "current", "routed"),
    [
        (30, 3, 0, 30),  # ceil(0.3 x 10) ready: the goal
        (30, 2, 0, 0),  # short: the weight already there holds
        (30, 2, 10, 10),
        (30, 1, 30, 10),  # pods lost: never more than the ready share
        (10, 0, 30, 0),
    ],
)
def test_weight_only_ever_goes_to_ready_canary_capacity(
    goal: int, ready: int, current: int, routed: int
) -> None:
    canary = VersionState(replicas=3, total=3, ready=ready)
    assert routable_weight(goal, 10, canary, current) == routed


BETA = SetHeaderRoute.model_validate(
    {"name": "beta", "match": [{"header": "x-cohort", "value": "beta"}]}
)
ALPHA = SetHeaderRoute.model_validate(
    {"name": "alpha", "match": [{"header": "x-team", "value": "r.*", "type": "RegularExpression"}]}
)


def added_rules(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    return after["spec"]["rules"][len(before["spec"]["rules"]) :]


def test_a_header_route_is_a_copy_of_the_shared_rule_to_the_canary_alone() -> None:
    route = users_route()

    patched = jsonpatch.apply_patch(route, header_patch(route, STABLE, CANARY, [BETA], [BETA]))

    assert patched["spec"]["rules"][:2] == route["spec"]["rules"]  # the user's rules as they were
    assert added_rules(route, patched) == [
        {
            "matches": [
                {
                    "path": {"type": "PathPrefix", "value": "/v2"},
                    "headers": [{"name": "x-cohort", "type": "Exact", "value": "beta"}],
                }
            ],
            "backendRefs": [
                {"group": "", "kind": "Service", "name": CANARY, "weight": 1, "port": 80}
            ],
            "filters": route["spec"]["rules"][1]["filters"],
            "timeouts": {"request": "10s"},
        }
    ]
    assert {k: v for k, v in patched.items() if k != "spec"} == {
        k: v for k, v in route.items() if k != "spec"
    }
    assert present(patched, STABLE, CANARY, [BETA, ALPHA]) == (BETA,)
    assert route_weight(patched, STABLE, CANARY) == 0  # weights are not the header rule's


def test_header_routes_already_in_place_need_no_patch() -> None:
    route = users_route()
    patched = jsonpatch.apply_patch(route, header_patch(route, STABLE, CANARY, [BETA], [BETA]))
    assert header_patch(patched, STABLE, CANARY, [BETA], [BETA, ALPHA]) == []


def test_a_rule_read_back_with_the_api_servers_defaults_is_still_recognised() -> None:
    route = users_route()
    patched = jsonpatch.apply_patch(route, header_patch(route, STABLE, CANARY, [BETA], [BETA]))
    read_back = copy.deepcopy(patched)
    read_back["spec"]["rules"][2]["backendRefs"][0] = {"name": CANARY, "port": 80}
    read_back["spec"]["rules"][2]["matches"][0]["headers"][0].pop("type")
    assert present(read_back, STABLE, CANARY, [BETA]) == (BETA,)
    assert header_patch(read_back, STABLE, CANARY, [BETA], [BETA]) == []


def test_removing_one_header_route_keeps_the_other_and_every_user_rule() -> None:
    route = users_route()
    both = jsonpatch.apply_patch(
        route, header_patch(route, STABLE, CANARY, [BETA, ALPHA], [BETA, ALPHA])
    )
    assert len(both["spec"]["rules"]) == 4

    after = jsonpatch.apply_patch(both, header_patch(both, STABLE, CANARY, [ALPHA], [BETA, ALPHA]))

    assert after["spec"]["rules"][:2] == route["spec"]["rules"]
    assert present(after, STABLE, CANARY, [BETA, ALPHA]) == (ALPHA,)
    gone = jsonpatch.apply_patch(after, header_patch(after, STABLE, CANARY, [], [BETA, ALPHA]))
    assert gone == route


def test_a_removal_is_refused_when_the_rules_moved_meanwhile() -> None:
    route = users_route()
    both = jsonpatch.apply_patch(
        route, header_patch(route, STABLE, CANARY, [BETA, ALPHA], [BETA, ALPHA])
    )
    ops = header_patch(both, STABLE, CANARY, [ALPHA], [BETA, ALPHA])
    moved = copy.deepcopy(both)
    moved["spec"]["rules"][2], moved["spec"]["rules"][3] = (
        moved["spec"]["rules"][3],
        moved["spec"]["rules"][2],
    )
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        jsonpatch.apply_patch(moved, ops)


def test_a_route_without_both_backends_gets_no_header_rule() -> None:
    route = users_route()
    route["spec"]["rules"][1]["backendRefs"].pop()
    assert header_patch(route, STABLE, CANARY, [BETA], [BETA]) == []
    assert present(route, STABLE, CANARY, [BETA]) == ()


def test_every_shared_rule_and_match_gets_the_cohort_headers() -> None:
    route = users_route()
    shared = route["spec"]["rules"][1]
    shared["matches"].append(
        {"path": {"type": "Exact", "value": "/infer"}, "headers": [{"name": "x-a", "value": "1"}]}
    )
    route["spec"]["rules"].append(
        {"backendRefs": [{"name": STABLE, "port": 80}, {"name": CANARY, "port": 80}]}
    )

    patched = jsonpatch.apply_patch(route, header_patch(route, STABLE, CANARY, [BETA], [BETA]))

    cohort = {"name": "x-cohort", "type": "Exact", "value": "beta"}
    first, second = added_rules(route, patched)
    assert [m["headers"] for m in first["matches"]] == [
        [cohort],
        [{"name": "x-a", "value": "1"}, cohort],
    ]
    assert second["matches"] == [{"headers": [cohort]}]  # a rule without matches: all paths
