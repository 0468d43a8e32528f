"""What a runtime needs to enrich requests with a FeatureView's online values.

The operator reads the FeatureView when it renders a ModelDeployment with spec.features
and passes this to `sextant serve --features` (SEXTANT_FEATURES) as JSON, so the runtime
needs no access to the Kubernetes API:

    {"featureView": "NAMESPACE/NAME", "redisUrl": "redis://...", "entityInput": "user_id",
     "entity": {"name": "user_id", "dtype": "string"},
     "features": [{"name": "age", "dtype": "int64"}, ...], "onMissing": "default"}

`onMissing` says what a row gets when its entity has no online value (never materialized,
or expired after the view's ttl), or a feature of it is null:
    default  the zero of the model input's type (0, 0.0, false, empty bytes);
    null     NaN (only for floating-point model inputs);
    reject   the request is answered 404, naming the entity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

from sextant_runtime.features.views import SQL_TYPES, Column

OnMissing = Literal["default", "null", "reject"]
ON_MISSING: tuple[OnMissing, ...] = ("default", "null", "reject")
ENTITY_TYPES = ("string", "bytes", "int32", "int64")


class FeatureSpecError(ValueError):
    """A --features value that cannot be used; the message names the field."""


@dataclass(frozen=True)
class OnlineFeatures:
    """One FeatureView as the request path reads it."""

    namespace: str
    view: str
    redis_url: str
    entity_input: str
    entity: Column
    features: tuple[Column, ...]
    on_missing: OnMissing = "default"

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.view}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "featureView": self.label,
                "redisUrl": self.redis_url,
                "entityInput": self.entity_input,
                "entity": {"name": self.entity.name, "dtype": self.entity.dtype},
                "features": [{"name": f.name, "dtype": f.dtype} for f in self.features],
                "onMissing": self.on_missing,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> OnlineFeatures:
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise FeatureSpecError(f"--features is not valid JSON: {err}") from None
        if not isinstance(obj, dict):
            raise FeatureSpecError("--features must be a JSON object")
        view = _text(obj, "featureView")
        namespace, _, name = view.partition("/")
        if not namespace or not name or "/" in name:
            raise FeatureSpecError(f"--features featureView {view!r} must be NAMESPACE/NAME")
        entity = _column(obj.get("entity"), "entity")
        if entity.dtype not in ENTITY_TYPES:
            raise FeatureSpecError(
                f"--features entity.dtype {entity.dtype!r} must be one of {', '.join(ENTITY_TYPES)}"
            )
        raw_features = obj.get("features")
        if not isinstance(raw_features, list) or not raw_features:
            raise FeatureSpecError("--features features must be a non-empty list")
        features = tuple(_column(f, f"features[{i}]") for i, f in enumerate(raw_features))
        on_missing = obj.get("onMissing", "default")
        if on_missing not in ON_MISSING:
            raise FeatureSpecError(
                f"--features onMissing {on_missing!r} must be one of {', '.join(ON_MISSING)}"
            )
        return cls(
            namespace=namespace,
            view=name,
            redis_url=_text(obj, "redisUrl"),
            entity_input=_text(obj, "entityInput"),
            entity=entity,
            features=features,
            on_missing=cast(OnMissing, on_missing),
        )


def _text(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise FeatureSpecError(f"--features {key} must be a non-empty string")
    return value


def _column(raw: object, where: str) -> Column:
    if not isinstance(raw, dict):
        raise FeatureSpecError(f"--features {where} must be an object with name and dtype")
    name, dtype = raw.get("name"), raw.get("dtype")
    if not isinstance(name, str) or not name:
        raise FeatureSpecError(f"--features {where}.name must be a non-empty string")
    if dtype not in SQL_TYPES:
        raise FeatureSpecError(
            f"--features {where}.dtype {dtype!r} must be one of {', '.join(SQL_TYPES)}"
        )
    return Column(name, str(dtype))
