"""A DriftMonitor's whole status from what one reconcile saw. Pure: no I/O.

Ready follows kstatus: False with a reason a program can switch on while checks cannot run
or the last one failed; True once checks are scheduled and the last one worked. Drifted
carries the verdict (Unknown before the first check), ActionsSucceeded what the actions
triggered by the last drifting check did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sextant_operator.api import Condition
from sextant_operator.api.driftmonitor import DriftCheck, DriftMonitor, DriftMonitorStatus
from sextant_operator.conditions import set_condition
from sextant_operator.inert import NOT_IMPLEMENTED

READY = "Ready"
DRIFTED = "Drifted"
ACTIONS = "ActionsSucceeded"
_NAMED_FEATURES = 10


@dataclass(frozen=True)
class Problem:
    """Why checks cannot run or report (Ready=False): a CamelCase reason and a message."""

    reason: str
    message: str


@dataclass(frozen=True)
class Seen:
    problem: Problem | None  # checks cannot run, or the last result cannot be read
    last_check: DriftCheck | None  # the newest recorded check (new or from status)
    failed_check: Problem | None = None  # the newest Job failed, after last_check
    action_failures: tuple[str, ...] | None = None  # None: no actions ran this time


def summary(check: DriftCheck) -> str:
    drifted = [f.name for f in check.features if f.drifted]
    tested = [f for f in check.features if f.test is not None]
    named = ", ".join(drifted[:_NAMED_FEATURES]) + (", ..." if len(drifted) > 10 else "")
    share = check.drift_share or 0.0
    return (
        f"{len(drifted)} of {len(tested)} tested features drifted (share {share:.2f}) "
        f"in {check.sample_size} logged rows" + (f": {named}" if drifted else "")
    )


def compute_status(dm: DriftMonitor, seen: Seen, now: datetime) -> DriftMonitorStatus:
    previous = dm.status or DriftMonitorStatus()
    generation = dm.metadata.generation
    conditions = list(previous.conditions)

    def put(type_: str, value: bool, reason: str, message: str) -> None:
        nonlocal conditions
        conditions = set_condition(
            conditions,
            type_,
            status=value,
            reason=reason,
            message=message,
            generation=generation,
            now=now,
        )

    check = seen.last_check
    alerting = any(a.type == "Alert" for a in dm.spec.actions)
    if seen.problem is not None:
        put(READY, False, seen.problem.reason, seen.problem.message)
    elif seen.failed_check is not None:
        put(READY, False, seen.failed_check.reason, seen.failed_check.message)
    elif check is None:
        put(READY, True, "Scheduled", f"the first check runs on schedule {dm.spec.schedule!r}")
    elif check.dataset_drift and alerting:
        put(READY, True, "DriftDetected", f"dataset drift: {summary(check)}")
    else:
        put(READY, True, "Checked", summary(check))

    if check is None:
        conditions = _unknown(conditions, DRIFTED, "NotCheckedYet", "no check has finished", now)
    elif check.dataset_drift:
        put(DRIFTED, True, "DatasetDrift", summary(check))
    else:
        put(DRIFTED, False, "NoDatasetDrift", summary(check))

    if seen.action_failures is not None:
        if seen.action_failures:
            put(ACTIONS, False, "ActionFailed", "; ".join(seen.action_failures))
        else:
            put(ACTIONS, True, "ActionsDone", "every action of the last drifting check worked")

    conditions = _without_not_implemented(conditions)
    return DriftMonitorStatus(
        observed_generation=generation, conditions=conditions, last_check=check
    )


def _without_not_implemented(conditions: list[Condition]) -> list[Condition]:
    """Every DriftMonitor field is applied now; an older operator's NotImplemented
    condition (spec.predictions was partly applied) is removed rather than left stale."""
    return [c for c in conditions if c.type != NOT_IMPLEMENTED]


def _unknown(
    conditions: list[Condition], type_: str, reason: str, message: str, now: datetime
) -> list[Condition]:
    if any(c.type == type_ and c.status == "Unknown" for c in conditions):
        return conditions
    updated = Condition(
        type=type_,
        status="Unknown",
        reason=reason,
        message=message,
        last_transition_time=now.replace(microsecond=0),
    )
    return [*(c for c in conditions if c.type != type_), updated]
