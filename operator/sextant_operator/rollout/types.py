"""What the engine reads (observations) and what it returns (a decision)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sextant_operator.api.modeldeployment import (
    CanaryStatus,
    RolloutStatus,
    SetHeaderRoute,
    TrackStatus,
)
from sextant_operator.render.context import ModelArtifact

# The analysis judge's verdict on the new version, when one is running (next issue).
AnalysisVerdict = Literal["Running", "Successful", "Failed", "Inconclusive", "NoData"]
Role = Literal["stable", "canary", "preview", "draining"]


@dataclass(frozen=True)
class VersionState:
    """One version's Deployment as observed."""

    replicas: int  # spec.replicas: what was last asked for
    total: int  # pods that exist, ready or not
    ready: int

    @property
    def settled(self) -> bool:
        """Every pod asked for is ready and no surplus pod is left."""
        return self.ready >= self.replicas and self.total <= self.replicas


@dataclass(frozen=True)
class Tokens:
    """One-time requests from annotations (sextant promote|abort|retry)."""

    promote: bool = False
    full: bool = False  # promote --full
    abort: bool = False
    retry: bool = False


@dataclass(frozen=True)
class Observations:
    target: ModelArtifact | None  # what the spec resolves to now; None: unknown
    desired_replicas: int
    versions: dict[str, VersionState] = field(default_factory=dict)  # by model version
    tokens: Tokens = field(default_factory=Tokens)
    # None while no judge runs analysis: an analysis step then holds the rollout, never passes.
    analysis: AnalysisVerdict | None = None
    analysis_message: str | None = None  # the judge's reason, shown in the rollout message
    # GatewayAPI routing: the canary's percentage on the HTTPRoute; None: no route holds both
    # backends (missing, or not set up yet).
    route_weight: int | None = None
    # Why the new version must not be promoted yet (a stale FeatureView); None: it may.
    promotion_hold: str | None = None
    # GatewayAPI routing: the header routes (setHeaderRoute) whose rules are on the HTTPRoute.
    header_routes: tuple[SetHeaderRoute, ...] = ()


@dataclass(frozen=True)
class DesiredVersion:
    artifact: ModelArtifact
    replicas: int
    role: Role


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass(frozen=True)
class Decision:
    versions: tuple[DesiredVersion, ...]  # one Deployment each; any other version is removed
    active: str | None  # version the main Service selects; None: every version (replica share)
    preview: str | None  # version the preview Service selects (BlueGreen)
    stable: TrackStatus | None
    canary: CanaryStatus | None  # the new version: canary or blue-green preview
    rollout: RolloutStatus
    events: tuple[Event, ...] = ()
    requeue_after: float | None = None  # seconds until a timer in status expires
    consumed: Tokens = field(default_factory=Tokens)  # tokens acted on, to remove
    # GatewayAPI routing: the canary weight to set on the HTTPRoute; None: leave it alone.
    route_weight: int | None = None
    # GatewayAPI routing: the header routes the HTTPRoute must hold, no more; None: leave it.
    header_routes: tuple[SetHeaderRoute, ...] | None = None

    def replicas_of(self, version: str) -> int | None:
        found = [v.replicas for v in self.versions if v.artifact.version == version]
        return found[0] if found else None
