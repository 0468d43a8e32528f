"""When the analysis measures, where the new version is judged, and what lives in status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sextant_operator.analysis import runner
from sextant_operator.analysis.checks import Context, Measurement
from sextant_operator.analysis.judge import BACKGROUND
from sextant_operator.analysis.runner import analyse, gate_of
from sextant_operator.api import ModelDeployment
from sextant_operator.api.modeldeployment import (
    AnalysisRunStatus,
    CanaryStatus,
    ModelDeploymentStatus,
    RolloutStatus,
    TrackStatus,
)
from sextant_operator.rollout.types import Decision, Event
from sextant_operator.settings import OperatorSettings
from tests.unit.operator.builders import model_deployment

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SETTINGS = OperatorSettings(prometheus_url="http://prometheus:9090")
STEPS = [{"setWeight": 10}, {"analysis": {}}, {"setWeight": 50}, {"pause": {}}]
ANALYSIS = {"interval": "30s", "maxErrorRate": 0.01, "count": 2, "failureLimit": 1}
STABLE = TrackStatus(version="7", replicas=3, ready_replicas=3)
PROGRESSING = RolloutStatus(state="Progressing")


def spec(**rollout: Any) -> dict[str, Any]:
    body = {"strategy": "Canary", "canary": {"steps": STEPS}, "analysis": ANALYSIS, **rollout}
    if body["strategy"] != "Canary":
        del body["canary"]
    return {"model": {"uri": "https://models.example/fraud.onnx"}, "rollout": body}


def canary_at(step: int, weight: int, **extra: Any) -> CanaryStatus:
    return CanaryStatus(
        version="8", replicas=1, ready_replicas=1, step=step, weight=weight, **extra
    )


def deployment(
    canary: CanaryStatus | None, rollout: RolloutStatus | None = None, **spec_extra: Any
) -> ModelDeployment:
    md = model_deployment(spec(**spec_extra))
    md.status = ModelDeploymentStatus(
        stable=STABLE, canary=canary, rollout=rollout or RolloutStatus(state="Progressing")
    )
    return md


@dataclass
class Scripted:
    """A check that answers the phases it is given, one per measurement, and counts calls."""

    phases: list[str]
    name: str = "error-rate"
    seen: list[Context] = field(default_factory=list)

    def measure(self, ctx: Context) -> Measurement:
        self.seen.append(ctx)
        phase = self.phases[min(len(self.seen), len(self.phases)) - 1]
        return Measurement(self.name, phase, 0.05 if phase == "Failed" else None, phase)  # type: ignore[arg-type]


@pytest.fixture
def check(monkeypatch: pytest.MonkeyPatch) -> Scripted:
    scripted = Scripted(["Successful"])
    monkeypatch.setattr(runner, "checks_for", lambda analysis: [scripted])
    return scripted


def reconcile(md: ModelDeployment, now: datetime, target: str | None = "8") -> runner.Analysed:
    """One reconcile: analyse, and keep its status as the next reconcile's."""
    judged = analyse(md, target, {"7": "stable", "8": "canary"}, SETTINGS, now)
    md.status = judged.status
    return judged


def test_an_analysis_step_is_a_gate() -> None:
    md = deployment(canary_at(1, 10))
    assert gate_of(md.spec, STABLE, canary_at(1, 10), PROGRESSING, "8") == "step 1"


def test_a_canary_taking_traffic_between_analysis_steps_is_judged_in_the_background() -> None:
    md = deployment(canary_at(2, 50))
    assert gate_of(md.spec, STABLE, canary_at(2, 50), PROGRESSING, "8") == BACKGROUND
    assert gate_of(md.spec, STABLE, canary_at(0, 0), PROGRESSING, "8") is None


@pytest.mark.parametrize(
    ("rollout", "target"),
    [
        (RolloutStatus(state="Aborted"), "8"),
        (RolloutStatus(state="Progressing", aborted_version="8"), "8"),
        (RolloutStatus(state="Succeeded"), "8"),
        (RolloutStatus(state="Progressing"), "9"),  # a new target restarts the rollout
    ],
)
def test_nothing_is_judged_outside_a_rollout_of_the_target(
    rollout: RolloutStatus, target: str
) -> None:
    md = deployment(canary_at(1, 10))
    assert gate_of(md.spec, STABLE, canary_at(1, 10), rollout, target) is None


def test_without_an_analysis_spec_nothing_is_judged() -> None:
    md = model_deployment(
        {
            "model": {"uri": "https://models.example/fraud.onnx"},
            "rollout": {"strategy": "Canary", "canary": {"steps": [{"setWeight": 10}]}},
        }
    )
    assert gate_of(md.spec, STABLE, canary_at(0, 10), PROGRESSING, "8") is None


def test_blue_green_judges_a_ready_preview_before_the_switch_only() -> None:
    md = deployment(
        None,
        strategy="BlueGreen",
        blueGreen={"prePromotionAnalysis": True, "autoPromotion": False},
    )
    ready = CanaryStatus(version="8", replicas=2, ready_replicas=2)
    starting = CanaryStatus(version="8", replicas=2, ready_replicas=1)
    assert gate_of(md.spec, STABLE, ready, PROGRESSING, "8") == "prePromotion"
    assert gate_of(md.spec, STABLE, starting, PROGRESSING, "8") is None
    switched = RolloutStatus(state="Progressing", switch_time=T0)
    assert gate_of(md.spec, STABLE, ready, switched, "8") is None


def test_the_first_measurement_waits_one_interval_after_the_gate_is_reached(
    check: Scripted,
) -> None:
    md = deployment(canary_at(1, 10))
    judged = reconcile(md, T0)
    assert check.seen == []
    assert judged.verdict == "Running"
    assert judged.gate == "step 1"
    assert judged.next_in == 30
    reconcile(md, T0 + timedelta(seconds=29))
    assert check.seen == []
    reconcile(md, T0 + timedelta(seconds=30))
    assert len(check.seen) == 1
    assert check.seen[0].canary.track == "canary"
    assert check.seen[0].stable is not None
    assert check.seen[0].stable.version == "7"


def test_reconciles_within_an_interval_never_query_prometheus_again(check: Scripted) -> None:
    md = deployment(canary_at(1, 10))
    for s in (0, 30, 31, 35, 45, 59):  # child events, requeues
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert len(check.seen) == 1
    assert judged.next_in == pytest.approx(1.0)


def test_counters_and_last_measurement_time_survive_an_operator_restart(check: Scripted) -> None:
    md = deployment(canary_at(1, 10))
    reconcile(md, T0)
    reconcile(md, T0 + timedelta(seconds=30))
    # A restarted operator reads the object back from the API server: only status is kept.
    restarted = ModelDeployment.model_validate(md.model_dump(by_alias=True, mode="json"))
    judged = reconcile(restarted, T0 + timedelta(seconds=40))
    assert len(check.seen) == 1
    assert judged.status is not None
    assert judged.status.rollout is not None
    run = judged.status.rollout.analysis_run
    assert run is not None
    assert (run.successful, run.last_measurement_time) == (1, T0 + timedelta(seconds=30))
    judged = reconcile(restarted, T0 + timedelta(seconds=60))
    assert judged.verdict == "Successful"  # count 2 reached across the restart


def test_a_step_passes_after_count_successful_measurements_and_history_is_kept(
    check: Scripted,
) -> None:
    md = deployment(canary_at(1, 10))
    for s in (0, 30, 60):
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert judged.verdict == "Successful"
    assert judged.next_in is None
    assert judged.status is not None
    assert judged.status.rollout is not None
    assert [m.metric for m in judged.status.rollout.analysis] == ["error-rate", "error-rate"]
    reconcile(md, T0 + timedelta(seconds=90))
    assert len(check.seen) == 2  # a finished run measures no more


def test_failures_past_the_limit_fail_the_run_with_a_warning_event(check: Scripted) -> None:
    check.phases = ["Failed"]
    md = deployment(canary_at(2, 50))  # background: only ever aborts or waits
    events: list[Event] = []
    for s in (0, 30, 60):
        judged = reconcile(md, T0 + timedelta(seconds=s))
        events += judged.events
    assert judged.verdict == "Failed"
    assert judged.message is not None
    assert "2 of 2 measurements failed" in judged.message
    assert [e.reason for e in events].count("AnalysisMeasurementFailed") == 2
    assert "AnalysisFailed" in [e.reason for e in events]


def test_a_background_run_never_passes(check: Scripted) -> None:
    md = deployment(canary_at(2, 50))
    for s in range(0, 300, 30):
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert judged.verdict == "Running"


def test_no_data_pauses_with_a_reason_a_person_can_act_on(check: Scripted) -> None:
    check.phases = ["Inconclusive"]
    md = deployment(canary_at(1, 10))
    for s in (0, 30, 60):
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert judged.verdict == "Inconclusive"  # the scripted message says no "no data"
    assert judged.message is not None
    assert "sextant promote fraud" in judged.message
    assert "sextant abort fraud" in judged.message


def test_without_a_prometheus_url_measurements_are_errors_never_passes(check: Scripted) -> None:
    md = deployment(canary_at(1, 10))
    no_url = OperatorSettings()
    for s in (0, 30, 60, 90, 120, 150):
        judged = analyse(md, "8", {}, no_url, T0 + timedelta(seconds=s))
        md.status = judged.status
    assert check.seen == []
    assert judged.status is not None
    assert judged.status.rollout is not None
    run = judged.status.rollout.analysis_run
    assert run is not None
    assert run.phase == "Error"
    assert judged.verdict == "Inconclusive"  # the rollout pauses
    assert "prometheusUrl" in (run.message or "")


def test_a_new_gate_starts_a_new_run(check: Scripted) -> None:
    md = deployment(canary_at(1, 10))
    for s in (0, 30, 60):
        reconcile(md, T0 + timedelta(seconds=s))
    assert md.status is not None
    md.status.canary = canary_at(2, 50)
    judged = reconcile(md, T0 + timedelta(seconds=61))
    assert judged.gate == BACKGROUND
    assert judged.status is not None
    assert judged.status.rollout is not None
    run = judged.status.rollout.analysis_run
    assert run == AnalysisRunStatus(
        version="8", gate=BACKGROUND, start_time=T0 + timedelta(seconds=61)
    )


def test_reaching_a_gate_asks_for_a_reconcile_soon() -> None:
    md = deployment(canary_at(0, 10))
    judged = analyse(md, "8", {}, SETTINGS, T0)
    assert judged.gate == BACKGROUND
    decision = Decision((), None, None, STABLE, canary_at(1, 10), PROGRESSING)
    assert judged.into(md.spec, decision).requeue_after == runner.SOON


def test_a_gate_paused_as_inconclusive_measures_no_more_until_promoted(check: Scripted) -> None:
    check.phases = ["Inconclusive"]
    md = deployment(canary_at(1, 10))  # inconclusiveLimit 1: the second one pauses
    for s in (0, 30, 60):
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert judged.verdict == "Inconclusive"
    assert judged.next_in is None  # nothing to look at again for
    assert judged.status is not None
    assert judged.status.rollout is not None
    paused_history = list(judged.status.rollout.analysis)
    assert len(paused_history) == 2

    for s in range(90, 600, 30):  # paused for minutes: child events, requeues
        judged = reconcile(md, T0 + timedelta(seconds=s))
        assert judged.verdict == "Inconclusive"
    assert len(check.seen) == 2
    assert judged.status is not None
    assert judged.status.rollout is not None
    assert judged.status.rollout.analysis == paused_history

    # promote: the engine skips the analysis step, the canary takes traffic at step 2
    assert md.status is not None
    md.status.canary = canary_at(2, 50)
    check.phases = ["Inconclusive", "Inconclusive", "Successful"]
    reconcile(md, T0 + timedelta(seconds=600))
    judged = reconcile(md, T0 + timedelta(seconds=630))
    assert judged.gate == BACKGROUND
    assert len(check.seen) == 3  # measuring again, for the new gate


def test_an_error_pause_keeps_measuring_and_resumes_when_prometheus_answers(
    check: Scripted,
) -> None:
    check.phases = ["Error"] * 5 + ["Successful"]  # consecutiveErrorLimit 4
    md = deployment(canary_at(1, 10))
    for s in range(0, 151, 30):
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert judged.verdict == "Inconclusive"  # five errors in a row: paused
    assert judged.next_in == 30  # but it looks again
    judged = reconcile(md, T0 + timedelta(seconds=180))
    assert judged.verdict == "Running"
    assert len(check.seen) == 6


def test_a_retry_after_an_abort_starts_a_new_run(check: Scripted) -> None:
    check.phases = ["Failed"]
    md = deployment(canary_at(1, 10))
    for s in (0, 30, 60):
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert judged.verdict == "Failed"
    assert md.status is not None
    assert md.status.rollout is not None
    history = list(md.status.rollout.analysis)
    md.status.rollout = md.status.rollout.model_copy(
        update={"state": "Aborted", "aborted_version": "8"}
    )
    judged = reconcile(md, T0 + timedelta(seconds=61))
    assert judged.status is not None
    assert judged.status.rollout is not None
    assert judged.status.rollout.analysis_run is None
    assert judged.status.rollout.analysis == history  # what happened stays readable

    # retry: the same version, back at the same analysis step
    check.phases = ["Successful"]
    md.status.rollout = RolloutStatus(state="Progressing", analysis=history)
    for s in (120, 150, 180):
        judged = reconcile(md, T0 + timedelta(seconds=s))
    assert judged.verdict == "Successful"
