"""Performance from ground truth: concept drift, not only data drift.

Two ways in. From the prediction log, `join_window` pairs each logged row of the window
with the label that arrived later for its request id (groundtruth.py): a scalar label for
a one-row request, a list with one value per row otherwise. From a file, `from_columns`
compares a target column with a prediction column of the current data.

The prediction is one output tensor (the model's first unless named). A tensor with
several values per row (class probabilities) is a classifier's, and its prediction is the
index of the largest value, so its labels are class indices. Metrics are plain numpy
formulas (see types.Performance for which); tests compare them with scikit-learn.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from sextant_runtime.drift.types import Performance

Task = Literal["auto", "classification", "regression"]
TASKS = ("auto", "classification", "regression")


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[dict[str, float], int]:
    """Accuracy and macro precision, recall, F1; and the number of classes."""
    classes, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    k, n = len(classes), len(y_true)
    truth, predicted = codes[:n], codes[n:]
    hits = truth == predicted
    tp = np.bincount(truth[hits], minlength=k).astype(float)
    per_true = np.bincount(truth, minlength=k)
    per_pred = np.bincount(predicted, minlength=k)
    # A class never predicted has precision 0 (and never labelled, recall 0), as sklearn.
    precision = np.divide(tp, per_pred, out=np.zeros(k), where=per_pred > 0)
    recall = np.divide(tp, per_true, out=np.zeros(k), where=per_true > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(k), where=both > 0)
    metrics = {
        "accuracy": float(hits.mean()),
        "precision": float(precision.mean()),
        "recall": float(recall.mean()),
        "f1": float(f1.mean()),
    }
    return metrics, k


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float | None]:
    error = y_pred - y_true
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "r2": None if total == 0 else 1.0 - float(np.sum(error**2)) / total,
    }


def evaluate(
    y_true: Sequence[Any],
    prediction: np.ndarray,
    task: Task,
    name: str,
    *,
    window_rows: int,
    excluded: int = 0,
) -> Performance:
    """Metrics of `prediction` (n rows, or n x k scores) against `y_true` (n labels)."""
    chosen = _task(task, y_true, prediction)
    if prediction.ndim == 2:
        if chosen == "regression":
            raise ValueError(
                f"prediction {name!r} has {prediction.shape[1]} values per row: name one "
                f"column ({name}_0 ...) for a regression"
            )
        prediction = prediction.argmax(axis=1)
    out = Performance(chosen, name, len(y_true), window_rows, excluded=excluded)
    if not len(y_true):
        out.message = "no labelled row in the window: no performance metrics"
        return out
    if chosen == "classification":
        truth, predicted = _comparable(y_true, prediction)
        metrics, out.classes = classification_metrics(truth, predicted)
        out.metrics = dict(metrics)
        return out
    try:
        truth = np.asarray(y_true, dtype=float)
    except ValueError:
        raise ValueError("labels are not numbers: a regression needs numeric labels") from None
    predicted = prediction.astype(float)
    finite = np.isfinite(truth) & np.isfinite(predicted)
    if not finite.all():
        out.excluded += int((~finite).sum())
        out.sample_size = int(finite.sum())
        out.message = "rows with a non-finite label or prediction were left out"
        truth, predicted = truth[finite], predicted[finite]
    if len(truth):
        out.metrics = dict(regression_metrics(truth, predicted))
    return out


def _task(task: Task, y_true: Sequence[Any], prediction: np.ndarray) -> Literal[
    "classification", "regression"
]:  # fmt: skip
    if task != "auto":
        return task
    if prediction.ndim == 2 or prediction.dtype.kind in "iubUSO":
        return "classification"
    if any(isinstance(label, str) for label in y_true):
        return "classification"
    return "regression"


def _comparable(y_true: Sequence[Any], prediction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predictions of one type: numbers as floats (1 == 1.0), else strings."""
    if prediction.dtype.kind in "iufb" and not any(isinstance(v, str) for v in y_true):
        return np.asarray(y_true, dtype=float), prediction.astype(float)
    return np.asarray([str(v) for v in y_true]), np.asarray([str(v) for v in prediction])


def prediction_columns(table: pa.Table, name: str) -> np.ndarray:
    """Column `name`, or the columns NAME_0 ... of a tensor with several values per row."""
    if name in table.column_names:
        return np.asarray(table.column(name).to_numpy(zero_copy_only=False))
    parts: list[np.ndarray] = []
    while (column := f"{name}_{len(parts)}") in table.column_names:
        parts.append(table.column(column).to_numpy(zero_copy_only=False))
    if not parts:
        raise ValueError(f"prediction {name!r} is not a column of the current data")
    return np.column_stack(parts) if len(parts) > 1 else parts[0]


def join_window(
    window: pa.Table,
    labels: Mapping[str, Any],
    prediction: str,
    task: Task = "auto",
) -> Performance:
    """Performance over the window rows (read_window) whose request id has a label."""
    predicted = prediction_columns(window, prediction)
    ids = window.column("_id").to_pylist()
    # Rows of one request are consecutive in the window.
    rows_of: dict[str, list[int]] = {}
    for row, request_id in enumerate(ids):
        rows_of.setdefault(request_id, []).append(row)
    keep: list[int] = []
    truth: list[Any] = []
    excluded = 0
    for request_id, rows in rows_of.items():
        label = labels.get(request_id)
        if label is None:
            continue
        values = label if isinstance(label, list) else [label]
        if len(values) != len(rows):  # a request cut at the window's edge, or a bad list
            excluded += len(rows)
            continue
        keep.extend(rows)
        truth.extend(values)
    out = evaluate(
        truth, predicted[keep], task, prediction, window_rows=len(ids), excluded=excluded
    )
    if excluded:
        _note(
            out,
            f"{excluded} labelled rows left out: the label's length is not the request's "
            "rows in the window",
        )
    return out


def from_columns(table: pa.Table, target: str, prediction: str, task: Task = "auto") -> Performance:
    """Performance of a file that holds both the target and the prediction."""
    if target not in table.column_names:
        raise ValueError(f"target {target!r} is not a column of the current data")
    truth = table.column(target).to_pylist()
    predicted = prediction_columns(table, prediction)
    present = [i for i, value in enumerate(truth) if value is not None]
    missing = len(truth) - len(present)
    out = evaluate(
        [truth[i] for i in present], predicted[present], task, prediction, window_rows=len(truth)
    )
    if missing:
        _note(out, f"{missing} rows without a target are not counted")
    return out


def _note(performance: Performance, message: str) -> None:
    performance.message = "; ".join(filter(None, [performance.message, message]))
