"""FeatureView objects for the unit tests, as the API server would hand them over."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sextant_operator.api.featureview import FeatureView


def feature_view(
    *,
    schedule: str | None = "*/15 * * * *",
    parallelism: int = 1,
    source: str = "https://data.example/users.parquet",
    online: dict[str, Any] | None = None,
    s3: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> FeatureView:
    spec: dict[str, Any] = {
        "entities": [{"name": "user_id", "dtype": "string"}],
        "features": [{"name": "age", "dtype": "int64"}, {"name": "ltv", "dtype": "float64"}],
        "source": {"uri": source, "createdTimestampField": "created"},
        "ttl": "24h",
        "online": online or {},
    }
    if s3 is not None:
        spec["source"]["s3"] = s3
    if schedule is not None:
        spec["materialization"] = {"schedule": schedule, "parallelism": parallelism}
    body: dict[str, Any] = {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "FeatureView",
        "metadata": {"name": "user-features", "namespace": "shop", "uid": "u-1", "generation": 3},
        "spec": spec,
    }
    if status is not None:
        body["status"] = status
    return FeatureView.from_cluster(body)


def ready_status(last: datetime | None, ready: bool = True) -> dict[str, Any]:
    status: dict[str, Any] = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "Materialized" if ready else "SourceUnavailable",
                "message": "ok" if ready else "Error: https://data.example/users.parquet: 404",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ]
    }
    if last is not None:
        status["lastMaterialization"] = {"time": last.isoformat(), "rows": 1, "entities": 1}
    return status
