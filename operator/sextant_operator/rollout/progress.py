"""What a strategy gets to advance a rollout by one reconcile, and what it gives back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sextant_operator.api.modeldeployment import (
    ModelDeploymentSpec,
    RolloutStatus,
    SetHeaderRoute,
)
from sextant_operator.rollout.types import AnalysisVerdict, Event, Tokens, VersionState

ANALYSIS_UNAVAILABLE = (
    "needs the analysis judge, which this operator version does not have yet: it never "
    "passes by itself. `sextant promote NAME` continues, `sextant abort NAME` aborts"
)


@dataclass(frozen=True)
class Progress:
    spec: ModelDeploymentSpec
    replicas: int
    stable: VersionState
    new: VersionState
    new_version: str
    rollout: RolloutStatus
    step: int
    tokens: Tokens
    analysis: AnalysisVerdict | None
    now: datetime
    analysis_message: str | None = None
    route_weight: int | None = None  # GatewayAPI: the canary weight on the HTTPRoute now
    promotion_hold: str | None = None  # why promotion must wait (stale features)
    header_routes: tuple[SetHeaderRoute, ...] = ()  # GatewayAPI: header routes on it now

    @property
    def deadline(self) -> timedelta:
        return timedelta(seconds=self.spec.rollout.progress_deadline_seconds)


@dataclass(frozen=True)
class Result:
    rollout: RolloutStatus
    stable_replicas: int = 0
    new_replicas: int = 0
    weight: int = 0
    step: int = 0
    switched: bool = False  # BlueGreen: active points at the new version
    header_routes: tuple[SetHeaderRoute, ...] = ()  # GatewayAPI: to put on the HTTPRoute
    finished: bool = False  # the new version is the stable now
    aborted: bool = False
    requeue_after: float | None = None
    events: tuple[Event, ...] = ()
    consumed: Tokens = field(default_factory=Tokens)


def steps_hash(spec: ModelDeploymentSpec) -> str:
    canary = spec.rollout.canary
    steps = [s.model_dump(by_alias=True, exclude_none=True) for s in canary.steps] if canary else []
    return hashlib.sha256(json.dumps(steps, sort_keys=True).encode()).hexdigest()[:16]


def waiting(p: Progress, rollout: RolloutStatus, what: str) -> tuple[RolloutStatus, float | None]:
    """Short of ready pods: start or check the progress deadline.

    Returns the rollout (state Aborted when the deadline passed) and when to look again.
    """
    started = rollout.progress_start_time or p.now
    left = (started + p.deadline - p.now).total_seconds()
    if left < 0:
        message = (
            f"{p.new_version} did not get ready within progressDeadlineSeconds "
            f"({p.spec.rollout.progress_deadline_seconds}): {what}"
        )
        return rollout.model_copy(
            update={
                "state": "Aborted",
                "message": message,
                "aborted_version": p.new_version,
                "abort_time": p.now,
                "abort_scale_down_time": None,
                "progress_start_time": None,
            }
        ), None
    return rollout.model_copy(
        update={"state": "Progressing", "message": what, "progress_start_time": started}
    ), max(left, 1.0)


def deadline_event(rollout: RolloutStatus) -> Event:
    return Event("Warning", "ProgressDeadlineExceeded", rollout.message or "")


def analysis_gate(p: Progress, rollout: RolloutStatus, where: str) -> tuple[RolloutStatus, str]:
    """The judge's verdict as "pass", "fail" (rollout Aborted) or "hold" (Paused/Progressing).

    Without a judge (verdict None) an analysis holds with a reason; it never passes.
    """
    verdict = p.analysis
    if verdict == "Successful":
        return rollout, "pass"
    if verdict == "Failed":
        message = f"{where}: analysis failed, {p.new_version} aborted"
        message += f"; {p.analysis_message}" if p.analysis_message else ""
        update = {
            "state": "Aborted",
            "message": message,
            "aborted_version": p.new_version,
            "abort_time": p.now,
            "abort_scale_down_time": None,
        }
        return rollout.model_copy(update=update), "fail"
    why = {"Running": "running", "Inconclusive": "inconclusive", "NoData": "no data"}
    state = "Progressing" if verdict == "Running" else "Paused"
    message = f"{where}: {p.analysis_message}" if p.analysis_message else ""
    message = message or f"{where}: analysis {why.get(verdict or '', ANALYSIS_UNAVAILABLE)}"
    return rollout.model_copy(update={"state": state, "message": message}), "hold"


def analysis_failed_event(rollout: RolloutStatus) -> Event:
    return Event("Warning", "AnalysisFailed", rollout.message or "")


# A hold on promotion is looked at again this often: what it waits for (a FeatureView
# turning fresh) sends no event to the ModelDeployment.
PROMOTION_HOLD_RECHECK_SECONDS = 15.0


def promotion_held(p: Progress, rollout: RolloutStatus) -> tuple[RolloutStatus, tuple[Event, ...]]:
    """Paused short of promotion while `promotion_hold` says why; a Warning as it begins."""
    message = (
        f"promotion of {p.new_version} held: {p.promotion_hold}. It goes on once that clears; "
        "`sextant promote --full` promotes anyway, `sextant abort` aborts"
    )
    held = rollout.model_copy(update={"state": "Paused", "message": message})
    if rollout.state == "Paused" and rollout.message == message:
        return held, ()
    return held, (Event("Warning", "PromotionHeld", message),)
