"""The judge's verdict table: no data is never a pass."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sextant_operator.analysis.checks import Measurement
from sextant_operator.analysis.judge import BACKGROUND, events, history, record, verdict, worst
from sextant_operator.api.modeldeployment import Analysis, AnalysisRunStatus

NOW = datetime(2025, 1, 1, tzinfo=UTC)
SPEC = Analysis(
    max_error_rate=0.01, failure_limit=2, count=3, inconclusive_limit=1, consecutive_error_limit=4
)
OK = Measurement("error-rate", "Successful", 0.0, "0 within 0.01")
BAD = Measurement("error-rate", "Failed", 0.05, "0.05 above 0.01")
NO_DATA = Measurement("error-rate", "Inconclusive", None, "no data: the new version got no traffic")
DOWN = Measurement("error-rate", "Error", None, "Prometheus at http://x is unreachable")


def run_of(*measurements: Measurement, gate: str = "step 2") -> AnalysisRunStatus:
    run = AnalysisRunStatus(version="8", gate=gate, start_time=NOW)
    for m in measurements:
        run = record(run, [m], SPEC, NOW, "fraud")
    return run


@pytest.mark.parametrize(
    ("measurements", "phase", "engine"),
    [
        ((), "Running", "Running"),
        ((OK, OK), "Running", "Running"),
        ((OK, OK, OK), "Successful", "Successful"),
        ((BAD, BAD), "Running", "Running"),
        ((BAD, BAD, BAD), "Failed", "Failed"),
        ((NO_DATA,), "Running", "Running"),
        ((NO_DATA, NO_DATA), "Inconclusive", "NoData"),
        ((NO_DATA, NO_DATA, OK, OK, OK), "Inconclusive", "NoData"),  # stays until promote
        ((NO_DATA, NO_DATA, BAD, BAD, BAD), "Failed", "Failed"),  # a clear failure still aborts
        ((DOWN,) * 4, "Running", "Running"),
        ((DOWN,) * 5, "Error", "Inconclusive"),
        ((*(DOWN,) * 5, OK), "Running", "Running"),  # Prometheus back: analysis resumes
    ],
)
def test_verdict_table(measurements: tuple[Measurement, ...], phase: str, engine: str) -> None:
    run = run_of(*measurements)
    assert run.phase == phase
    assert verdict(run) == engine


def test_only_errors_and_no_data_never_pass() -> None:
    run = run_of(NO_DATA, DOWN, DOWN, DOWN)
    assert run.successful == 0
    assert verdict(run) != "Successful"


def test_the_worst_check_decides_a_measurement() -> None:
    assert worst([OK, NO_DATA]) == "Inconclusive"
    assert worst([OK, DOWN, NO_DATA]) == "Error"
    assert worst([OK, DOWN, BAD]) == "Failed"
    assert worst([]) == "Inconclusive"


def test_a_background_run_never_passes_by_itself_but_aborts() -> None:
    assert verdict(run_of(OK, OK, OK, OK, gate=BACKGROUND)) == "Running"
    assert verdict(run_of(NO_DATA, NO_DATA, gate=BACKGROUND)) == "Running"
    assert verdict(run_of(BAD, BAD, BAD, gate=BACKGROUND)) == "Failed"


def test_messages_say_what_a_person_can_do() -> None:
    inconclusive = run_of(NO_DATA, NO_DATA)
    assert "no data" in (inconclusive.message or "")
    assert "sextant promote fraud" in (inconclusive.message or "")
    assert "sextant abort fraud" in (inconclusive.message or "")
    failed = run_of(BAD, BAD, BAD)
    assert (
        failed.message == "3 of 3 measurements failed (failureLimit 2): error-rate: 0.05 above 0.01"
    )


def test_history_is_bounded_newest_last_and_events_name_failures() -> None:
    old = history([], [OK] * 99, NOW)
    new = history(old, [BAD, NO_DATA], NOW)
    assert len(new) == 100
    assert [m.phase for m in new[-2:]] == ["Failed", "Inconclusive"]
    assert new[-1].value is None
    assert not new[-1].passed
    before = run_of(BAD, BAD)
    after = record(before, [BAD], SPEC, NOW, "fraud")
    reasons = [e.reason for e in events(before, after, [BAD])]
    assert reasons == ["AnalysisMeasurementFailed", "AnalysisFailed"]
