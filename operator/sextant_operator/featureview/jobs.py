"""The latest materialization run as its Job tells it: running, succeeded or failed (why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sextant_operator.featureview.render import FEATURE_VIEW_LABEL, view_labels

JobPhase = Literal["Running", "Succeeded", "Failed"]
_MESSAGE_LIMIT = 512


@dataclass(frozen=True)
class JobRun:
    name: str
    phase: JobPhase
    created: datetime
    finished: datetime | None = None
    message: str = ""  # Failed: the pod's last error line, or the Job's own reason


def selector(view: str) -> dict[str, str]:
    return {FEATURE_VIEW_LABEL: view_labels(view)[FEATURE_VIEW_LABEL]}


def latest(jobs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Job created last (the CronJob's or the initial one)."""
    live = [j for j in jobs if not j["metadata"].get("deletionTimestamp")]
    return max(live, key=lambda j: str(j["metadata"].get("creationTimestamp")), default=None)


def job_run(job: dict[str, Any], pod_messages: list[str]) -> JobRun:
    """A Job and the termination messages of its pods (newest last) as a run."""
    meta, status = job["metadata"], job.get("status") or {}
    created = _time(meta.get("creationTimestamp"))
    assert created is not None
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    complete, failed = conditions.get("Complete"), conditions.get("Failed")
    if complete is not None and complete.get("status") == "True":
        return JobRun(meta["name"], "Succeeded", created, _time(status.get("completionTime")))
    if failed is not None and failed.get("status") == "True":
        own = f"{failed.get('reason') or 'Failed'}: {failed.get('message') or ''}".strip(": ")
        message = next((m for m in reversed(pod_messages) if m.strip()), own)
        return JobRun(
            meta["name"],
            "Failed",
            created,
            _time(failed.get("lastTransitionTime")),
            last_line(message)[:_MESSAGE_LIMIT],
        )
    return JobRun(meta["name"], "Running", created)


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _time(text: str | datetime | None) -> datetime | None:
    if text is None or isinstance(text, datetime):
        return text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
