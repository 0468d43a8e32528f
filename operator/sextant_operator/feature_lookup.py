"""spec.features: find the FeatureView a ModelDeployment reads, and say whether it can.

`resolve_features` is the one read (the FeatureView, through Kube); the rest is pure. A
ModelDeployment whose FeatureView is missing or unusable gets no runtime rendered: pods
already serving keep running as they are, status says why (`FeaturesResolved=False` and
`Ready=False` with the same reason, and a Warning Event), and the reconcile comes back
after RETRY_SECONDS (a FeatureView created later is picked up then). Once it resolves,
`FeaturesResolved=True` and the runtime is rendered with SEXTANT_FEATURES
(render/features.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ValidationError

from sextant_operator.api import API_VERSION, Condition, FeatureView
from sextant_operator.api.modeldeployment import ModelDeployment, ModelDeploymentStatus
from sextant_operator.conditions import set_condition, set_feature_condition
from sextant_operator.render.features import redis_url
from sextant_operator.settings import OperatorSettings

if TYPE_CHECKING:
    from sextant_operator.kube import Kube

CONDITION = "FeaturesResolved"
RETRY_SECONDS = 15.0


@dataclass(frozen=True)
class Problem:
    reason: str
    message: str


@dataclass(frozen=True)
class FeatureResolution:
    """The FeatureView spec.features names (None without spec.features), or why not."""

    view: FeatureView | None = None
    problem: Problem | None = None


def resolve_features(
    kube: Kube, md: ModelDeployment, settings: OperatorSettings
) -> FeatureResolution:
    lookup = md.spec.features
    if lookup is None:
        return FeatureResolution()
    namespace = md.metadata.namespace or "default"
    body = kube.get(API_VERSION, "FeatureView", namespace, lookup.feature_view)
    if body is None:
        return FeatureResolution(
            problem=Problem(
                "FeatureViewNotFound",
                f"spec.features.featureView: FeatureView {lookup.feature_view} does not exist "
                f"in namespace {namespace}; retrying",
            )
        )
    try:
        view = FeatureView.from_cluster(body)
    except ValidationError as err:
        return FeatureResolution(
            problem=Problem("FeatureViewInvalid", f"FeatureView {lookup.feature_view}: {err}")
        )
    return FeatureResolution(view, check_view(view, settings))


def check_view(view: FeatureView, settings: OperatorSettings) -> Problem | None:
    """What keeps a found FeatureView from enriching requests."""
    name = view.metadata.name
    if len(view.spec.entities) != 1:
        keys = ", ".join(e.name for e in view.spec.entities)
        return Problem(
            "CompositeEntityNotSupported",
            f"FeatureView {name} has a composite entity key ({keys}); online enrichment "
            "takes one entity input and is not implemented for composite keys",
        )
    if redis_url(view, settings) is None:
        return Problem(
            "RedisNotConfigured",
            f"FeatureView {name} has no spec.online.redisUrl and the operator has no Redis URL "
            "(--redis-url / SEXTANT_REDIS_URL, chart value operator.redisUrl)",
        )
    return None


def with_features_condition(
    conditions: list[Condition],
    md: ModelDeployment,
    resolution: FeatureResolution,
    now: datetime | None = None,
) -> list[Condition]:
    """`FeaturesResolved` as the resolution says; absent without spec.features."""
    lookup = md.spec.features
    working = None
    if lookup is not None:
        working = (
            "Resolved",
            f"requests carry {lookup.entity_input}; features come from FeatureView "
            f"{lookup.feature_view} (onMissing {lookup.on_missing})",
        )
    problem = resolution.problem
    return set_feature_condition(
        conditions,
        CONDITION,
        working=working,
        problem=None if problem is None else (problem.reason, problem.message),
        generation=md.metadata.generation,
        now=now,
    )


def unresolved_status(
    md: ModelDeployment, resolution: FeatureResolution, now: datetime | None = None
) -> ModelDeploymentStatus:
    """The status while the FeatureView cannot be used: the rest as it was, not Ready."""
    assert resolution.problem is not None
    problem = resolution.problem
    status = (md.status or ModelDeploymentStatus()).model_copy(deep=True)
    conditions = with_features_condition(status.conditions, md, resolution, now)
    status.conditions = set_condition(
        conditions,
        "Ready",
        status=False,
        reason=problem.reason,
        message=problem.message,
        generation=md.metadata.generation,
        now=now,
    )
    status.observed_generation = md.metadata.generation
    # Pods of an earlier spec may still serve: Degraded, not down.
    status.phase = "Degraded" if status.ready_replicas else "Pending"
    return status
