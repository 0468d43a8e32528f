"""setHeaderRoute on the user's HTTPRoute: a cohort (requests with given headers) to the canary.

As Argo Rollouts' Gateway API plugin does it: each header route is one extra rule per rule
that holds both NAME-stable and NAME-canary, a copy of that rule's matches (with the cohort's
headers added to each), filters and timeouts, whose only backendRef is NAME-canary. A
Gateway prefers the match with more header matches, so the cohort wins over the copied
rule whatever the weights. The operator adds and removes only these rules, with a guarded
JSON patch; every other field of the route stays the user's. The rules carry no name (the
standard-channel HTTPRoute of Gateway API 1.3 has none): they are known by their content,
which the header routes in status and in the spec's steps fully determine. Pure: no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from sextant_operator.api.modeldeployment import ModelDeploymentSpec, SetHeaderRoute
from sextant_operator.rollout.gatewayapi import pairs

Rule = dict[str, Any]


def header_rules(
    route: dict[str, Any], stable: str, canary: str, wanted: SetHeaderRoute
) -> list[Rule]:
    """The rules `wanted` adds to the route: one per rule that holds both Services."""
    rules = (route.get("spec") or {}).get("rules") or []
    headers = [{"name": m.header, "type": m.type, "value": m.value} for m in wanted.match or []]
    found = []
    for r, _, c in pairs(route, stable, canary):
        source = rules[r]
        ref = source["backendRefs"][c]
        backend = {"group": "", "kind": "Service", "name": canary, "weight": 1}
        if "port" in ref:
            backend["port"] = ref["port"]
        matches = source.get("matches") or [{}]
        rule: Rule = {
            "matches": [
                {**copy.deepcopy(m), "headers": [*copy.deepcopy(m.get("headers") or []), *headers]}
                for m in matches
            ],
            "backendRefs": [backend],
        }
        for key in ("filters", "timeouts"):
            if key in source:
                rule[key] = copy.deepcopy(source[key])
        found.append(rule)
    return found


def known_routes(
    spec: ModelDeploymentSpec, active: Iterable[SetHeaderRoute]
) -> list[SetHeaderRoute]:
    """Every header route this ModelDeployment may have put on the route: those in status
    and those its steps set (a crash can come between the patch and the status write)."""
    found: list[SetHeaderRoute] = []
    steps = spec.rollout.canary.steps if spec.rollout.canary else []
    candidates = [*active, *(s.set_header_route for s in steps if s.set_header_route)]
    for route in candidates:
        if route.match is not None and route not in found:
            found.append(route)
    return found


def present(
    route: dict[str, Any] | None, stable: str, canary: str, known: Iterable[SetHeaderRoute]
) -> tuple[SetHeaderRoute, ...]:
    """The known header routes whose every rule is on the route."""
    if route is None:
        return ()
    on_route = [_normal(r) for r in (route.get("spec") or {}).get("rules") or []]
    found = []
    for wanted in known:
        rules = header_rules(route, stable, canary, wanted)
        if rules and all(_normal(rule) in on_route for rule in rules):
            found.append(wanted)
    return tuple(found)


def header_patch(
    route: dict[str, Any],
    stable: str,
    canary: str,
    desired: Iterable[SetHeaderRoute],
    known: Iterable[SetHeaderRoute],
) -> list[dict[str, Any]]:
    """JSON patch ops that leave exactly the `desired` header routes' rules on the route.

    Rules of `known` routes that are not desired go, each guarded by a `test` of its whole
    value (a route edited meanwhile is refused, never patched in the wrong place); missing
    desired rules are appended. Empty when the route already holds exactly those.
    """
    rules = (route.get("spec") or {}).get("rules") or []
    wanted = [rule for d in desired for rule in header_rules(route, stable, canary, d)]
    wanted_normal = [_normal(rule) for rule in wanted]
    managed = [_normal(rule) for k in known for rule in header_rules(route, stable, canary, k)]
    kept: list[Rule] = []
    removals: list[int] = []
    for index, rule in enumerate(rules):
        normal = _normal(rule)
        if normal not in managed and normal not in wanted_normal:
            continue  # the user's
        if normal in wanted_normal and normal not in kept:
            kept.append(normal)
        else:
            removals.append(index)  # no longer wanted, or a duplicate
    ops: list[dict[str, Any]] = []
    for index in reversed(removals):
        ops.append({"op": "test", "path": f"/spec/rules/{index}", "value": rules[index]})
        ops.append({"op": "remove", "path": f"/spec/rules/{index}"})
    for rule, normal in zip(wanted, wanted_normal, strict=True):
        if normal not in kept:
            kept.append(normal)
            ops.append({"op": "add", "path": "/spec/rules/-", "value": rule})
    return ops


def removes_any(ops: list[dict[str, Any]]) -> bool:
    return any(op["op"] == "remove" for op in ops)


def _normal(rule: Rule) -> Rule:
    """A rule with the API server's defaults filled in and its name left out, so that a rule
    as the operator writes it equals the same rule read back."""
    normal = copy.deepcopy(rule)
    normal.pop("name", None)
    normal["matches"] = [_normal_match(m) for m in normal.get("matches") or [{}]]
    normal["backendRefs"] = [
        {"group": "", "kind": "Service", "weight": 1, **ref}
        for ref in normal.get("backendRefs") or []
    ]
    return normal


def _normal_match(match: dict[str, Any]) -> dict[str, Any]:
    match = {"path": {"type": "PathPrefix", "value": "/"}, **match}
    match["path"] = {"type": "PathPrefix", "value": "/", **match["path"]}
    for key in ("headers", "queryParams"):
        if key in match:
            match[key] = [{"type": "Exact", **h} for h in match[key]]
    return match
