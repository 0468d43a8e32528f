"""Compute a ModelDeployment's status from what was observed. Pure: no I/O.

Ready follows kstatus: True only when every pod of the current generation and version
is updated and available, so Argo CD and Flux report Healthy only then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sextant.registry import RegistryError
from sextant_operator import labels
from sextant_operator.api.modeldeployment import (
    ModelDeployment,
    ModelDeploymentStatus,
    RolloutStatus,
    TrackStatus,
)
from sextant_operator.conditions import set_condition
from sextant_operator.inert import with_inert_fields
from sextant_operator.render.context import ModelArtifact


@dataclass(frozen=True)
class DeploymentProgress:
    """The parts of a Deployment's status that say how far its rollout is."""

    desired: int
    updated: int
    ready: int
    available: int
    total: int
    observed_current: bool  # the Deployment controller has seen the latest spec

    @classmethod
    def of(cls, deployment: dict[str, Any] | None) -> DeploymentProgress | None:
        if deployment is None:
            return None
        meta, spec, status = deployment["metadata"], deployment["spec"], deployment.get("status")
        status = status or {}
        return cls(
            desired=int(spec.get("replicas", 1)),
            updated=int(status.get("updatedReplicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
            available=int(status.get("availableReplicas") or 0),
            total=int(status.get("replicas") or 0),
            observed_current=int(status.get("observedGeneration") or 0)
            >= int(meta.get("generation") or 0),
        )

    @property
    def complete(self) -> bool:
        """As `kubectl rollout status` decides: all updated, available, no old pods left."""
        return (
            self.observed_current
            and self.updated == self.desired
            and self.total == self.desired
            and self.available == self.desired
        )


@dataclass(frozen=True)
class Observation:
    """What one reconcile saw and decided, the input of the status computation."""

    desired_replicas: int
    artifact: ModelArtifact | None  # None: nothing can be served yet
    resolution_error: RegistryError | None
    stable: DeploymentProgress | None
    unschedulable: str | None  # the scheduler's message for a current pod, if any
    url: str | None


def compute_status(
    md: ModelDeployment, seen: Observation, now: datetime | None = None
) -> ModelDeploymentStatus:
    assert md.metadata.name is not None
    previous = md.status or ModelDeploymentStatus()
    generation = md.metadata.generation
    ready_replicas = seen.stable.ready if seen.stable else 0
    ready, reason, message = _readiness(seen)
    complete = seen.stable is not None and seen.stable.complete
    progressing, progress_reason = _progressing(seen)

    conditions = previous.conditions
    if seen.resolution_error is None:
        assert seen.artifact is not None
        conditions = set_condition(
            conditions,
            "ModelResolved",
            status=True,
            reason="Resolved",
            message=f"serving version {seen.artifact.version} from {seen.artifact.source}",
            generation=generation,
            now=now,
        )
    else:
        conditions = set_condition(
            conditions,
            "ModelResolved",
            status=False,
            reason=seen.resolution_error.reason,
            message=str(seen.resolution_error),
            generation=generation,
            now=now,
        )
    conditions = set_condition(
        conditions,
        "Progressing",
        status=progressing,
        reason=progress_reason,
        message=_progress_message(seen),
        generation=generation,
        now=now,
    )
    conditions = set_condition(
        conditions,
        "Ready",
        status=ready,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )

    conditions = with_inert_fields(conditions, md.spec, generation, now)
    version = seen.artifact.version if seen.artifact else None
    return ModelDeploymentStatus(
        observed_generation=generation,
        conditions=conditions,
        phase=_phase(seen, ready, ready_replicas),
        url=seen.url,
        model=previous.model,  # the caller sets it from the resolution
        stable=TrackStatus(
            version=version, replicas=seen.desired_replicas, ready_replicas=ready_replicas
        ),
        rollout=RolloutStatus(
            state="Succeeded" if complete else "Progressing",
            message=_progress_message(seen),
        ),
        replicas=seen.desired_replicas,
        ready_replicas=ready_replicas,
        ready=f"{ready_replicas}/{seen.desired_replicas}",
        selector=labels.selector_string(labels.all_pods_selector(md.metadata.name)),
    )


def _progressing(seen: Observation) -> tuple[bool, str]:
    """Complete only once the Deployment has every pod updated and available; with no
    Deployment at all, a resolution error means stuck, not done."""
    if seen.stable is not None:
        return (False, "RolloutComplete") if seen.stable.complete else (True, "RollingOut")
    if seen.resolution_error is not None:
        return False, seen.resolution_error.reason
    return True, "RollingOut"


def _readiness(seen: Observation) -> tuple[bool, str, str]:
    if seen.resolution_error is not None:
        serving = f"still serving version {seen.artifact.version}; " if seen.artifact else ""
        return False, seen.resolution_error.reason, f"{serving}{seen.resolution_error}"
    if seen.unschedulable is not None:
        return False, "Unschedulable", seen.unschedulable
    if seen.stable is None:
        return False, "DeploymentMissing", "the runtime Deployment has not been created yet"
    if not seen.stable.complete:
        return False, "RolloutInProgress", _progress_message(seen)
    if seen.desired_replicas == 0:
        return True, "ScaledToZero", "scaled to zero replicas"
    return True, "Available", f"{seen.stable.ready} of {seen.desired_replicas} replicas ready"


def _progress_message(seen: Observation) -> str:
    if seen.stable is None or seen.artifact is None:
        if seen.resolution_error is not None:
            return f"nothing to roll out: {seen.resolution_error}"
        return "waiting for the runtime Deployment"
    s = seen.stable
    return (
        f"{s.updated} of {s.desired} replicas updated to version {seen.artifact.version}, "
        f"{s.available} available, {s.total - s.updated} old"
    )


def _phase(seen: Observation, ready: bool, ready_replicas: int) -> Any:
    if ready:
        return "Ready"
    if seen.resolution_error is not None:
        if ready_replicas > 0:
            return "Degraded"
        return "Failed" if seen.resolution_error.reason == "ModelNotFound" else "Pending"
    if seen.unschedulable is not None:
        return "Degraded" if ready_replicas > 0 else "Pending"
    return "Progressing" if seen.stable is not None else "Pending"
