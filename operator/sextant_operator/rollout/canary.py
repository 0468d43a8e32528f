"""Canary: setWeight / pause / analysis steps over Replicas or GatewayAPI routing.

The weight of a step is the last setWeight at or before it; after the last step (or
promote --full) the goal is 100%, and the canary becomes the stable once it holds every
replica. Timers (pauses) start only when the weight is in place, so a slow model load
never eats into a pause; only waiting for ready pods counts against the progress deadline.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sextant_operator.api.modeldeployment import CanaryStep, RolloutStatus
from sextant_operator.rollout.duration import seconds
from sextant_operator.rollout.gatewayapi import canary_replicas, routable_weight
from sextant_operator.rollout.progress import (
    Progress,
    Result,
    analysis_failed_event,
    analysis_gate,
    deadline_event,
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


def _counts(p: Progress, weight: int) -> Split:
    if _gateway(p) is None:
        return split(weight, p.replicas, p.new, p.stable)
    # The stable keeps every replica; the weight counts only once it is on the route.
    pods = canary_replicas(weight, p.replicas)
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
        weight = 100 if final else _weight_at(steps, step)
        counts = _counts(p, weight)
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
        current = steps[step]
        if current.set_weight is not None:
            step += 1
            continue
        if current.pause is not None:
            rollout, requeue, done = _pause(p, rollout, step, current)
            if done:
                step += 1
                continue
            break
        rollout, verdict = analysis_gate(p, rollout, f"step {step}")
        if verdict == "pass":
            step += 1
            continue
        if verdict == "fail":
            events.append(analysis_failed_event(rollout))
            return Result(rollout, aborted=True, events=tuple(events), consumed=consumed)
        break

    final = step >= len(steps) or bool(rollout.full_promotion)
    weight = 100 if final else _weight_at(steps, step)
    counts = _counts(p, weight)
    routed, requeue = _routed(p, weight, requeue)
    return replace(
        Result(rollout),
        stable_replicas=counts.stable,
        new_replicas=counts.canary,
        weight=routed,
        step=step,
        requeue_after=requeue,
        events=tuple(events),
        consumed=consumed,
    )


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
    return replace(Result(held), stable_replicas=p.replicas, new_replicas=0, step=p.step)


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
