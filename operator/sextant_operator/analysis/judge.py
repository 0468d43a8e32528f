"""The judge: measurements in, the analysis run's new phase out. Pure.

Per measurement the worst check decides (Failed > Error > Inconclusive > Successful).
Per run, in this order:

| counters                                   | phase        | the rollout            |
|--------------------------------------------|--------------|------------------------|
| failed > failureLimit                      | Failed       | aborts                 |
| consecutive errors > consecutiveErrorLimit | Error        | pauses until one works |
| inconclusive > inconclusiveLimit           | Inconclusive | pauses until promote   |
| successful >= count (at a gate)            | Successful   | goes on                |
| otherwise                                  | Running      | waits                  |

No data is never a pass: a measurement without samples is Inconclusive, one that could not
be taken is Error, and only Successful measurements count towards `count`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sextant_operator.analysis.checks import Measurement
from sextant_operator.api.modeldeployment import (
    Analysis,
    AnalysisMeasurement,
    AnalysisPhase,
    AnalysisRunStatus,
)
from sextant_operator.rollout.types import AnalysisVerdict, Event

BACKGROUND = "background"  # the gate while a canary takes traffic between analysis steps
HISTORY = 100  # measurements kept in status.rollout.analysis (the schema's maxItems)
_WORST: tuple[AnalysisPhase, ...] = ("Failed", "Error", "Inconclusive", "Successful")
NO_DATA = "no data"


def worst(measurements: Sequence[Measurement]) -> AnalysisPhase:
    phases = {m.phase for m in measurements}
    return next((p for p in _WORST if p in phases), "Inconclusive")  # nothing measured


def record(
    run: AnalysisRunStatus,
    measurements: Sequence[Measurement],
    analysis: Analysis,
    now: datetime,
    name: str,
) -> AnalysisRunStatus:
    """The run after one measurement (all checks taken at `now`)."""
    phase = worst(measurements)
    counts = {
        "successful": run.successful + (phase == "Successful"),
        "failed": run.failed + (phase == "Failed"),
        "inconclusive": run.inconclusive + (phase == "Inconclusive"),
        "consecutive_errors": run.consecutive_errors + 1 if phase == "Error" else 0,
    }
    run = run.model_copy(update={**counts, "last_measurement_time": now})
    return judge(run, measurements, analysis, name)


def judge(
    run: AnalysisRunStatus,
    latest: Sequence[Measurement],
    analysis: Analysis,
    name: str,
) -> AnalysisRunStatus:
    """The verdict table above; the message says what to do."""
    why = "; ".join(f"{m.metric}: {m.message}" for m in latest if not m.passed)
    taken = run.successful + run.failed + run.inconclusive
    if run.failed > analysis.failure_limit:
        message = (
            f"{run.failed} of {taken} measurements failed (failureLimit {analysis.failure_limit})"
            + (f": {why}" if why else "")
        )
        return run.model_copy(update={"phase": "Failed", "message": message})
    if run.consecutive_errors > analysis.consecutive_error_limit:
        message = (
            f"{run.consecutive_errors} measurements in a row could not be taken: {why}. Fix "
            f"Prometheus or spec.rollout.analysis.prometheusUrl and analysis resumes; "
            f"`sextant promote {name}` skips it, `sextant abort {name}` aborts"
        )
        return run.model_copy(update={"phase": "Error", "message": message})
    if run.phase == "Inconclusive" or run.inconclusive > analysis.inconclusive_limit:
        if run.phase == "Inconclusive":
            return run
        message = (
            f"inconclusive {run.inconclusive} times (inconclusiveLimit "
            f"{analysis.inconclusive_limit}): {why or NO_DATA}. Send traffic to "
            f"{run.version} or wait for more samples, then `sextant promote {name}` to go on; "
            f"`sextant abort {name}` aborts"
        )
        return run.model_copy(update={"phase": "Inconclusive", "message": message})
    if run.gate != BACKGROUND and run.successful >= analysis.count:
        message = f"{run.successful} of {taken} measurements passed"
        return run.model_copy(update={"phase": "Successful", "message": message})
    message = f"{run.successful} of {analysis.count} passing measurements" + (
        f"; last: {why}" if why else ""
    )
    return run.model_copy(update={"phase": "Running", "message": message})


def verdict(run: AnalysisRunStatus) -> AnalysisVerdict:
    """What the rollout engine reads. A background run only ever aborts or waits."""
    if run.phase == "Failed":
        return "Failed"
    if run.gate == BACKGROUND or run.phase == "Running":
        return "Running"
    if run.phase == "Successful":
        return "Successful"
    if run.phase == "Inconclusive" and NO_DATA in (run.message or ""):
        return "NoData"
    return "Inconclusive"  # Inconclusive, or Error: the rollout pauses


def history(
    previous: Sequence[AnalysisMeasurement], measurements: Sequence[Measurement], now: datetime
) -> list[AnalysisMeasurement]:
    entries = [
        AnalysisMeasurement(
            time=now,
            metric=m.metric,
            value=m.value,
            passed=m.passed,
            phase=m.phase,
            message=m.message[:1024] or None,
        )
        for m in measurements
    ]
    return [*previous, *entries][-HISTORY:]


def events(
    before: AnalysisRunStatus, after: AnalysisRunStatus, measurements: Sequence[Measurement]
) -> tuple[Event, ...]:
    """A Warning per failed measurement, and one when the run changes phase."""
    found = [
        Event("Warning", "AnalysisMeasurementFailed", f"{m.metric}: {m.message}")
        for m in measurements
        if m.phase == "Failed"
    ]
    if after.phase not in (before.phase, "Running"):
        kind: Literal["Normal", "Warning"] = "Warning"
        if after.phase == "Successful":
            kind = "Normal"
        found.append(Event(kind, f"Analysis{after.phase}", after.message or ""))
    return tuple(found)
