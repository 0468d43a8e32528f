"""What a DriftMonitor's finished Jobs say. Pure: Job objects (dicts) in, outcomes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class JobOutcome:
    name: str
    finished_at: datetime
    succeeded: bool
    reason: str = ""  # the Job's Failed condition: its reason and message


def outcome(job: dict[str, Any]) -> JobOutcome | None:
    """The outcome of a finished Job (Complete or Failed), None while it runs."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True" or condition.get("type") not in (
            "Complete",
            "Failed",
        ):
            continue
        when = status.get("completionTime") or condition.get("lastTransitionTime")
        if when is None:
            continue
        succeeded = condition["type"] == "Complete"
        reason = "" if succeeded else _failure(condition)
        return JobOutcome(job["metadata"]["name"], _time(when), succeeded, reason)
    return None


def latest(jobs: list[dict[str, Any]]) -> JobOutcome | None:
    """The most recently finished Job; what status reflects."""
    finished = [o for o in map(outcome, jobs) if o is not None]
    return max(finished, key=lambda o: (o.finished_at, o.name), default=None)


def termination_message(pods: list[dict[str, Any]]) -> str:
    """The drift check's own words about a failure: its container's termination message."""
    for pod in pods:
        for container in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (container.get("state") or {}).get("terminated") or {}
            message = (terminated.get("message") or "").strip()
            if message:
                return message
    return ""


def _failure(condition: dict[str, Any]) -> str:
    return ": ".join(p for p in (condition.get("reason"), condition.get("message")) if p)


def _time(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
