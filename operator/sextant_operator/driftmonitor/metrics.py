"""The operator's drift gauges, per monitor and per feature, from each DriftMonitor's status.

They are set from status (not only from new results), so an operator that restarts
exports them again as soon as it has seen each DriftMonitor.
"""

from __future__ import annotations

import contextlib
import threading

from prometheus_client import Gauge

from sextant_operator.api.driftmonitor import DriftCheck

_MONITOR = ("namespace", "monitor")
FEATURE_STATISTIC = Gauge(
    "sextant_drift_feature_statistic",
    "Test statistic or distance of a feature in the last drift check.",
    (*_MONITOR, "feature", "test"),
)
FEATURE_DRIFTED = Gauge(
    "sextant_drift_feature_drifted",
    "1 if a feature drifted in the last drift check, else 0.",
    (*_MONITOR, "feature"),
)
DATASET_DRIFT = Gauge(
    "sextant_drift_dataset_drift", "1 if the last check found dataset drift, else 0.", _MONITOR
)
DRIFT_SHARE = Gauge(
    "sextant_drift_share", "Share of tested features that drifted in the last check.", _MONITOR
)
LAST_CHECK = Gauge(
    "sextant_drift_last_check_timestamp_seconds", "When the last drift check finished.", _MONITOR
)
ALERT = Gauge(
    "sextant_drift_alert",
    "1 while a DriftMonitor with an Alert action reports dataset drift, else 0.",
    _MONITOR,
)
PERFORMANCE = Gauge(
    "sextant_drift_performance",
    "A performance metric (accuracy, precision, recall, f1, mae, rmse, r2) of the last check "
    "over the window's labelled rows.",
    (*_MONITOR, "metric"),
)
_PER_MONITOR = (DATASET_DRIFT, DRIFT_SHARE, LAST_CHECK, ALERT)
_PER_FEATURE = (FEATURE_STATISTIC, FEATURE_DRIFTED)


# The feature and metric series exported per monitor, to remove exactly those when it changes.
_exported: dict[tuple[str, str], list[tuple[str, str | None]]] = {}
_metrics: dict[tuple[str, str], list[str]] = {}
_guard = threading.Lock()


def export(namespace: str, monitor: str, check: DriftCheck | None, *, alerting: bool) -> None:
    with _guard:
        _forget(namespace, monitor)
        if check is None:
            return
        drift = bool(check.dataset_drift)
        DATASET_DRIFT.labels(namespace, monitor).set(int(drift))
        DRIFT_SHARE.labels(namespace, monitor).set(check.drift_share or 0.0)
        ALERT.labels(namespace, monitor).set(int(drift and alerting))
        if check.time is not None:
            LAST_CHECK.labels(namespace, monitor).set(check.time.timestamp())
        series: list[tuple[str, str | None]] = []
        for feature in check.features:
            FEATURE_DRIFTED.labels(namespace, monitor, feature.name).set(int(feature.drifted))
            test = feature.test if feature.statistic is not None else None
            if test is not None and feature.statistic is not None:
                FEATURE_STATISTIC.labels(namespace, monitor, feature.name, test).set(
                    feature.statistic
                )
            series.append((feature.name, test))
        _exported[(namespace, monitor)] = series
        performance = check.performance.metrics if check.performance else {}
        for metric, value in performance.items():
            PERFORMANCE.labels(namespace, monitor, metric).set(value)
        _metrics[(namespace, monitor)] = list(performance)


def forget(namespace: str, monitor: str) -> None:
    """Drop every series of one monitor (it was deleted)."""
    with _guard:
        _forget(namespace, monitor)


def _forget(namespace: str, monitor: str) -> None:
    for gauge in _PER_MONITOR:
        _remove(gauge, namespace, monitor)
    for feature, test in _exported.pop((namespace, monitor), []):
        _remove(FEATURE_DRIFTED, namespace, monitor, feature)
        if test is not None:
            _remove(FEATURE_STATISTIC, namespace, monitor, feature, test)
    for metric in _metrics.pop((namespace, monitor), []):
        _remove(PERFORMANCE, namespace, monitor, metric)


def _remove(gauge: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        gauge.remove(*labels)
