"""Drift statistics: per-feature tests, data quality and the dataset's verdict.

`check_drift(reference, current)` takes two Arrow tables and returns a DriftResult whose
`to_json()` is DriftMonitor's `status.lastCheck`. With default options the tests, their
automatic choice and their thresholds are Evidently's, so verdicts agree with Evidently's
data drift preset on the same data; DriftOptions turns on the sample-size-aware mode.
"""

from sextant_runtime.drift.check import check_drift
from sextant_runtime.drift.streaks import WindowStreaks
from sextant_runtime.drift.types import (
    DriftOptions,
    DriftResult,
    Feature,
    FeatureResult,
    Kind,
    Quality,
    Status,
)

__all__ = [
    "DriftOptions",
    "DriftResult",
    "Feature",
    "FeatureResult",
    "Kind",
    "Quality",
    "Status",
    "WindowStreaks",
    "check_drift",
]
