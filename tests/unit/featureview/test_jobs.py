"""The latest run as its Job tells it, and why it failed in the pod's own words."""

from __future__ import annotations

from typing import Any

from sextant_operator.featureview.jobs import job_run, latest


def job(name: str, created: str, conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "status": {"conditions": conditions or [], "completionTime": "2026-03-02T10:05:00Z"},
    }


def test_the_latest_job_is_the_one_created_last() -> None:
    jobs = [job("a", "2026-03-02T10:00:00Z"), job("b", "2026-03-02T10:15:00Z")]
    found = latest(jobs)
    assert found is not None
    assert found["metadata"]["name"] == "b"
    assert latest([]) is None


def test_a_failed_job_reports_the_last_error_line_of_its_pod() -> None:
    failed = job("a", "2026-03-02T10:00:00Z", [{
        "type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
        "lastTransitionTime": "2026-03-02T10:01:00Z",
    }])  # fmt: skip
    logs = "reading the source\nError: http://h/users.parquet: 404 Not Found\n"
    run = job_run(failed, [logs])
    assert run.phase == "Failed"
    assert run.message == "Error: http://h/users.parquet: 404 Not Found"
    assert run.finished is not None
    assert run.finished.minute == 1
    assert job_run(failed, []).message == "BackoffLimitExceeded"


def test_complete_and_running_jobs() -> None:
    done = job("a", "2026-03-02T10:00:00Z", [{"type": "Complete", "status": "True"}])
    assert job_run(done, []).phase == "Succeeded"
    assert job_run(job("b", "2026-03-02T10:00:00Z"), []).phase == "Running"
