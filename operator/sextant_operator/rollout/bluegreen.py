"""BlueGreen: the preview gets every replica beside the stable; active switches at once.

Before the switch the active Service selects the stable and the preview Service the new
version. Active switches only when the preview has every replica ready (and, with
prePromotionAnalysis, the judge passed it), on its own with autoPromotion or on promote.
The old version keeps its pods scaleDownDelaySeconds after the switch, so an abort in that
window points active back at it at once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sextant_operator.api.modeldeployment import BlueGreen, RolloutStatus
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
from sextant_operator.rollout.types import Event, Tokens


def advance(p: Progress) -> Result:
    settings = p.spec.rollout.blue_green or BlueGreen()
    if p.rollout.switch_time is None:
        before = _until_switch(p, settings)
        if not before.switched:
            return before
    else:
        consumed = Tokens(promote=p.tokens.promote, full=p.tokens.promote and p.tokens.full)
        before = _hold(p, p.rollout, switched=True, consumed=consumed)
    rollout = before.rollout
    assert rollout.switch_time is not None
    ends = rollout.switch_time + timedelta(seconds=settings.scale_down_delay_seconds)
    if p.now < ends:
        message = f"active on {p.new_version}; old version kept until {ends.isoformat()}"
        rollout = rollout.model_copy(update={"state": "Promoting", "message": message})
        return replace(before, rollout=rollout, requeue_after=(ends - p.now).total_seconds())
    message = f"{p.new_version} promoted: it serves every replica"
    rollout = rollout.model_copy(update={"state": "Succeeded", "message": message})
    done = Event("Normal", "RolloutSucceeded", message)
    return replace(before, rollout=rollout, finished=True, events=(*before.events, done))


def _until_switch(p: Progress, settings: BlueGreen) -> Result:
    """Holds until the preview is ready, analysed and promoted; `switched` once it is."""
    rollout = p.rollout
    n = p.replicas
    if p.new.ready < n or p.new.total > n:
        what = f"preview {p.new_version}: {p.new.ready} of {n} replicas ready"
        rollout, requeue = waiting(p, rollout, what)
        if rollout.state == "Aborted":
            return Result(rollout, aborted=True, events=(deadline_event(rollout),))
        return replace(_hold(p, rollout), requeue_after=requeue)
    rollout = rollout.model_copy(update={"progress_start_time": None})
    promote = p.tokens.promote
    if settings.pre_promotion_analysis and not promote:
        rollout, verdict = analysis_gate(p, rollout, f"preview {p.new_version} ready")
        if verdict == "fail":
            return Result(rollout, aborted=True, events=(analysis_failed_event(rollout),))
        if verdict == "hold":
            return _hold(p, rollout)
    held = _held_short_of_switch(p, settings, rollout)
    if held is not None:
        return held
    message = f"active switched to {p.new_version}"
    rollout = rollout.model_copy(update={"switch_time": p.now, "message": message})
    consumed = Tokens(promote=promote, full=promote and p.tokens.full)
    switched = _hold(p, rollout, switched=True, consumed=consumed)
    return replace(switched, events=(Event("Normal", "Switched", message),))


def _held_short_of_switch(
    p: Progress, settings: BlueGreen, rollout: RolloutStatus
) -> Result | None:
    """Ready and analysed, yet held: stale features, or no auto-promotion. `promote` wins."""
    if p.tokens.promote:
        return None
    if p.promotion_hold:
        rollout, events = promotion_held(p, rollout)
        return replace(
            _hold(p, rollout), events=events, requeue_after=PROMOTION_HOLD_RECHECK_SECONDS
        )
    if not settings.auto_promotion:
        message = f"preview {p.new_version} ready; waiting for `sextant promote`"
        return _hold(p, rollout.model_copy(update={"state": "Paused", "message": message}))
    return None


def _hold(
    p: Progress, rollout: RolloutStatus, *, switched: bool = False, consumed: Tokens | None = None
) -> Result:
    """Both versions keep every replica; active follows `switched`."""

    return Result(
        rollout,
        stable_replicas=p.replicas,
        new_replicas=p.replicas,
        weight=100 if switched else 0,
        switched=switched,
        consumed=consumed or Tokens(),
    )
