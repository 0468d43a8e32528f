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

    conditions = _with_inert_fields(conditions, dm, now)
    return DriftMonitorStatus(
        observed_generation=generation, conditions=conditions, last_check=check
    )


def inert_fields(dm: DriftMonitor) -> list[str]:
    """Fields whose effect this version cannot guarantee, named instead of ignored.

    The check tests the columns it is given: with spec.features listed, the model's outputs
    are tested only if listed too; without, every reference column is tested, so outputs
    are tested exactly when the reference holds them, whatever spec.predictions says.
    """
    if dm.spec.predictions and dm.spec.features:
        return [
            "spec.predictions: with spec.features listed, outputs are tested only when "
            "listed there too (as OUTPUT or OUTPUT_0, ...)"
        ]
    if dm.spec.predictions:
        return [
            "spec.predictions: outputs are tested only when the reference data has their "
            "columns (OUTPUT or OUTPUT_0, ...)"
        ]
    if not dm.spec.features:
        return [
            "spec.predictions: false is not applied: every reference column is tested, "
            "outputs included when the reference has them; list spec.features instead"
        ]
    return []


def _with_inert_fields(
    conditions: list[Condition], dm: DriftMonitor, now: datetime
) -> list[Condition]:
    kept = [c for c in conditions if c.type != NOT_IMPLEMENTED]
    inert = inert_fields(dm)
    if not inert:
        return kept
    previous = [c for c in conditions if c.type == NOT_IMPLEMENTED]
    return set_condition(
        [*kept, *previous],
        NOT_IMPLEMENTED,
        status=True,
        reason="FieldsPartlyApplied",
        message="; ".join(inert),
        generation=dm.metadata.generation,
        now=now,
    )


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
