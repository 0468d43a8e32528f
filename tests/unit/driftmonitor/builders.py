"""DriftMonitors and results for unit tests, shaped as the API server and the job give them."""

from __future__ import annotations

from typing import Any

from sextant_operator.api import DriftMonitor

SPEC: dict[str, Any] = {
    "target": {"modelDeployment": "fraud"},
    "reference": {"uri": "https://data.example/train.parquet"},
    "features": [
        {"name": "amount", "type": "numerical"},
        {"name": "country", "type": "categorical"},
    ],
    "predictions": False,
}


def drift_monitor(
    spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None
) -> DriftMonitor:
    body: dict[str, Any] = {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "DriftMonitor",
        "metadata": {"name": "fraud-drift", "namespace": "ml", "uid": "uid-9", "generation": 2},
        "spec": {**SPEC, **(spec or {})},
    }
    if status is not None:
        body["status"] = status
    return DriftMonitor.from_cluster(body)


def result(drifted: dict[str, bool], *, dataset_drift: bool) -> dict[str, Any]:
    """What `sextant drift check` prints, trimmed to the fields the operator reads."""
    features = [
        {
            "name": name,
            "type": "numerical",
            "test": "ks",
            "statistic": 0.4 if flag else 0.01,
            "pValue": 0.001 if flag else 0.9,
            "drifted": flag,
            "status": "ok",
            "quality": {"missingShare": 0.0},
        }
        for name, flag in drifted.items()
    ]
    share = sum(drifted.values()) / len(drifted)
    return {
        "sampleSize": 5000,
        "referenceSize": 800,
        "datasetDrift": dataset_drift,
        "driftShare": share,
        "driftShareThreshold": 0.5,
        "features": features,
    }
