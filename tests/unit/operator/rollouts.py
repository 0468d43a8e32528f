"""A tiny driver for the rollout engine: a fake clock and Deployments that do what they are told.

`Cluster.step()` runs decide() once and applies the decision the way the operator does:
status replaces status, each Deployment gets its replicas; pods become ready only when a
test says so (`ready_all`), so tests control readiness exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sextant_operator.api.modeldeployment import (
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    SetHeaderRoute,
)
from sextant_operator.render.context import ModelArtifact
from sextant_operator.rollout import (
    AnalysisVerdict,
    Decision,
    Observations,
    Tokens,
    VersionState,
    decide,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def artifact(version: str) -> ModelArtifact:
    return ModelArtifact(f"models:/fraud/{version}", version)


def canary_spec(*steps: dict[str, Any], replicas: int = 10, **rollout: Any) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"registry": {"name": "fraud", "alias": "champion"}},
            "replicas": replicas,
            "rollout": {"strategy": "Canary", "canary": {"steps": list(steps)}, **rollout},
        }
    )


def blue_green_spec(replicas: int = 3, **settings: Any) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            "model": {"registry": {"name": "fraud", "alias": "champion"}},
            "replicas": replicas,
            "rollout": {
                "strategy": "BlueGreen",
                "blueGreen": settings,
                "analysis": {"maxErrorRate": 0.01},
            },
        }
    )


@dataclass
class Cluster:
    spec: ModelDeploymentSpec
    target: str = "7"
    now: datetime = T0
    status: ModelDeploymentStatus | None = None
    pods: dict[str, VersionState] = field(default_factory=dict)
    analysis: AnalysisVerdict | None = None
    last: Decision | None = None
    # GatewayAPI: the canary weight on the HTTPRoute (None: no usable route); the operator
    # sets what the decision asks for.
    route: int | None = None
    # GatewayAPI: the header routes whose rules are on the HTTPRoute; the operator puts
    # exactly what the decision asks for.
    headers: tuple[SetHeaderRoute, ...] = ()
    refuses_headers: bool = False  # the route cannot take header rules (16 rules already)

    def step(self, tokens: Tokens | None = None) -> Decision:
        seen = Observations(
            target=artifact(self.target),
            desired_replicas=self.spec.replicas,
            versions=dict(self.pods),
            tokens=tokens or Tokens(),
            analysis=self.analysis,
            route_weight=self.route,
            header_routes=self.headers,
        )
        decision = decide(self.spec, self.status, seen, self.now)
        if decision.route_weight is not None and self.route is not None:
            self.route = decision.route_weight
        if (
            decision.header_routes is not None
            and self.route is not None
            and not self.refuses_headers
        ):
            self.headers = decision.header_routes
        self.status = ModelDeploymentStatus(
            stable=decision.stable, canary=decision.canary, rollout=decision.rollout
        )
        wanted = {v.artifact.version: v.replicas for v in decision.versions}
        for version in list(self.pods):
            if version not in wanted:
                del self.pods[version]  # pruned
        for version, replicas in wanted.items():
            old = self.pods.get(version, VersionState(0, 0, 0))
            # Scaling down is instant; new pods exist but are not ready until ready_all().
            self.pods[version] = VersionState(
                replicas, max(replicas, min(old.total, replicas)), min(old.ready, replicas)
            )
        self.last = decision
        return decision

    def ready_all(self) -> None:
        self.pods = {
            v: replace(s, total=s.replicas, ready=s.replicas) for v, s in self.pods.items()
        }

    def settle(self, rounds: int = 6) -> Decision:
        """Reconcile with every pod turning ready in between, until nothing changes."""
        decision = self.step()
        for _ in range(rounds):
            self.ready_all()
            decision = self.step()
        return decision

    def later(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    @property
    def state(self) -> str:
        assert self.status is not None
        assert self.status.rollout is not None
        return self.status.rollout.state

    @property
    def counts(self) -> dict[str, int]:
        return {v: s.replicas for v, s in sorted(self.pods.items())}

    @property
    def step_index(self) -> int | None:
        assert self.status is not None
        return self.status.canary.step if self.status.canary else None

    def stable_version(self) -> str | None:
        assert self.status is not None
        assert self.status.stable is not None
        return self.status.stable.version


def running(spec: ModelDeploymentSpec, version: str = "7") -> Cluster:
    """A ModelDeployment serving `version` on every replica, no rollout."""
    cluster = Cluster(spec, target=version)
    cluster.settle()
    return cluster
