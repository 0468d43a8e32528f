"""DriftMonitor conditions: Ready (kstatus), Drifted, ActionsSucceeded; no NotImplemented."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sextant_operator.api.driftmonitor import DriftMonitorStatus
from sextant_operator.driftmonitor.results import to_last_check
from sextant_operator.driftmonitor.status import Problem, Seen, compute_status
from tests.unit.driftmonitor.builders import drift_monitor, result

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DRIFTING = to_last_check(result({"amount": True, "country": True}, dataset_drift=True), T0)
STEADY = to_last_check(result({"amount": False, "country": False}, dataset_drift=False), T0)


def conditions(status: DriftMonitorStatus) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_before_any_check_ready_is_true_and_drifted_unknown() -> None:
    status = compute_status(drift_monitor(), Seen(problem=None, last_check=None), T0)
    found = conditions(status)
    assert found["Ready"] == ("True", "Scheduled")
    assert found["Drifted"] == ("Unknown", "NotCheckedYet")
    assert status.observed_generation == 2


def test_a_problem_makes_ready_false_with_its_reason() -> None:
    problem = Problem("TargetNotFound", "spec.target.modelDeployment: fraud does not exist")
    status = compute_status(drift_monitor(), Seen(problem=problem, last_check=None), T0)
    [ready] = [c for c in status.conditions if c.type == "Ready"]
    assert (ready.status, ready.reason) == ("False", "TargetNotFound")
    assert "spec.target.modelDeployment" in ready.message


def test_drift_sets_drifted_and_with_an_alert_the_ready_reason() -> None:
    alerting = drift_monitor({"actions": [{"type": "Alert"}]})
    found = conditions(compute_status(alerting, Seen(None, DRIFTING), T0))
    assert found["Drifted"] == ("True", "DatasetDrift")
    assert found["Ready"] == ("True", "DriftDetected")
    quiet = conditions(compute_status(drift_monitor(), Seen(None, DRIFTING), T0))
    assert quiet["Ready"] == ("True", "Checked")


def test_no_drift_is_drifted_false_and_last_check_is_kept() -> None:
    status = compute_status(drift_monitor(), Seen(None, STEADY), T0)
    assert conditions(status)["Drifted"] == ("False", "NoDatasetDrift")
    assert status.last_check == STEADY


def test_a_failed_check_after_the_last_result_makes_ready_false_but_keeps_the_result() -> None:
    failed = Problem("CheckFailed", "job x failed: prediction log is empty")
    status = compute_status(drift_monitor(), Seen(None, STEADY, failed_check=failed), T0)
    assert conditions(status)["Ready"] == ("False", "CheckFailed")
    assert status.last_check == STEADY


def test_failed_actions_are_a_condition_and_a_later_success_clears_it() -> None:
    dm = drift_monitor()
    failing = Seen(None, DRIFTING, action_failures=("webhook http://x: HTTP 500",))
    status = compute_status(dm, failing, T0)
    assert conditions(status)["ActionsSucceeded"] == ("False", "ActionFailed")
    again = drift_monitor(status=status.model_dump(by_alias=True, mode="json"))
    later = compute_status(again, Seen(None, DRIFTING), T0 + timedelta(minutes=1))
    assert conditions(later)["ActionsSucceeded"] == ("False", "ActionFailed")  # kept
    ok = compute_status(again, Seen(None, DRIFTING, action_failures=()), T0)
    assert conditions(ok)["ActionsSucceeded"] == ("True", "ActionsDone")


def test_transition_time_moves_only_when_status_does() -> None:
    first = compute_status(drift_monitor(), Seen(None, STEADY), T0)
    again = drift_monitor(status=first.model_dump(by_alias=True, mode="json"))
    later = compute_status(again, Seen(None, STEADY), T0 + timedelta(hours=1))
    [ready] = [c for c in later.conditions if c.type == "Ready"]
    assert ready.last_transition_time == T0


def test_every_field_is_applied_and_an_older_not_implemented_condition_goes() -> None:
    stale = {
        "type": "NotImplemented",
        "status": "True",
        "reason": "FieldsPartlyApplied",
        "message": "spec.predictions: ...",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    }
    for spec in ({"predictions": True}, {"predictions": False, "features": []}, {}):
        dm = drift_monitor(spec, status={"conditions": [stale]})
        assert "NotImplemented" not in conditions(compute_status(dm, Seen(None, None), T0))
