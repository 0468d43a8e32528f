"""Performance from ground truth: the numpy formulas agree with scikit-learn's reference
implementations, the window join pairs labels with their request's rows, and the task is
chosen from the prediction's type."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from sklearn import metrics as sk

from sextant_runtime.drift.performance import (
    classification_metrics,
    evaluate,
    from_columns,
    join_window,
    regression_metrics,
)
from sextant_runtime.drift.types import DriftResult


@pytest.mark.parametrize("classes", [2, 3, 7])
def test_classification_metrics_match_scikit_learn_macro(
    classes: int, rng: np.random.Generator
) -> None:
    truth = rng.integers(0, classes, 500)
    predicted = np.where(rng.random(500) < 0.7, truth, rng.integers(0, classes + 1, 500))
    got, k = classification_metrics(truth, predicted)
    assert k == len(np.union1d(truth, predicted))
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(truth, predicted))
    for name, reference in (
        ("precision", sk.precision_score),
        ("recall", sk.recall_score),
        ("f1", sk.f1_score),
    ):
        expected = reference(truth, predicted, average="macro", zero_division=0)
        assert got[name] == pytest.approx(expected), name


def test_string_classes_and_a_class_never_predicted() -> None:
    truth = np.array(["cat", "dog", "dog", "bird", "cat"])
    predicted = np.array(["cat", "dog", "cat", "cat", "cat"])
    got, k = classification_metrics(truth, predicted)
    assert k == 3
    assert got["precision"] == pytest.approx(
        sk.precision_score(truth, predicted, average="macro", zero_division=0)
    )
    expected = sk.f1_score(truth, predicted, average="macro", zero_division=0)
    assert got["f1"] == pytest.approx(expected)


def test_regression_metrics_match_scikit_learn(rng: np.random.Generator) -> None:
    truth = rng.normal(10, 3, 1000)
    predicted = truth + rng.normal(0.5, 1, 1000)
    got = regression_metrics(truth, predicted)
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(truth, predicted))
    assert got["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(truth, predicted)))
    assert got["r2"] == pytest.approx(sk.r2_score(truth, predicted))


def test_r2_of_constant_labels_is_undefined_not_a_number() -> None:
    got = regression_metrics(np.ones(5), np.array([1.0, 2, 1, 1, 1]))
    assert got["r2"] is None
    assert got["mae"] == pytest.approx(0.2)


def _window(ids: list[str], scores: list[list[float]]) -> pa.Table:
    columns = {f"probabilities_{i}": [row[i] for row in scores] for i in range(len(scores[0]))}
    return pa.table({"x": list(range(len(ids))), **columns, "_id": ids})


def test_labels_join_their_requests_rows_and_scores_become_class_indices() -> None:
    window = _window(
        ["a", "b", "b", "c", "d"],
        [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.5, 0.4]],
    )
    # a: one row, right; b: two rows, one right; c: no label; d: wrong length; zz: not in window
    labels = {"a": 0, "b": [1, 1], "d": [0, 0], "zz": 1}
    result = join_window(window, labels, "probabilities")
    assert result.task == "classification"
    assert result.sample_size == 3
    assert result.window_rows == 5
    assert result.excluded == 1
    assert result.metrics["accuracy"] == pytest.approx(2 / 3)
    assert "left out" in result.message


def test_no_label_in_the_window_gives_an_empty_result_that_says_so() -> None:
    result = join_window(_window(["a"], [[0.1, 0.9]]), {}, "probabilities")
    assert result.sample_size == 0
    assert result.metrics == {}
    assert "no labelled row" in result.message


def test_a_float_prediction_is_a_regression_and_non_finite_rows_are_left_out() -> None:
    result = evaluate([1.0, 2.0, 3.0, 4.0], np.array([1.5, 2.0, np.nan, 4.0]), "auto", "y",
                      window_rows=4)  # fmt: skip
    assert result.task == "regression"
    assert result.sample_size == 3
    assert result.excluded == 1
    assert result.metrics["mae"] == pytest.approx(0.5 / 3)


def test_a_regression_over_a_multi_value_tensor_names_the_columns_to_pick() -> None:
    with pytest.raises(ValueError, match="name one column"):
        evaluate([1.0], np.array([[0.1, 0.2]]), "regression", "scores", window_rows=1)


def test_file_target_and_prediction_columns() -> None:
    table = pa.table({"target": [1, 0, None, 1], "prediction": [1, 1, 0, 1]})
    result = from_columns(table, "target", "prediction")
    assert result.task == "classification"
    assert result.sample_size == 3
    assert result.metrics["accuracy"] == pytest.approx(2 / 3)
    assert "without a target" in result.message
    with pytest.raises(ValueError, match="target 'label' is not a column"):
        from_columns(table, "label", "prediction")


def test_the_check_result_carries_performance_under_its_own_key() -> None:
    performance = from_columns(pa.table({"t": [1.0, 2.0], "p": [1.0, 3.0]}), "t", "p")
    result = DriftResult([], 2, 2, 0.0, False, 0.5, 0, 0, performance=performance)
    out = result.to_json()["performance"]
    assert out == {
        "task": "regression",
        "prediction": "p",
        "sampleSize": 2,
        "windowRows": 2,
        "metrics": {"mae": 0.5, "rmse": pytest.approx(np.sqrt(0.5)), "r2": -1.0},
    }
