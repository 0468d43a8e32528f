"""The feature-freshness promotion gate as the rollout reconcile asks it: reads the
ModelDeployment's FeatureView (spec.features.featureView) and says why to hold."""

from __future__ import annotations

from datetime import datetime

from sextant_operator.api import API_VERSION
from sextant_operator.api.featureview import FeatureView
from sextant_operator.api.modeldeployment import ModelDeployment
from sextant_operator.featureview.freshness import stale_reason
from sextant_operator.kube import Kube


def promotion_hold(kube: Kube, md: ModelDeployment, now: datetime) -> str | None:
    """Why the new version must not be promoted now; None without spec.features or when
    its FeatureView is fresh."""
    features = md.spec.features
    if features is None:
        return None
    name = features.feature_view
    body = kube.get(API_VERSION, "FeatureView", md.metadata.namespace or "", name)
    view = FeatureView.from_cluster(body) if body is not None else None
    return stale_reason(name, view, now)
