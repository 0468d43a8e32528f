"""spec.features: the runtime's SEXTANT_FEATURES, and the FeaturesResolved condition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sextant_operator.api import FeatureView
from sextant_operator.api.modeldeployment import ModelDeploymentStatus
from sextant_operator.conditions import set_condition
from sextant_operator.feature_lookup import (
    FeatureResolution,
    Problem,
    check_view,
    unresolved_status,
    with_features_condition,
)
from sextant_operator.render.deployment import render_deployment
from sextant_operator.render.features import FEATURES_ENV, PASSWORD_ENV
from sextant_operator.settings import OperatorSettings
from sextant_runtime.features.online import OnlineFeatures
from sextant_runtime.features.views import Column
from tests.unit.operator.builders import SETTINGS, context, model_deployment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MD = model_deployment(
    {
        "model": {"uri": "file:///models/fraud.onnx"},
        "features": {"featureView": "users", "entityInput": "uid", "onMissing": "reject"},
    }
)


def feature_view(**online: Any) -> FeatureView:
    return FeatureView.model_validate(
        {
            "apiVersion": "sextant.dev/v1alpha1",
            "kind": "FeatureView",
            "metadata": {"name": "users", "namespace": "ml"},
            "spec": {
                "entities": [{"name": "user_id", "dtype": "int64"}],
                "features": [
                    {"name": "age", "dtype": "int64"},
                    {"name": "ltv", "dtype": "float64"},
                ],
                "source": {"uri": "pvc://data/users.parquet"},
                "ttl": "24h",
                "online": online,
            },
        }
    )


def env(view: FeatureView | None, settings: OperatorSettings = SETTINGS) -> dict[str, Any]:
    ctx = context(MD)
    ctx = type(ctx)(ctx.md, settings, ctx.artifact, view)
    container = render_deployment(ctx, "stable", 1)["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container["env"]}


def test_the_runtime_is_told_the_view_its_redis_entity_features_and_policy() -> None:
    rendered = env(feature_view(redisUrl="redis://features:6379/2"))

    online = OnlineFeatures.from_json(rendered[FEATURES_ENV]["value"])  # what the runtime reads

    assert online == OnlineFeatures(
        namespace="ml",
        view="users",
        redis_url="redis://features:6379/2",
        entity_input="uid",
        entity=Column("user_id", "int64"),
        features=(Column("age", "int64"), Column("ltv", "float64")),
        on_missing="reject",
    )
    assert PASSWORD_ENV not in rendered


def test_the_operator_redis_url_is_the_default_and_a_secret_password_is_referenced() -> None:
    settings = OperatorSettings(runtime_image="r", redis_url="redis://shared:6379/0")
    view = feature_view(secretRef={"name": "redis-auth", "key": "password"})

    rendered = env(view, settings)

    assert OnlineFeatures.from_json(rendered[FEATURES_ENV]["value"]).redis_url == (
        "redis://shared:6379/0"
    )
    assert rendered[PASSWORD_ENV]["valueFrom"] == {
        "secretKeyRef": {"name": "redis-auth", "key": "password"}
    }


def test_no_enrichment_env_without_a_view() -> None:
    assert FEATURES_ENV not in env(None)


def test_a_view_without_any_redis_url_or_with_a_composite_key_cannot_be_used() -> None:
    problem = check_view(feature_view(), SETTINGS)
    assert problem is not None
    assert problem.reason == "RedisNotConfigured"
    composite = feature_view(redisUrl="redis://r:6379/0")
    composite.spec.entities.append(composite.spec.entities[0].model_copy(update={"name": "shop"}))
    problem = check_view(composite, SETTINGS)
    assert problem is not None
    assert problem.reason == "CompositeEntityNotSupported"
    assert check_view(feature_view(redisUrl="redis://r:6379/0"), SETTINGS) is None


def test_features_resolved_condition_follows_the_resolution() -> None:
    resolved = with_features_condition([], MD, FeatureResolution(feature_view()), T0)
    assert [(c.type, c.status, c.reason) for c in resolved] == [
        ("FeaturesResolved", "True", "Resolved")
    ]
    assert "uid" in resolved[0].message
    missing = FeatureResolution(problem=Problem("FeatureViewNotFound", "no FeatureView users"))
    failed = with_features_condition(resolved, MD, missing, T0)
    assert [(c.type, c.status, c.reason) for c in failed] == [
        ("FeaturesResolved", "False", "FeatureViewNotFound")
    ]
    without = model_deployment({"model": {"uri": "file:///models/fraud.onnx"}})
    assert with_features_condition(failed, without, FeatureResolution(), T0) == []


def test_an_unresolved_view_makes_the_model_not_ready_and_keeps_the_rest_of_status() -> None:
    before = ModelDeploymentStatus(
        phase="Ready",
        ready_replicas=1,
        url="http://fraud.ml.svc/v2/models/fraud",
        conditions=set_condition(
            [], "Ready", status=True, reason="Available", message="1 of 1", generation=2, now=T0
        ),
    )
    md = MD.model_copy(update={"status": before})
    missing = FeatureResolution(problem=Problem("FeatureViewNotFound", "no FeatureView users"))

    status = unresolved_status(md, missing, T0)

    by_type = {c.type: c for c in status.conditions}
    assert (by_type["Ready"].status, by_type["Ready"].reason) == ("False", "FeatureViewNotFound")
    assert by_type["FeaturesResolved"].message == "no FeatureView users"
    assert status.url == before.url
    assert status.phase == "Degraded"  # the pods already serving still serve
    assert status.ready_replicas == 1
    assert status.observed_generation == md.metadata.generation
