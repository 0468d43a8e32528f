"""The drift check's inputs and results: plain dataclasses, JSON in the API's spelling.

A result mirrors DriftMonitor `status.lastCheck` (API.md): per feature `name, test,
statistic, pValue, drifted`, plus what a person needs to act on it (the threshold, the
effect size, data quality, and a `status` that says why a feature could not be tested).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Kind(StrEnum):
    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"


class Status(StrEnum):
    """Why a feature got (or did not get) a verdict. Only `ok` features count in the share."""

    OK = "ok"
    EMPTY_REFERENCE = "EmptyReference"  # no finite, non-missing value in the reference
    EMPTY_CURRENT = "EmptyCurrent"  # no finite, non-missing value in the current window
    MISSING_COLUMN = "MissingColumn"  # the current data has no such column
    TYPE_MISMATCH = "TypeMismatch"  # e.g. strings where the reference has numbers
    ERROR = "Error"  # the test itself failed; the message says how


TEST_NAMES = ("ks", "chisquare", "z", "psi", "wasserstein", "jensenshannon")
TestName = Literal["ks", "chisquare", "z", "psi", "wasserstein", "jensenshannon"]
Correction = Literal["none", "bh", "bonferroni"]


@dataclass(frozen=True)
class Feature:
    name: str
    kind: Kind | None = None  # None: inferred from the reference column's type


@dataclass(frozen=True)
class DriftOptions:
    """How to test. The defaults reproduce Evidently's default data drift preset.

    `numerical_test` / `categorical_test` are a test name or "auto"; `threshold` overrides
    every test's own default (p-value tests 0.05, distances 0.1) when set.

    The sample-size-aware mode is opt-in: with `effect_size_floor` set, a feature drifts
    only if its effect size also reaches the floor (so a million-row window does not flag
    a trivial shift); `correction` adjusts the p-values across features (Benjamini-Hochberg
    or Bonferroni) before they meet the threshold; `consecutive` (used with a
    `WindowStreaks`) declares drift only after that many drifting windows in a row.
    """

    numerical_test: str = "auto"
    categorical_test: str = "auto"
    threshold: float | None = None
    drift_share: float = 0.5
    effect_size_floor: float | None = None
    correction: Correction = "none"
    consecutive: int = 1
    bins: int = 30  # bins of the report's histograms
    workers: int | None = None  # threads over features; None: one per CPU

    def __post_init__(self) -> None:
        for test in (self.numerical_test, self.categorical_test):
            if test != "auto" and test not in TEST_NAMES:
                raise ValueError(f"unknown test {test!r}: auto or one of {', '.join(TEST_NAMES)}")
        if self.threshold is not None and not self.threshold > 0:
            raise ValueError("threshold must be > 0")
        if not 0 < self.drift_share <= 1:
            raise ValueError("drift_share must be in (0, 1]")
        if self.correction not in ("none", "bh", "bonferroni"):
            raise ValueError("correction must be none, bh or bonferroni")
        if self.categorical_test in ("ks", "wasserstein"):
            raise ValueError(f"{self.categorical_test} needs numbers: not a categorical test")
        if self.consecutive < 1:
            raise ValueError("consecutive must be >= 1")


@dataclass
class Quality:
    """Data quality of one feature in the current window, measured against the reference."""

    missing_share: float = 0.0  # null or NaN, of all current rows
    reference_missing_share: float = 0.0
    infinite_share: float = 0.0  # +-inf, of all current rows
    out_of_range_share: float | None = None  # finite values outside [reference min, max]
    new_categories: list[str] = field(default_factory=list)  # first few, sorted
    new_category_count: int = 0
    new_category_share: float | None = None  # of current non-missing rows
    schema: str | None = None  # what is wrong with the column's type or presence

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "missingShare": _number(self.missing_share),
            "referenceMissingShare": _number(self.reference_missing_share),
            "infiniteShare": _number(self.infinite_share),
        }
        if self.out_of_range_share is not None:
            out["outOfRangeShare"] = _number(self.out_of_range_share)
        if self.new_category_share is not None:
            out["newCategoryShare"] = _number(self.new_category_share)
            out["newCategoryCount"] = self.new_category_count
            out["newCategories"] = self.new_categories
        if self.schema is not None:
            out["schema"] = self.schema
        return out


@dataclass
class Distribution:
    """What the report draws: reference and current shares per bin or category."""

    labels: list[str]
    reference: list[float]
    current: list[float]
    edges: list[float] | None = None  # numerical: len(labels) + 1 bin edges


@dataclass
class FeatureResult:
    name: str
    kind: Kind
    test: str | None = None
    statistic: float | None = None
    p_value: float | None = None  # None for distance tests (wasserstein, psi, jensenshannon)
    adjusted_p_value: float | None = None  # after a correction across features
    threshold: float | None = None
    effect_size: float | None = None
    drifted: bool = False
    status: Status = Status.OK
    message: str = ""
    reference_size: int = 0  # values tested, after dropping missing and infinite ones
    current_size: int = 0
    streak: int = 0  # consecutive drifting windows, including this one
    prediction: bool = False  # a model output's column, not an input feature
    quality: Quality = field(default_factory=Quality)
    distribution: Distribution | None = None

    @property
    def score(self) -> float | None:
        """Evidently's drift score: the p-value of a p-value test, else the distance."""
        return self.p_value if self.p_value is not None else self.statistic

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.kind.value,
            "test": self.test,
            "statistic": _number(self.statistic),
            "pValue": _number(self.p_value),
            "drifted": self.drifted,
            "threshold": self.threshold,
            "effectSize": _number(self.effect_size),
            "status": self.status.value,
            "referenceSize": self.reference_size,
            "currentSize": self.current_size,
            "quality": self.quality.to_json(),
        }
        if self.adjusted_p_value is not None:
            out["adjustedPValue"] = _number(self.adjusted_p_value)
        if self.streak:
            out["streak"] = self.streak
        if self.prediction:
            out["role"] = "prediction"
        if self.message:
            out["message"] = self.message
        return out


@dataclass
class Performance:
    """Model performance on the labelled rows of a window (ground truth joined by id).

    Classification: accuracy, and precision, recall and F1 macro-averaged over the classes
    seen in labels or predictions (every class weighs the same, binary problems too).
    Regression: MAE, RMSE and R2 (null when the labels are constant: R2 is undefined).
    """

    task: Literal["classification", "regression"]
    prediction: str  # the tensor or column compared with the labels
    sample_size: int  # labelled rows with a prediction, the rows the metrics are over
    window_rows: int  # rows of the window, labelled or not
    metrics: dict[str, float | None] = field(default_factory=dict)
    classes: int | None = None  # classification: distinct classes in labels and predictions
    excluded: int = 0  # labelled rows left out: a label list whose length is not the rows'
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "task": self.task,
            "prediction": self.prediction,
            "sampleSize": self.sample_size,
            "windowRows": self.window_rows,
            "metrics": {name: _number(value) for name, value in self.metrics.items()},
        }
        if self.task == "classification":
            out["average"] = "macro"
            out["classes"] = self.classes
        if self.excluded:
            out["excluded"] = self.excluded
        if self.message:
            out["message"] = self.message
        return out


@dataclass
class DriftResult:
    features: list[FeatureResult]
    sample_size: int  # rows in the current window
    reference_size: int
    drift_share: float  # share of tested features that drifted
    dataset_drift: bool
    drift_share_threshold: float
    drifted_features: int
    tested_features: int
    schema_violations: list[str] = field(default_factory=list)
    options: DriftOptions = field(default_factory=DriftOptions)
    performance: Performance | None = None  # when ground truth was joined

    def feature(self, name: str) -> FeatureResult:
        for result in self.features:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        return {
            "sampleSize": self.sample_size,
            "referenceSize": self.reference_size,
            "datasetDrift": self.dataset_drift,
            "driftShare": _number(self.drift_share),
            "driftShareThreshold": self.drift_share_threshold,
            "driftedFeatures": self.drifted_features,
            "testedFeatures": self.tested_features,
            "schemaViolations": self.schema_violations,
            "features": [feature.to_json() for feature in self.features],
            **({} if self.performance is None else {"performance": self.performance.to_json()}),
        }


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: a non-finite statistic is reported as null."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)
