"""spec.features: the runtime environment that turns on online enrichment. Pure.

The operator reads the FeatureView when it reconciles (see feature_lookup) and hands the
runtime everything it needs as SEXTANT_FEATURES, so runtime pods need no access to the
Kubernetes API: the view's namespace/name, its Redis URL, its entity and feature dtypes,
the request input holding the entity key and the missing-entity policy. The JSON keys are
`sextant serve --features`'s (sextant_runtime.features.online.OnlineFeatures; the
operator image does not ship the runtime package, and a test holds the two together).
A Redis password in a Secret reaches the runtime as SEXTANT_FEATURES_REDIS_PASSWORD.
"""

from __future__ import annotations

import json
from typing import Any

from sextant import serving
from sextant_operator.api import FeatureView
from sextant_operator.api.modeldeployment import FeatureLookup
from sextant_operator.settings import OperatorSettings

FEATURES_ENV = serving.FEATURES.env
PASSWORD_ENV = serving.FEATURES_REDIS_PASSWORD.env


def redis_url(view: FeatureView, settings: OperatorSettings) -> str | None:
    """The FeatureView's own Redis, else the operator's (--redis-url)."""
    return view.spec.online.redis_url or settings.redis_url


def features_json(lookup: FeatureLookup, view: FeatureView, url: str) -> str:
    spec = view.spec
    entity = spec.entities[0]
    return json.dumps(
        {
            "featureView": f"{view.metadata.namespace}/{view.metadata.name}",
            "redisUrl": url,
            "entityInput": lookup.entity_input,
            "entity": {"name": entity.name, "dtype": entity.dtype},
            "features": [{"name": f.name, "dtype": f.dtype} for f in spec.features],
            "onMissing": lookup.on_missing,
        },
        separators=(",", ":"),
    )


def feature_env(
    lookup: FeatureLookup | None, view: FeatureView | None, settings: OperatorSettings
) -> list[dict[str, Any]]:
    """The runtime variables for enrichment; none without spec.features or a usable view
    (the reconcile does not render a runtime then: see feature_lookup)."""
    if lookup is None or view is None:
        return []
    url = redis_url(view, settings)
    if url is None or len(view.spec.entities) != 1:
        return []
    env: list[dict[str, Any]] = [{"name": FEATURES_ENV, "value": features_json(lookup, view, url)}]
    secret = view.spec.online.secret_ref
    if secret is not None:
        env.append(
            {
                "name": PASSWORD_ENV,
                "valueFrom": {"secretKeyRef": {"name": secret.name, "key": secret.key}},
            }
        )
    return env
