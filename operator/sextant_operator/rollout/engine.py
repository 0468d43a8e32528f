"""decide(): the common half of every progressive rollout, then the strategy's own file.

Common: the first version becomes stable without steps; a target equal to stable is a fast
rollback without steps; an aborted version stays aborted until retried or replaced; a new
target (re)starts the rollout at step 0; versions no rollout needs any more are drained
once the stable has its pods ready again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sextant_operator.api.modeldeployment import (
    BlueGreen,
    CanaryStatus,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    RolloutStatus,
    TrackStatus,
)
from sextant_operator.render.context import ModelArtifact
from sextant_operator.rollout import bluegreen, canary
from sextant_operator.rollout.progress import Progress, Result, steps_hash
from sextant_operator.rollout.types import (
    Decision,
    DesiredVersion,
    Event,
    Observations,
    Tokens,
    VersionState,
)

NO_PODS = VersionState(replicas=0, total=0, ready=0)
DEFAULT_ABORT_SCALE_DOWN_DELAY = 30  # GatewayAPI canaries, as BlueGreen's field default


@dataclass
class _Frame:
    """What every branch of one decision shares."""

    seen: Observations
    blue_green: bool
    now: datetime
    gateway: bool = False  # Canary with GatewayAPI routing: weights on the user's HTTPRoute
    abort_delay: int = 0  # abortScaleDownDelaySeconds in effect
    events: list[Event] = field(default_factory=list)
    consumed: Tokens = field(default_factory=Tokens)

    @property
    def n(self) -> int:
        return self.seen.desired_replicas

    def consume(self, **tokens: bool) -> None:
        self.consumed = _merge(self.consumed, Tokens(**tokens))

    def finish(self, decision: Decision) -> Decision:
        return replace(decision, events=(*self.events, *decision.events), consumed=self.consumed)


def decide(
    spec: ModelDeploymentSpec,
    status: ModelDeploymentStatus | None,
    seen: Observations,
    now: datetime,
) -> Decision:
    previous = status or ModelDeploymentStatus()
    rollout = previous.rollout or RolloutStatus()
    stable = _artifact(previous.stable)
    current = _artifact(previous.canary)
    target = seen.target or current or stable
    f = _Frame(seen, spec.rollout.strategy == "BlueGreen", now, _gateway(spec), _abort_delay(spec))

    if target is None or stable is None:
        # The first version has nothing to be compared with: it is the stable at once.
        if target is None:
            return Decision((), None, None, None, None, rollout)
        return _steady(f, target, rollout.model_copy(update={"state": "Idle"}))

    if seen.tokens.retry:
        f.consume(retry=True)
        if rollout.aborted_version is not None:
            f.events.append(
                Event("Normal", "RolloutRetried", f"retrying {rollout.aborted_version}")
            )
            rollout = rollout.model_copy(
                update={"aborted_version": None, "abort_time": None, "abort_scale_down_time": None}
            )

    if target.version == stable.version:
        return _rollback(f, stable, current, rollout)

    if seen.tokens.abort:
        f.consume(abort=True)
        if rollout.aborted_version != target.version:
            message = f"aborted by request: {target.version} scaled down, {stable.version} serves"
            rollout = _aborted(rollout, target.version, message, now)
            f.events.append(Event("Warning", "RolloutAborted", message))
    if rollout.aborted_version == target.version:
        return _hold_aborted(f, stable, rollout)

    rollout = _start_or_restart(f, spec, rollout, stable, current=current, target=target)
    step = 0 if rollout.steps_hash is None else _step(previous)
    rollout = rollout.model_copy(update={"steps_hash": steps_hash(spec)})

    progress = Progress(
        spec=spec,
        replicas=f.n,
        stable=seen.versions.get(stable.version, NO_PODS),
        new=seen.versions.get(target.version, NO_PODS),
        new_version=target.version,
        rollout=rollout,
        step=step,
        tokens=seen.tokens,
        analysis=seen.analysis,
        now=now,
        analysis_message=seen.analysis_message,
        route_weight=seen.route_weight,
        promotion_hold=seen.promotion_hold,
        header_routes=seen.header_routes,
    )
    result = bluegreen.advance(progress) if f.blue_green else canary.advance(progress)
    f.consumed = _merge(f.consumed, result.consumed)
    f.events.extend(result.events)
    if result.aborted:
        return _hold_aborted(f, stable, result.rollout)
    if result.finished:
        decision = _steady(f, target, result.rollout)
    else:
        decision = _in_flight(f, stable, target, result)
    return f.finish(decision)


def _start_or_restart(
    f: _Frame,
    spec: ModelDeploymentSpec,
    rollout: RolloutStatus,
    stable: ModelArtifact,
    *,
    current: ModelArtifact | None,
    target: ModelArtifact,
) -> RolloutStatus:
    """A new target, or new canary steps, start again at step 0."""
    if current is None or current.version != target.version:
        verb = "RolloutStarted" if current is None else "RolloutRestarted"
        was = "" if current is None else f", replacing {current.version} mid-rollout"
        message = f"rolling out {target.version} over {stable.version}{was}"
        f.events.append(Event("Normal", verb, message))
        return _fresh(rollout)
    if not f.blue_green and rollout.steps_hash != steps_hash(spec):
        f.events.append(Event("Normal", "RolloutRestarted", "canary steps changed: back to step 0"))
        return _fresh(rollout)
    return rollout


def _in_flight(f: _Frame, stable: ModelArtifact, target: ModelArtifact, result: Result) -> Decision:
    keep = {stable.version, target.version, result.rollout.aborted_version}
    versions = [
        DesiredVersion(stable, result.stable_replicas, "stable"),
        DesiredVersion(target, result.new_replicas, "preview" if f.blue_green else "canary"),
        *_draining(f.seen, keep, stable, result.stable_replicas),
    ]
    active = target.version if result.switched else stable.version
    return Decision(
        versions=tuple(versions),
        # GatewayAPI: the route splits traffic; the main Service stays on the stable alone.
        active=active if f.blue_green or f.gateway else None,
        preview=target.version if f.blue_green else None,
        stable=_track(stable, result.stable_replicas, f.seen),
        canary=CanaryStatus(
            version=target.version,
            uri=target.source,
            replicas=result.new_replicas,
            ready_replicas=f.seen.versions.get(target.version, NO_PODS).ready,
            weight=result.weight,
            step=None if f.blue_green else result.step,
        ),
        rollout=result.rollout,
        requeue_after=result.requeue_after,
        route_weight=result.weight if f.gateway else None,
        header_routes=result.header_routes if f.gateway else None,
    )


def _steady(f: _Frame, version: ModelArtifact, rollout: RolloutStatus) -> Decision:
    """Only `version` serves; any other version drains once its pods are ready."""
    draining = _draining(f.seen, {version.version, rollout.aborted_version}, version, f.n)
    return Decision(
        versions=(DesiredVersion(version, f.n, "stable"), *draining),
        active=version.version if f.blue_green or f.gateway else None,
        preview=version.version if f.blue_green else None,
        stable=_track(version, f.n, f.seen),
        canary=None,
        rollout=rollout.model_copy(
            update={
                "pause_start_time": None,
                "progress_start_time": None,
                "switch_time": None,
                "full_promotion": None,
                "header_routes": [],
            }
        ),
        # Header routes go with the rollout (promoted, aborted or rolled back).
        header_routes=() if f.gateway else None,
        # Both Services select this version by now, so taking the weight back moves no
        # request to another version.
        route_weight=0 if f.gateway else None,
    )


def _gateway(spec: ModelDeploymentSpec) -> bool:
    canary = spec.rollout.canary
    return (
        spec.rollout.strategy == "Canary"
        and canary is not None
        and canary.traffic_routing.type == "GatewayAPI"
    )


def _abort_delay(spec: ModelDeploymentSpec) -> int:
    """Seconds an aborted version keeps its pods: only where they take no traffic by then."""
    if spec.rollout.strategy == "BlueGreen":
        return (spec.rollout.blue_green or BlueGreen()).abort_scale_down_delay_seconds
    canary = spec.rollout.canary
    if not _gateway(spec) or canary is None:
        return 0  # Replicas routing: the canary's pods are its traffic
    delay = canary.abort_scale_down_delay_seconds
    return DEFAULT_ABORT_SCALE_DOWN_DELAY if delay is None else delay


def _rollback(
    f: _Frame, stable: ModelArtifact, current: ModelArtifact | None, rollout: RolloutStatus
) -> Decision:
    """The target is the stable version: no steps; a canary in flight drains away."""
    f.consume(promote=f.seen.tokens.promote, abort=f.seen.tokens.abort)
    if current is not None:
        message = f"back to stable {stable.version} without steps; {current.version} drains"
        f.events.append(Event("Normal", "RolledBack", message))
        rollout = rollout.model_copy(update={"state": "Idle", "message": message})
    elif rollout.state not in ("Idle", "Succeeded"):
        rollout = rollout.model_copy(update={"state": "Idle", "message": None})
    return f.finish(_steady(f, stable, rollout))


def _hold_aborted(f: _Frame, stable: ModelArtifact, rollout: RolloutStatus) -> Decision:
    """All traffic on stable at once; the aborted version keeps its pods (taking no traffic)
    until abortScaleDownDelaySeconds after the abort, then it is removed, not drained."""
    f.consume(promote=f.seen.tokens.promote)  # nothing to promote: retry first
    rollout = rollout.model_copy(update={"state": "Aborted"})
    if rollout.abort_scale_down_time is None and rollout.abort_time is not None:
        # Kept in status, so that a restarted operator removes the pods on time.
        scale_down = rollout.abort_time + timedelta(seconds=f.abort_delay)
        rollout = rollout.model_copy(update={"abort_scale_down_time": scale_down})
    decision = _steady(f, stable, rollout)
    ends = rollout.abort_scale_down_time
    aborted = f.seen.versions.get(rollout.aborted_version or "", NO_PODS)
    if ends is None or f.now >= ends or aborted.replicas == 0:
        return f.finish(decision)
    assert rollout.aborted_version is not None
    kept = DesiredVersion(ModelArtifact("", rollout.aborted_version), aborted.replicas, "draining")
    return f.finish(
        replace(
            decision,
            versions=(*decision.versions, kept),
            requeue_after=(ends - f.now).total_seconds(),
        )
    )


def _aborted(rollout: RolloutStatus, version: str, message: str, now: datetime) -> RolloutStatus:
    return rollout.model_copy(
        update={
            "state": "Aborted",
            "message": message,
            "aborted_version": version,
            "abort_time": now,
            "abort_scale_down_time": None,
        }
    )


def _fresh(rollout: RolloutStatus) -> RolloutStatus:
    return rollout.model_copy(
        update={
            "steps_hash": None,
            "pause_start_time": None,
            "progress_start_time": None,
            "switch_time": None,
            "full_promotion": None,
            "header_routes": [],
        }
    )


def _draining(
    seen: Observations,
    keep: set[str | None],
    stable: ModelArtifact,
    stable_replicas: int,
) -> list[DesiredVersion]:
    """Leftover versions keep their pods until the stable's pods are all ready."""
    stable_state = seen.versions.get(stable.version, NO_PODS)
    if stable_state.ready >= stable_replicas:
        return []
    return [
        # Left as they are: no source needed, the apply layer neither renders nor deletes them.
        DesiredVersion(ModelArtifact(source="", version=version), state.replicas, "draining")
        for version, state in sorted(seen.versions.items())
        if version not in keep and state.replicas > 0
    ]


def _artifact(track: TrackStatus | None) -> ModelArtifact | None:
    if track is None or not track.version or not track.uri:
        return None
    return ModelArtifact(source=track.uri, version=track.version)


def _track(version: ModelArtifact, replicas: int, seen: Observations) -> TrackStatus:
    return TrackStatus(
        version=version.version,
        uri=version.source,
        replicas=replicas,
        ready_replicas=seen.versions.get(version.version, NO_PODS).ready,
    )


def _step(previous: ModelDeploymentStatus) -> int:
    return (previous.canary.step if previous.canary else None) or 0


def _merge(a: Tokens, b: Tokens) -> Tokens:
    return Tokens(
        promote=a.promote or b.promote,
        full=a.full or b.full,
        abort=a.abort or b.abort,
        retry=a.retry or b.retry,
    )
