"""When to measure, and the status bookkeeping around the judge; the I/O lives here.

`analyse` runs once per reconcile of a progressive rollout, before the engine decides.
It measures only when the rollout is at a gate (an analysis step, blue-green
pre-promotion analysis, or a canary taking traffic) and an interval has passed since the
last measurement recorded in status: child events and operator restarts never cause extra
Prometheus queries, and the run's counters live in status, so a restart resets nothing.
A gate paused as Inconclusive measures no more until `promote` moves the rollout to its
next gate (a new run) or an abort ends the run (a retry starts a new one).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sextant_operator.analysis import judge
from sextant_operator.analysis.checks import Check, Context, Measurement, checks_for
from sextant_operator.analysis.prometheus import Prometheus, PrometheusError, Scope
from sextant_operator.api.modeldeployment import (
    AnalysisRunStatus,
    BlueGreen,
    CanaryStatus,
    ModelDeployment,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    RolloutStatus,
    TrackStatus,
)
from sextant_operator.rollout.duration import seconds
from sextant_operator.rollout.types import AnalysisVerdict, Decision, Event
from sextant_operator.settings import OperatorSettings

log = logging.getLogger(__name__)
SOON = 1.0  # seconds: look again right after the rollout reaches a gate


@dataclass(frozen=True)
class Analysed:
    status: ModelDeploymentStatus | None  # the status to decide from, measurements included
    verdict: AnalysisVerdict | None
    message: str | None
    gate: str | None
    events: tuple[Event, ...] = ()
    next_in: float | None = None  # seconds until the next measurement is due

    def into(self, spec: ModelDeploymentSpec, decision: Decision) -> Decision:
        """The decision with the analysis events, and a requeue for the next measurement."""
        waits = [w for w in (decision.requeue_after, self.next_in) if w is not None]
        now_at = gate_of(spec, decision.stable, decision.canary, decision.rollout, None)
        if now_at is not None and now_at != self.gate:
            waits.append(SOON)  # just reached a gate: start its analysis now
        return replace(
            decision,
            events=(*self.events, *decision.events),
            requeue_after=min(waits) if waits else None,
        )


def gate_of(
    spec: ModelDeploymentSpec,
    stable: TrackStatus | None,
    canary: CanaryStatus | None,
    rollout: RolloutStatus | None,
    target: str | None,
) -> str | None:
    """Where the new version is being judged: "step N", "prePromotion", "background"."""
    rollout = rollout or RolloutStatus()
    if not _in_flight(spec, stable, canary, rollout, target):
        return None
    assert canary is not None
    if spec.rollout.strategy == "BlueGreen":
        settings = spec.rollout.blue_green or BlueGreen()
        ready = (canary.ready_replicas or 0) >= max(canary.replicas or 0, 1)
        wanted = settings.pre_promotion_analysis and rollout.switch_time is None and ready
        return "prePromotion" if wanted else None
    steps = spec.rollout.canary.steps if spec.rollout.canary else []
    step = canary.step or 0
    if step < len(steps) and steps[step].analysis is not None and not rollout.full_promotion:
        return f"step {step}"
    return judge.BACKGROUND if (canary.weight or 0) > 0 else None


def _in_flight(
    spec: ModelDeploymentSpec,
    stable: TrackStatus | None,
    canary: CanaryStatus | None,
    rollout: RolloutStatus,
    target: str | None,
) -> bool:
    """A new version is rolling out under an analysis spec. A new target restarts the
    rollout, so it is never judged by the old canary's measurements."""
    if spec.rollout.analysis is None or stable is None or canary is None or not canary.version:
        return False
    if canary.version in (stable.version, rollout.aborted_version):
        return False
    if rollout.state in ("Idle", "Aborted", "Succeeded"):
        return False
    return target is None or target == canary.version


def analyse(
    md: ModelDeployment,
    target: str | None,
    tracks: dict[str, str],
    settings: OperatorSettings,
    now: datetime,
) -> Analysed:
    """Measure if due, and say what the engine should read. `tracks`: version -> track."""
    spec = md.spec.rollout.analysis
    status = md.status
    if spec is None or status is None:
        return Analysed(status, None, None, None)
    rollout = status.rollout or RolloutStatus()
    gate = gate_of(md.spec, status.stable, status.canary, rollout, target)
    if gate is None:
        if rollout.state == "Aborted" and rollout.analysis_run is not None:
            # The run ends with the rollout: a retry of the same version starts afresh
            # instead of resuming a run that failed or paused (the history stays).
            rollout = rollout.model_copy(update={"analysis_run": None})
            status = status.model_copy(update={"rollout": rollout})
        # Not judging now; an analysis step reached in this reconcile waits, never passes.
        return Analysed(status, "Running", None, None)
    assert status.canary is not None
    assert status.canary.version is not None
    assert status.stable is not None
    version = status.canary.version
    run = rollout.analysis_run
    if run is None or run.version != version or run.gate != gate:
        run = AnalysisRunStatus(version=version, gate=gate, start_time=now)
    interval = timedelta(seconds=seconds(spec.interval))
    due = (run.last_measurement_time or run.start_time) + interval
    name = md.metadata.name or ""
    measured: list[Measurement] = []
    before = run
    if not _settled(run) and now >= due:
        context = Context(
            prometheus=Prometheus(spec.prometheus_url or settings.prometheus_url or ""),
            canary=_scope(md, version, tracks),
            stable=_scope(md, status.stable.version, tracks) if status.stable.version else None,
            analysis=spec,
            now=now,
        )
        no_url = not (spec.prometheus_url or settings.prometheus_url)
        measured = [measure_check(check, context, no_url) for check in checks_for(spec)]
        run = judge.record(run, measured, spec, now, name)
        due = now + interval
    history = judge.history(rollout.analysis, measured, now) if measured else rollout.analysis
    rollout = rollout.model_copy(update={"analysis": history, "analysis_run": run})
    verdict = judge.verdict(run)
    message = None
    if run.phase == "Failed":
        message = run.message
    elif run.phase in ("Inconclusive", "Error"):
        message = f"analysis {run.phase.lower()}: {run.message}"
    elif verdict == "Running":
        message = f"analysis running: {run.message}" if run.message else "analysis running"
    waiting = not _settled(run)
    return Analysed(
        status.model_copy(update={"rollout": rollout}),
        verdict,
        message,
        gate,
        events=judge.events(before, run, measured) if measured else (),
        next_in=max((due - now).total_seconds(), SOON) if waiting else None,
    )


def _settled(run: AnalysisRunStatus) -> bool:
    """Whether the run measures no more: it passed, failed, or holds a gate paused as
    Inconclusive until a person promotes (next gate, next run) or aborts. Measuring on
    would only fill the history with "no data". An Error pause keeps measuring: the next
    measurement that works resumes it. In the background nothing pauses."""
    if run.phase in ("Successful", "Failed"):
        return True
    return run.phase == "Inconclusive" and run.gate != judge.BACKGROUND


def _scope(md: ModelDeployment, version: str, tracks: dict[str, str]) -> Scope:
    assert md.metadata.namespace is not None
    assert md.metadata.name is not None
    return Scope(md.metadata.namespace, md.metadata.name, version, tracks.get(version))


def measure_check(check: Check, context: Context, no_url: bool) -> Measurement:
    if no_url:
        message = "no Prometheus: set spec.rollout.analysis.prometheusUrl or the operator's"
        return Measurement(check.name, "Error", None, f"{message} Prometheus URL setting")
    try:
        return check.measure(context)
    except PrometheusError as err:
        return Measurement(check.name, "Error", None, str(err))
    except Exception as err:  # a broken check must not stop the others, nor the reconcile
        log.exception("analysis check %s failed", check.name)
        return Measurement(check.name, "Error", None, f"{type(err).__name__}: {err}")
