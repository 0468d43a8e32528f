"""What a new drifting check triggers: Alert, AbortRollout, Webhook.

Each action runs once per check (the reconcile calls `run_actions` only when it records a
new result). The decisions are pure; the I/O comes in as callables, so every branch is a
unit test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sextant_operator.api.driftmonitor import DriftCheck, DriftMonitor
from sextant_operator.api.modeldeployment import ModelDeployment
from sextant_operator.driftmonitor.status import summary

# emit(type, reason, message): an Event on the DriftMonitor.
EventSink = Callable[[str, str, str], None]
IN_PROGRESS = frozenset({"Progressing", "Paused", "Promoting"})


@dataclass(frozen=True)
class Effects:
    """The I/O actions need: set the abort token on a ModelDeployment, POST a webhook."""

    abort: Callable[[str, str], None]  # (namespace, name)
    post: Callable[[str, dict[str, Any]], str | None]  # (url, payload) -> problem or None


def rollout_in_progress(target: ModelDeployment | None) -> bool:
    """Whether the target has a canary or blue-green rollout that an abort would stop."""
    if target is None or target.spec.rollout.strategy == "RollingUpdate":
        return False
    rollout = target.status.rollout if target.status else None
    return rollout is not None and rollout.state in IN_PROGRESS


def run_actions(
    dm: DriftMonitor,
    check: DriftCheck,
    result: dict[str, Any],
    target: ModelDeployment | None,
    *,
    effects: Effects,
    emit: EventSink,
) -> tuple[str, ...]:
    """Run every action of a drifting check; returns what failed (empty: all worked)."""
    assert dm.metadata.namespace is not None
    assert dm.metadata.name is not None
    namespace, name = dm.metadata.namespace, dm.metadata.name
    target_name = dm.spec.target.model_deployment
    failures: list[str] = []
    for action in dm.spec.actions:
        if action.type == "Alert":
            emit("Warning", "DriftDetected", f"dataset drift: {summary(check)}")
        elif action.type == "AbortRollout":
            if not rollout_in_progress(target):
                emit("Normal", "NoRolloutToAbort", f"{target_name} has no rollout in progress")
                continue
            try:
                effects.abort(namespace, target_name)
            except Exception as err:  # any API failure is reported, never a crash
                failures.append(f"aborting the rollout of {target_name}: {err}")
                continue
            emit(
                "Warning",
                "RolloutAbortRequested",
                f"dataset drift: aborting {target_name}'s rollout",
            )
        elif action.url is not None:
            payload = {
                "driftMonitor": {"namespace": namespace, "name": name},
                "modelDeployment": target_name,
                "time": check.time.isoformat() if check.time else None,
                "result": result,
            }
            problem = effects.post(action.url, payload)
            if problem is not None:
                failures.append(problem)
                emit("Warning", "WebhookFailed", problem)
    return tuple(failures)
