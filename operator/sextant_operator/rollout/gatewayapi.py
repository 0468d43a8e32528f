"""GatewayAPI traffic routing: exact weights on the user's HTTPRoute. Pure: no I/O.

As Argo Rollouts' Gateway API plugin: two Services per ModelDeployment, NAME-stable and
NAME-canary, are the backends the user's HTTPRoute names; the operator changes nothing on
that route but the `weight` of those two backendRefs, in every rule that holds both. The
canary gets ceil(weight x N) pods while the stable keeps N, and the weight on the route
never exceeds the share of traffic the canary's ready pods can take.
"""

from __future__ import annotations

import math
from typing import Any

from sextant_operator.rollout.types import VersionState

STABLE_SUFFIX = "-stable"
CANARY_SUFFIX = "-canary"


def service_names(name: str) -> tuple[str, str]:
    """(stable, canary) Service names of a ModelDeployment."""
    return f"{name}{STABLE_SUFFIX}", f"{name}{CANARY_SUFFIX}"


def canary_replicas(weight: int, replicas: int) -> int:
    """ceil(weight x N): enough canary pods to carry `weight` percent on their own."""
    if weight <= 0 or replicas <= 0:
        return 0
    return min(replicas, math.ceil(weight * replicas / 100))


def routable_weight(goal: int, replicas: int, canary: VersionState, current: int) -> int:
    """The weight to put on the route now: the goal once its pods are ready; until then the
    weight already there holds, cut to what the ready canary pods can serve."""
    if canary.ready >= canary_replicas(goal, replicas):
        return goal
    capacity = 0 if replicas <= 0 else (100 * canary.ready) // replicas
    return min(current, capacity, goal)


def pairs(route: dict[str, Any], stable: str, canary: str) -> list[tuple[int, int, int]]:
    """(rule, stable backendRef, canary backendRef) indexes of each rule that holds both."""
    found = []
    for r, rule in enumerate((route.get("spec") or {}).get("rules") or []):
        refs = rule.get("backendRefs") or []
        names = [
            ref.get("name")
            if ref.get("kind", "Service") == "Service" and not ref.get("group")
            else None
            for ref in refs
        ]
        if stable in names and canary in names:
            found.append((r, names.index(stable), names.index(canary)))
    return found


def route_weight(route: dict[str, Any] | None, stable: str, canary: str) -> int | None:
    """The canary's percentage on the route (from the first rule holding both backends), or
    None when there is no route or no rule holds both."""
    if route is None:
        return None
    found = pairs(route, stable, canary)
    if not found:
        return None
    r, s, c = found[0]
    refs = route["spec"]["rules"][r]["backendRefs"]
    stable_weight = int(refs[s].get("weight", 1))
    canary_weight = int(refs[c].get("weight", 1))
    total = stable_weight + canary_weight
    return 0 if total == 0 else round(100 * canary_weight / total)


def weight_patch(
    route: dict[str, Any], stable: str, canary: str, weight: int
) -> list[dict[str, Any]]:
    """A JSON patch setting only those two weights, guarded by `test` ops so that a route
    edited meanwhile (rules reordered) is refused rather than patched in the wrong place.
    Empty when the weights are already so."""
    ops: list[dict[str, Any]] = []
    for r, s, c in pairs(route, stable, canary):
        refs = route["spec"]["rules"][r]["backendRefs"]
        for index, name, value in ((s, stable, 100 - weight), (c, canary, weight)):
            if refs[index].get("weight") == value:
                continue
            path = f"/spec/rules/{r}/backendRefs/{index}"
            ops.append({"op": "test", "path": f"{path}/name", "value": name})
            ops.append({"op": "add", "path": f"{path}/weight", "value": value})
    return ops
