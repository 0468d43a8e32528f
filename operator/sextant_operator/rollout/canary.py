"""Canary: setWeight / pause / analysis / setHeaderRoute steps over Replicas or GatewayAPI.

The weight of a step is the last setWeight at or before it; after the last step (or
promote --full) the goal is 100%, and the canary becomes the stable once it holds every
replica. Timers (pauses) start only when the weight is in place, so a slow model load
never eats into a pause; only waiting for ready pods counts against the progress deadline.
Header routes (GatewayAPI only) send a cohort to the canary whatever the weight: while any
is active the canary keeps at least one pod, and they are on the route only while it has a
ready one, as weight only ever goes to ready capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Literal

from sextant_operator.api.modeldeployment import CanaryStep, RolloutStatus, SetHeaderRoute
from sextant_operator.rollout.duration import seconds
from sextant_operator.rollout.gatewayapi import canary_replicas, routable_weight
from sextant_operator.rollout.progress import (
    PROMOTION_HOLD_RECHECK_SECONDS,
    Progress,
    Result,
    analysis_failed_event,
    analysis_gate,
    deadline_event,
    promotion_held,
    waiting,
)
from sextant_operator.rollout.replicas import Split, observed_weight, split
from sextant_operator.rollout.types import Event, Tokens

ROUTE_CHECK_SECONDS = 1.0  # a weight was just set on the HTTPRoute: look again this soon


def _gateway(p: Progress) -> str | None:
    """The HTTPRoute's name with GatewayAPI routing, else None."""
    canary = p.spec.rollout.canary
    if canary is None or canary.traffic_routing.type != "GatewayAPI":
        return None
    assert canary.traffic_routing.gateway_api is not None
    return canary.traffic_routing.gateway_api.http_route


def _counts(p: Progress, weight: int, headers: list[SetHeaderRoute]) -> Split:
    if _gateway(p) is None:
        return split(weight, p.replicas, p.new, p.stable)
    # The stable keeps every replica; the weight counts only once it is on the route.
    pods = canary_replicas(weight, p.replicas)
    if headers:
        pods = max(pods, 1)  # a cohort is sent to it whatever the weight
    reached = p.new.ready >= pods and p.route_weight == weight
    return Split(pods, p.replicas, p.replicas, reached)


def advance(p: Progress) -> Result:
    canary = p.spec.rollout.canary
    steps: list[CanaryStep] = canary.steps if canary else []
    rollout = p.rollout
    route = _gateway(p)
    if route is not None and p.route_weight is None:
        return _no_route(p, route)
    step = min(p.step, len(steps))
    consumed = Tokens(promote=p.tokens.promote, full=p.tokens.promote and p.tokens.full)
    events: list[Event] = []
    if p.tokens.promote:
        rollout, step, promoted = _promote(p, rollout, step, len(steps))
        events.append(promoted)

    if p.analysis == "Failed":  # background analysis while the canary takes traffic
        rollout, _ = analysis_gate(p, rollout, f"step {step}")
        events.append(analysis_failed_event(rollout))
        return Result(rollout, aborted=True, events=tuple(events), consumed=consumed)

    requeue: float | None = None
    for _ in range(len(steps) + 1):
        final = step >= len(steps) or bool(rollout.full_promotion)
        if final and p.promotion_hold and not rollout.full_promotion:
            rollout, held = promotion_held(p, rollout)
            events.extend(held)
            requeue = PROMOTION_HOLD_RECHECK_SECONDS
            break
        weight = 100 if final else _weight_at(steps, step)
        counts = _counts(p, weight, rollout.header_routes)
        if not counts.reached:
            rollout, requeue = waiting(p, rollout, _short_of(p, step, weight, counts))
            if rollout.state == "Aborted":
                events.append(deadline_event(rollout))
                return Result(rollout, aborted=True, events=tuple(events), consumed=consumed)
            break
        rollout = rollout.model_copy(update={"progress_start_time": None})
        if final:
            message = f"{p.new_version} promoted: it serves every replica"
            events.append(Event("Normal", "RolloutSucceeded", message))
            rollout = rollout.model_copy(update={"state": "Succeeded", "message": message})
            return Result(rollout, finished=True, events=tuple(events), consumed=consumed)
        outcome = _run_step(p, rollout, step, steps[step], weight)
        rollout, requeue = outcome.rollout, outcome.requeue
        events.extend(outcome.events)
        if outcome.verdict == "aborted":
            return Result(rollout, aborted=True, events=tuple(events), consumed=consumed)
        if outcome.verdict == "hold":
            break
        step += 1

    final = step >= len(steps) or bool(rollout.full_promotion)
    final = final and not (p.promotion_hold and not rollout.full_promotion)
    weight = 100 if final else _weight_at(steps, step)
    counts = _counts(p, weight, rollout.header_routes)
    routed, requeue = _routed(p, weight, requeue)
    headers, requeue = _routed_headers(p, rollout.header_routes, requeue)
    return replace(
        Result(rollout),
        stable_replicas=counts.stable,
        new_replicas=counts.canary,
        weight=routed,
        step=step,
        requeue_after=requeue,
        events=tuple(events),
        consumed=consumed,
        header_routes=headers,
    )


@dataclass(frozen=True)
class _Outcome:
    rollout: RolloutStatus
    verdict: Literal["next", "hold", "aborted"]
    requeue: float | None = None
    events: tuple[Event, ...] = ()


def _run_step(
    p: Progress, rollout: RolloutStatus, step: int, current: CanaryStep, weight: int
) -> _Outcome:
    """One step whose weight is in place: done (next), waiting (hold), or aborted."""
    if current.set_weight is not None:
        return _Outcome(rollout, "next")
    if current.set_header_route is not None:
        return _header_step(p, rollout, step, current.set_header_route, weight)
    if current.pause is not None:
        rollout, requeue, done = _pause(p, rollout, step, current)
        return _Outcome(rollout, "next" if done else "hold", requeue)
    rollout, verdict = analysis_gate(p, rollout, f"step {step}")
    if verdict == "fail":
        return _Outcome(rollout, "aborted", events=(analysis_failed_event(rollout),))
    return _Outcome(rollout, "next" if verdict == "pass" else "hold")


def _header_step(
    p: Progress, rollout: RolloutStatus, step: int, wanted: SetHeaderRoute, weight: int
) -> _Outcome:
    """Done once the route holds exactly the header routes active after this step."""
    headers = _with_route(rollout.header_routes, wanted)
    rollout = rollout.model_copy(update={"header_routes": headers})
    if _headers_in_place(p, headers):
        return _Outcome(rollout, "next", events=(_header_event(p, step, wanted),))
    counts = _counts(p, weight, headers)
    what = f"step {step}: header route {wanted.name} going onto the HTTPRoute"
    # The weight being in place reset the deadline's start; waiting for the rule does not.
    rollout = rollout.model_copy(update={"progress_start_time": p.rollout.progress_start_time})
    rollout, requeue = waiting(
        p, rollout, what if counts.reached else _short_of(p, step, weight, counts)
    )
    if rollout.state == "Aborted":
        return _Outcome(rollout, "aborted", events=(deadline_event(rollout),))
    return _Outcome(rollout, "hold", min(requeue or ROUTE_CHECK_SECONDS, ROUTE_CHECK_SECONDS))


def _with_route(active: list[SetHeaderRoute], step: SetHeaderRoute) -> list[SetHeaderRoute]:
    """The active header routes after a setHeaderRoute step: one of that name is replaced,
    or removed when the step has no match."""
    kept = [route for route in active if route.name != step.name]
    return kept if step.match is None else [*kept, step]


def _headers_in_place(p: Progress, headers: list[SetHeaderRoute]) -> bool:
    """The route holds exactly these header routes (none only when the canary has a ready
    pod to take the cohort)."""
    on_route = list(p.header_routes)
    if headers and p.new.ready < 1:
        return False
    return all(h in on_route for h in headers) and all(h in headers for h in on_route)


def _routed_headers(
    p: Progress, headers: list[SetHeaderRoute], requeue: float | None
) -> tuple[tuple[SetHeaderRoute, ...], float | None]:
    """The header routes to put on the route: none while the canary has no ready pod."""
    if _gateway(p) is None:
        return (), requeue
    routed = tuple(headers) if p.new.ready >= 1 else ()
    on_route = list(p.header_routes)
    if not (all(h in on_route for h in routed) and all(h in routed for h in on_route)):
        requeue = min(requeue or ROUTE_CHECK_SECONDS, ROUTE_CHECK_SECONDS)
    return routed, requeue


def _header_event(p: Progress, step: int, route: SetHeaderRoute) -> Event:
    if route.match is None:
        return Event(
            "Normal", "HeaderRouteRemoved", f"step {step}: header route {route.name} removed"
        )
    cohort = ", ".join(f"{m.header} {m.type} {m.value!r}" for m in route.match)
    message = (
        f"step {step}: requests with {cohort} go to {p.new_version} (header route {route.name})"
    )
    return Event("Normal", "HeaderRouteSet", message)


def _short_of(p: Progress, step: int, weight: int, counts: Split) -> str:
    what = (
        f"step {step}: {weight}% needs {counts.canary} ready pods of {p.new_version} "
        f"(has {p.new.ready}) and {counts.stable_goal} of stable (has {p.stable.total})"
    )
    route = _gateway(p)
    return what if route is None else f"{what}; HTTPRoute {route} at {p.route_weight}%"


def _no_route(p: Progress, route: str) -> Result:
    message = (
        f"HTTPRoute {route}: no rule has both backendRefs NAME-stable and NAME-canary "
        "(the Services of this ModelDeployment NAME), so no weight can be set; every "
        "replica stays on stable. Fix the route, or `sextant abort`"
    )
    held = p.rollout.model_copy(update={"state": "Paused", "message": message})
    # Header routes need the same rules to copy: whatever of them is on the route stays.
    kept = tuple(p.header_routes)
    return replace(
        Result(held), stable_replicas=p.replicas, new_replicas=0, step=p.step, header_routes=kept
    )


def _routed(p: Progress, weight: int, requeue: float | None) -> tuple[int, float | None]:
    """The canary's weight: its share of ready pods (Replicas), or what goes on the route."""
    if _gateway(p) is None:
        return observed_weight(p.new, p.stable), requeue
    # Only ever to ready canary capacity: while the pods are short, the weight holds.
    routed = routable_weight(weight, p.replicas, p.new, p.route_weight or 0)
    if routed != p.route_weight:
        requeue = min(requeue or ROUTE_CHECK_SECONDS, ROUTE_CHECK_SECONDS)
    return routed, requeue


def _promote(
    p: Progress, rollout: RolloutStatus, step: int, count: int
) -> tuple[RolloutStatus, int, Event]:
    """promote skips the current step; promote --full skips them all (readiness still rules)."""
    rollout = rollout.model_copy(update={"pause_start_time": None})
    if p.tokens.full:
        rollout = rollout.model_copy(update={"full_promotion": True})
        return rollout, step, Event("Normal", "Promoted", "promote --full: remaining steps skipped")
    if step < count:
        return rollout, step + 1, Event("Normal", "Promoted", f"promote: step {step} skipped")
    return rollout, step, Event("Normal", "Promoted", "promote: already past the last step")


def _pause(
    p: Progress, rollout: RolloutStatus, step: int, current: CanaryStep
) -> tuple[RolloutStatus, float | None, bool]:
    """(rollout, requeue after, whether the pause is over)."""
    assert current.pause is not None
    started = rollout.pause_start_time or p.now
    if current.pause.duration is None:
        message = f"step {step}: paused until promoted"
        update = {"state": "Paused", "message": message, "pause_start_time": started}
        return rollout.model_copy(update=update), None, False
    ends = started + timedelta(seconds=seconds(current.pause.duration))
    if p.now >= ends:
        return rollout.model_copy(update={"pause_start_time": None}), None, True
    message = f"step {step}: paused until {ends.isoformat()}"
    update = {"state": "Paused", "message": message, "pause_start_time": started}
    return rollout.model_copy(update=update), (ends - p.now).total_seconds(), False


def _weight_at(steps: list[CanaryStep], step: int) -> int:
    """The last setWeight at or before `step`: a pause holds the weight before it."""
    for s in reversed(steps[: step + 1]):
        if s.set_weight is not None:
            return s.set_weight
    return 0
