"""A finished Job and its result JSON, read into status.lastCheck."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sextant_operator.driftmonitor import jobs
from sextant_operator.driftmonitor.results import ResultUnavailable, to_last_check
from tests.unit.driftmonitor.builders import result

T1 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def job(name: str, kind: str | None, when: str = "2026-01-01T10:00:00Z") -> dict[str, Any]:
    conditions = [] if kind is None else [
        {"type": kind, "status": "True", "reason": "BackoffLimitExceeded" if kind == "Failed"
         else "", "message": "Job has reached the specified backoff limit",
         "lastTransitionTime": when}
    ]  # fmt: skip
    status: dict[str, Any] = {"conditions": conditions}
    if kind == "Complete":
        status["completionTime"] = when
    return {"metadata": {"name": name}, "status": status}


def test_running_jobs_have_no_outcome_and_the_newest_finished_one_wins() -> None:
    found = jobs.latest(
        [
            job("a", "Complete", "2026-01-01T09:00:00Z"),
            job("b", "Failed", "2026-01-01T10:00:00Z"),
            job("c", None),
        ]
    )
    assert found is not None
    assert (found.name, found.succeeded, found.finished_at) == ("b", False, T1)
    assert "BackoffLimitExceeded" in found.reason


def test_no_finished_job_no_outcome() -> None:
    assert jobs.latest([job("c", None)]) is None


def test_termination_message_is_the_checks_own_words() -> None:
    said = "Error: prediction log sextant:predictions:fraud is empty\n"
    terminated = {"exitCode": 1, "message": said}
    pods = [{"status": {"containerStatuses": [{"state": {"terminated": terminated}}]}}]
    assert jobs.termination_message(pods) == (
        "Error: prediction log sextant:predictions:fraud is empty"
    )


def test_result_becomes_last_check_with_the_jobs_time() -> None:
    check = to_last_check(result({"amount": True, "country": False}, dataset_drift=True), T1)
    assert check.time == T1
    assert (check.sample_size, check.dataset_drift, check.drift_share) == (5000, True, 0.5)
    amount = check.features[0]
    assert (amount.name, amount.test, amount.statistic, amount.p_value, amount.drifted) == (
        "amount",
        "ks",
        0.4,
        0.001,
        True,
    )


def test_an_untested_feature_keeps_its_reason_and_no_statistic() -> None:
    payload = result({"amount": False}, dataset_drift=False)
    payload["features"][0].update(
        test=None, statistic=None, pValue=None, status="MissingColumn",
        message="the current data has no such column",
    )  # fmt: skip
    [feature] = to_last_check(payload, T1).features
    assert feature.test is None
    assert feature.statistic is None
    assert feature.message == "the current data has no such column"


def test_something_else_than_a_result_is_refused() -> None:
    with pytest.raises(ResultUnavailable) as err:
        to_last_check({"hello": 1}, T1)
    assert err.value.reason == "ResultInvalid"


def test_performance_is_copied_and_an_undefined_metric_left_out() -> None:
    payload = result({"amount": False}, dataset_drift=False)
    payload["performance"] = {
        "task": "regression", "prediction": "price", "sampleSize": 40, "windowRows": 500,
        "metrics": {"mae": 1.5, "rmse": 2.0, "r2": None},
        "message": "3 labelled rows left out",
    }  # fmt: skip
    performance = to_last_check(payload, T1).performance
    assert performance is not None
    assert (performance.task, performance.prediction, performance.sample_size) == (
        "regression",
        "price",
        40,
    )
    assert performance.metrics == {"mae": 1.5, "rmse": 2.0}
    assert performance.message == "3 labelled rows left out"
    assert to_last_check(result({"amount": False}, dataset_drift=False), T1).performance is None


def test_a_performance_without_its_fields_is_refused() -> None:
    payload = result({"amount": False}, dataset_drift=False)
    payload["performance"] = {"metrics": {"accuracy": 0.9}}
    with pytest.raises(ResultUnavailable) as err:
        to_last_check(payload, T1)
    assert err.value.reason == "ResultInvalid"


def test_a_prediction_column_keeps_its_role() -> None:
    payload = result({"amount": False, "prediction": True}, dataset_drift=True)
    payload["features"][1]["role"] = "prediction"
    amount, prediction = to_last_check(payload, T1).features
    assert (amount.role, prediction.role) == (None, "prediction")
