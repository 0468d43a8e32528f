"""Canary: setWeight / pause / analysis steps over Replicas routing.

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
from sextant_operator.rollout.progress import (
    Progress,
    Result,
    analysis_failed_event,
    analysis_gate,
    deadline_event,
    waiting,
)
from sextant_operator.rollout.replicas import observed_weight, split
from sextant_operator.rollout.types import Event, Tokens

# Accepted by the API, not built yet: a rollout that asks for it holds instead of
# silently splitting traffic by replicas.
GATEWAY_API_PENDING = (
    "trafficRouting type GatewayAPI is not implemented yet: the rollout holds with every "
    "replica and all traffic on stable. Use trafficRouting type Replicas, or `sextant abort`"
)


def advance(p: Progress) -> Result:
    canary = p.spec.rollout.canary
    steps: list[CanaryStep] = canary.steps if canary else []
    rollout = p.rollout
    if canary is not None and canary.traffic_routing.type == "GatewayAPI":
        held = rollout.model_copy(update={"state": "Paused", "message": GATEWAY_API_PENDING})
        return replace(Result(held), stable_replicas=p.replicas, new_replicas=0, step=p.step)
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
        counts = split(weight, p.replicas, p.new, p.stable)
        if not counts.reached:
            what = (
                f"step {step}: {weight}% needs {counts.canary} ready pods of {p.new_version} "
                f"(has {p.new.ready}) and {counts.stable_goal} of stable (has {p.stable.total})"
            )
            rollout, requeue = waiting(p, rollout, what)
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
    counts = split(weight, p.replicas, p.new, p.stable)
    return replace(
        Result(rollout),
        stable_replicas=counts.stable,
        new_replicas=counts.canary,
        weight=observed_weight(p.new, p.stable),
        step=step,
        requeue_after=requeue,
        events=tuple(events),
        consumed=consumed,
    )


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
