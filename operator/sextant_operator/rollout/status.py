"""A progressive rollout's whole status from the engine's decision. Pure: no I/O.

Serving health and rollout progress are kept apart, as users of Argo Rollouts asked for:
Ready says whether the model serves N ready replicas (stable, plus the canary's share),
Progressing says whether a rollout moves, and an aborted rollout adds a RolloutAborted
condition while Ready stays True on the stable version.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sextant.registry import RegistryError
from sextant_operator import labels
from sextant_operator.api.modeldeployment import ModelDeployment, ModelDeploymentStatus
from sextant_operator.conditions import set_condition
from sextant_operator.inert import with_inert_fields
from sextant_operator.rollout.types import Decision, Observations

ABORTED_CONDITION = "RolloutAborted"
_PROGRESS_REASONS = {
    "Progressing": "RolloutInProgress",
    "Paused": "RolloutPaused",
    "Promoting": "RolloutPromoting",
}


@dataclass(frozen=True)
class Serving:
    ready: int  # ready pods that receive traffic
    total_ready: int  # ready pods of every version


def serving(decision: Decision, seen: Observations) -> Serving:
    """Ready pods behind the main Service: the active version, or every version."""
    ready = {v: s.ready for v, s in seen.versions.items()}
    wanted = {d.artifact.version for d in decision.versions if d.role != "draining"}
    if decision.active is not None:
        behind = ready.get(decision.active, 0)
    else:
        behind = sum(r for v, r in ready.items() if v in wanted)
    return Serving(ready=behind, total_ready=sum(ready.values()))


def progressive_status(
    md: ModelDeployment,
    decision: Decision,
    seen: Observations,
    *,
    error: RegistryError | None,
    url: str | None,
    now: datetime | None = None,
) -> ModelDeploymentStatus:
    assert md.metadata.name is not None
    previous = md.status or ModelDeploymentStatus()
    generation = md.metadata.generation
    n = seen.desired_replicas
    pods = serving(decision, seen)
    state = decision.rollout.state
    rollout_message = decision.rollout.message or ""
    ready = error is None and decision.stable is not None and pods.ready >= n

    conditions = [c for c in previous.conditions if c.type != ABORTED_CONDITION]
    if error is None:
        version = seen.target.version if seen.target else "?"
        resolved = (True, "Resolved", f"resolved to version {version}")
    else:
        resolved = (False, error.reason, str(error))
    conditions = set_condition(
        conditions,
        "ModelResolved",
        status=resolved[0],
        reason=resolved[1],
        message=resolved[2],
        generation=generation,
        now=now,
    )
    if error is not None and decision.stable is None:
        # Nothing resolved and nothing serves: stuck on the registry, neither moving nor done.
        progress = (False, error.reason, f"nothing to roll out: {error}")
    else:
        progress = _progress(state, rollout_message, ready, f"{pods.ready} of {n} replicas ready")
    conditions = set_condition(
        conditions,
        "Progressing",
        status=progress[0],
        reason=progress[1],
        message=progress[2],
        generation=generation,
        now=now,
    )
    if error is not None:
        why = (error.reason, str(error))
    elif ready:
        why = ("Available", f"{pods.ready} of {n} replicas ready")
    else:
        why = ("RolloutInProgress", f"{pods.ready} of {n} replicas ready")
    conditions = set_condition(
        conditions,
        "Ready",
        status=ready,
        reason=why[0] if n or not ready else "ScaledToZero",
        message=why[1],
        generation=generation,
        now=now,
    )
    if state == "Aborted":
        old = previous.condition(ABORTED_CONDITION)
        conditions = set_condition(
            [*conditions, *([old] if old else [])],
            ABORTED_CONDITION,
            status=True,
            reason="Aborted",
            message=rollout_message,
            generation=generation,
            now=now,
        )

    conditions = with_inert_fields(conditions, md.spec, generation, now)
    if error is not None:
        phase = "Degraded" if pods.ready > 0 else "Pending"
    elif state == "Paused":
        phase = "Paused"
    else:
        phase = "Progressing" if progress[0] else "Ready"
    return ModelDeploymentStatus(
        observed_generation=generation,
        conditions=conditions,
        phase=phase,
        url=url,
        model=previous.model,  # the caller sets it from the resolution
        stable=decision.stable,
        canary=decision.canary,
        rollout=decision.rollout,
        replicas=n,
        ready_replicas=pods.total_ready,
        ready=f"{pods.ready}/{n}",
        selector=labels.selector_string(labels.all_pods_selector(md.metadata.name)),
    )


def _progress(state: str, message: str, ready: bool, pods: str) -> tuple[bool, str, str]:
    """The Progressing condition: (status, reason, message)."""
    if state in _PROGRESS_REASONS:
        return True, _PROGRESS_REASONS[state], message
    if state == "Aborted":
        return False, "RolloutAborted", message
    if not ready:
        return True, "RollingOut", pods
    return False, "RolloutComplete", message or "every replica is ready"
