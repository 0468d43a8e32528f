"""The operator's drift gauges follow each monitor's last check, per feature."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY

from sextant_operator.driftmonitor import metrics
from sextant_operator.driftmonitor.results import to_last_check
from tests.unit.driftmonitor.builders import result

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def test_gauges_per_feature_and_monitor_and_removed_with_the_monitor() -> None:
    check = to_last_check(result({"amount": True, "country": False}, dataset_drift=True), T0)
    metrics.export("ml", "m1", check, alerting=True)
    one = {"namespace": "ml", "monitor": "m1"}
    assert value("sextant_drift_dataset_drift", **one) == 1
    assert value("sextant_drift_share", **one) == 0.5
    assert value("sextant_drift_alert", **one) == 1
    assert value("sextant_drift_last_check_timestamp_seconds", **one) == T0.timestamp()
    assert value("sextant_drift_feature_drifted", **one, feature="amount") == 1
    assert value("sextant_drift_feature_drifted", **one, feature="country") == 0
    assert value("sextant_drift_feature_statistic", **one, feature="amount", test="ks") == 0.4
    # A new check replaces the series; a removed feature's series goes.
    steady = to_last_check(result({"amount": False}, dataset_drift=False), T0)
    metrics.export("ml", "m1", steady, alerting=True)
    assert value("sextant_drift_alert", **one) == 0
    assert value("sextant_drift_feature_drifted", **one, feature="country") is None
    metrics.forget("ml", "m1")
    assert value("sextant_drift_dataset_drift", **one) is None
    assert value("sextant_drift_feature_drifted", **one, feature="amount") is None


def test_performance_gauge_per_metric_follows_the_last_check() -> None:
    payload = result({"amount": False}, dataset_drift=False)
    metric_values = {"accuracy": 0.75, "f1": 0.5}
    payload["performance"] = {"task": "classification", "prediction": "probabilities",
                              "sampleSize": 60, "metrics": metric_values}  # fmt: skip
    metrics.export("ml", "m2", to_last_check(payload, T0), alerting=False)
    two = {"namespace": "ml", "monitor": "m2"}
    assert value("sextant_drift_performance", **two, metric="accuracy") == 0.75
    assert value("sextant_drift_performance", **two, metric="f1") == 0.5
    # A check without labelled rows has no metrics: the old series go, none is made up.
    payload["performance"]["metrics"] = {}
    metrics.export("ml", "m2", to_last_check(payload, T0), alerting=False)
    assert value("sextant_drift_performance", **two, metric="accuracy") is None
    payload["performance"]["metrics"] = {"accuracy": 0.5}
    metrics.export("ml", "m2", to_last_check(payload, T0), alerting=False)
    metrics.forget("ml", "m2")
    assert value("sextant_drift_performance", **two, metric="accuracy") is None
