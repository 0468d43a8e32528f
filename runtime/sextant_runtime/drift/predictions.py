"""Prediction drift: which reference columns hold the model's predictions, and the current
window's matching columns.

A reference column is a prediction column when it is named after an output tensor (`OUT`
for an output with one value per row, `OUT_0`, `OUT_1` ... for one element each of a
vector output, as the prediction log's window names them) or is `prediction`
(Evidently's default column mapping), which holds the model's first output (or the one
named). A vector output held against a single reference column (`OUT` or `prediction`)
is a classifier's scores: its prediction is the index of the largest value, a category,
as the performance metrics read it. Prediction columns are tested with the same automatic
test selection as features and count in the dataset's drift share, as in Evidently.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from sextant_runtime.drift.check import check_drift, resolve_features
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

PREDICTION = "prediction"
Task = str  # auto | classification | regression


@dataclass
class Predictions:
    current: pa.Table  # the window, with derived prediction columns added
    features: list[Feature] = field(default_factory=list)  # reference columns to test
    candidates: set[str] = field(default_factory=set)  # reference columns that are outputs
    missing: str = ""  # why no prediction column matched (empty: some did, or not asked)


def _elements(table: pa.Table, name: str) -> list[str]:
    found: list[str] = []
    while (column := f"{name}_{len(found)}") in table.column_names:
        found.append(column)
    return found


def _reference_elements(reference: pa.Table, name: str) -> list[str]:
    pattern = re.compile(rf"{re.escape(name)}_(\d+)")
    matched = [(int(m[1]), c) for c in reference.column_names if (m := pattern.fullmatch(c))]
    return [column for _, column in sorted(matched)]


def _argmax(table: pa.Table, columns: list[str]) -> pa.Array | None:
    """The predicted class per row; null where a score is missing or not finite (counted
    as missing by the check), None when the scores are not numbers."""
    scores = np.column_stack([table.column(c).to_numpy(zero_copy_only=False) for c in columns])
    if scores.dtype.kind not in "iufb":
        return None
    unusable = ~np.isfinite(scores.astype(np.float64)).all(axis=1)
    return pa.array(scores.argmax(axis=1).astype(np.int64), mask=unusable)


def _kind(task: Task, derived: bool) -> Kind | None:
    if derived or task == "classification":
        return Kind.CATEGORICAL
    if task == "regression":
        return Kind.NUMERICAL
    return None  # from the reference column's type, as features


def match_predictions(
    reference: pa.Table,
    current: pa.Table,
    outputs: Sequence[str],
    *,
    prediction: str | None = None,
    task: Task = "auto",
) -> Predictions:
    """Pair the reference's prediction columns with the window's outputs.

    `outputs` are the log's output tensors (empty for a current file, whose prediction is
    the column `prediction`, or the one named). `prediction` names the tensor that a
    reference `prediction` column holds (default: the first output).
    """
    ref_columns = set(reference.column_names)
    found = Predictions(current)

    def add(column: str, derived: bool = False) -> None:
        found.candidates.add(column)
        found.features.append(Feature(column, _kind(task, derived)))

    def derive(column: str, values: pa.Array | pa.ChunkedArray | None) -> None:
        kept = found.current.drop_columns([c for c in (column,) if c in found.current.column_names])
        # No usable values: the column stays absent and the check says so per feature.
        found.current = kept if values is None else kept.append_column(column, values)

    for output in outputs:
        elements = _elements(current, output)
        if output in ref_columns:
            if output not in current.column_names and elements:
                derive(output, _argmax(current, elements))
                add(output, derived=True)
            else:
                add(output)  # present, or missing: the check reports that per feature
        else:
            # One per element; one the window lacks is reported as a missing column.
            for column in _reference_elements(reference, output):
                add(column)
    column = PREDICTION if outputs else (prediction or PREDICTION)
    if column in ref_columns and column not in found.candidates:
        tensor = (prediction or outputs[0]) if outputs else column
        elements = _elements(current, tensor)
        if tensor in current.column_names:
            if tensor != column:
                derive(column, current.column(tensor))
            add(column)
        elif elements:
            derive(column, _argmax(current, elements))
            add(column, derived=True)
        else:
            add(column)  # tested as a missing column: the check says so per feature
    if not found.features:
        names = ", ".join(f"{o} (or {o}_0, {o}_1 ...)" for o in outputs) or column
        found.missing = (
            f"the reference has no prediction column: name one {PREDICTION!r} or after "
            f"the model's output: {names}"
        )
    return found


def missing_result(predictions: Predictions) -> FeatureResult:
    """The per-feature result that says predictions were asked for but cannot be tested."""
    result = FeatureResult(PREDICTION, Kind.CATEGORICAL, prediction=True)
    result.status = Status.MISSING_COLUMN
    result.quality = Quality(schema="no prediction column in the reference")
    result.message = predictions.missing
    return result


def check_with_predictions(
    reference: pa.Table,
    current: pa.Table,
    features: Sequence[Feature] | None,
    options: DriftOptions,
    streaks: WindowStreaks | None = None,
    *,
    outputs: Sequence[str] = (),
    predictions: bool | None = None,
    prediction: str | None = None,
    task: Task = "auto",
) -> DriftResult:
    """check_drift with the model's predictions as columns of their own.

    `predictions`: True tests them and says so per feature when none can be matched;
    None tests those that match (Evidently: a prediction column when the data has one);
    False tests none. Without `features`, every other reference column is an input
    feature; prediction columns are never tested as inputs.
    """
    found = match_predictions(reference, current, outputs, prediction=prediction, task=task)
    if features is None:
        inputs = [f for f in resolve_features(reference, None) if f.name not in found.candidates]
    else:
        inputs = list(features)
    tested = {f.name for f in inputs}
    extra = [] if predictions is False else [f for f in found.features if f.name not in tested]
    window = found.current if extra else current
    result = check_drift(reference, window, [*inputs, *extra], options, streaks)
    names = {f.name for f in extra}
    for feature in result.features:
        feature.prediction = feature.name in names
    if predictions and found.missing:
        missing = missing_result(found)
        result.features.append(missing)
        result.schema_violations.append(f"{missing.name}: {missing.quality.schema}")
    return result
