"""Prediction drift: the window's outputs against the reference's prediction columns, named
after the output (OUT, OUT_0 ...) or `prediction`, tested as features are."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from sextant_runtime.drift import DriftOptions, DriftResult, Feature, Kind
from sextant_runtime.drift.predictions import check_with_predictions
from sextant_runtime.drift.report import render_html


def run(
    reference: dict[str, Any], current: dict[str, Any], outputs: tuple[str, ...], **kw: Any
) -> DriftResult:
    features = kw.pop("features", None)
    return check_with_predictions(
        pa.table(reference), pa.table(current), features, DriftOptions(workers=1),
        outputs=outputs, **kw,
    )  # fmt: skip


def roles(result: DriftResult) -> dict[str, bool]:
    return {f.name: f.prediction for f in result.features}


def scores(rng: np.random.Generator, rows: int, favourite: int) -> dict[str, np.ndarray]:
    """Three class scores per row whose largest is mostly `favourite`."""
    raw = rng.random((rows, 3))
    raw[rng.random(rows) < 0.8, favourite] += 1
    return {f"probabilities_{i}": raw[:, i].astype(np.float32) for i in range(3)}


def test_a_scalar_output_is_tested_against_the_reference_column_of_its_name(
    rng: np.random.Generator,
) -> None:
    reference = {"x": rng.normal(0, 1, 800), "score": rng.normal(0, 1, 800)}
    current = {"x": rng.normal(0, 1, 500), "score": rng.normal(2, 1, 500), "_id": ["r"] * 500}
    result = run(reference, current, ("score",), predictions=True)
    assert roles(result) == {"x": False, "score": True}
    score = result.feature("score")
    assert (score.test, score.drifted) == ("ks", True)  # Evidently's choice, <= 1000 rows
    assert result.feature("x").drifted is False
    assert result.tested_features == 2  # the prediction counts in the share, as in Evidently
    assert score.to_json()["role"] == "prediction"
    assert "role" not in result.feature("x").to_json()


def test_a_vector_output_is_tested_per_element_when_the_reference_has_them(
    rng: np.random.Generator,
) -> None:
    reference = {"m": rng.normal(0, 1, 2000), **scores(rng, 2000, 0)}
    current = {"m": rng.normal(0, 1, 500), **scores(rng, 500, 2)}
    result = run(reference, current, ("probabilities",))
    assert roles(result) == {
        "m": False, "probabilities_0": True, "probabilities_1": True, "probabilities_2": True,
    }  # fmt: skip
    assert {f.test for f in result.features} == {"wasserstein"}  # > 1000 reference rows
    assert result.feature("probabilities_2").drifted is True


def test_scores_against_a_prediction_column_are_compared_as_the_predicted_class(
    rng: np.random.Generator,
) -> None:
    # As scores() favouring class 0 predict: 0 for 80% + a third of the rest.
    shares = [0.8 + 0.2 / 3, 0.2 / 3, 0.2 / 3]
    reference = {"m": rng.normal(0, 1, 600), "prediction": rng.choice(3, 600, p=shares)}
    steady = run(reference, {"m": rng.normal(0, 1, 400), **scores(rng, 400, 0)},
                 ("probabilities",), predictions=True)  # fmt: skip
    prediction = steady.feature("prediction")
    assert prediction.prediction is True
    assert prediction.kind is Kind.CATEGORICAL
    assert (prediction.test, prediction.drifted) == ("chisquare", False)
    shifted = run(reference, {"m": rng.normal(0, 1, 400), **scores(rng, 400, 2)},
                  ("probabilities",), predictions=True)  # fmt: skip
    assert shifted.feature("prediction").drifted is True


def test_the_named_output_fills_the_prediction_column(rng: np.random.Generator) -> None:
    reference = {"prediction": rng.normal(5, 1, 300)}
    current = {"low": rng.normal(5, 1, 300), "high": rng.normal(9, 1, 300)}
    first = run(reference, current, ("low", "high"))
    assert first.feature("prediction").drifted is False  # the first output by default
    named = run(reference, current, ("low", "high"), prediction="high")
    assert named.feature("prediction").drifted is True


def test_no_predictions_tests_no_output_column_not_even_as_a_feature(
    rng: np.random.Generator,
) -> None:
    reference = {"x": rng.normal(0, 1, 300), "score": rng.normal(0, 1, 300),
                 "prediction": rng.normal(0, 1, 300)}  # fmt: skip
    current = {"x": rng.normal(0, 1, 300), "score": rng.normal(3, 1, 300)}
    result = run(reference, current, ("score",), predictions=False)
    assert roles(result) == {"x": False}


def test_asked_for_predictions_without_a_reference_column_are_a_per_feature_result(
    rng: np.random.Generator,
) -> None:
    reference = {"x": rng.normal(0, 1, 300)}
    current = {"x": rng.normal(0, 1, 300), "probabilities_0": rng.random(300)}
    result = run(reference, current, ("probabilities",), predictions=True)
    missing = result.feature("prediction")
    assert (missing.prediction, missing.status.value, missing.test) == (
        True,
        "MissingColumn",
        None,
    )
    assert "probabilities (or probabilities_0" in missing.message
    assert result.tested_features == 1  # not counted
    assert any(v.startswith("prediction:") for v in result.schema_violations)
    quiet = run(reference, current, ("probabilities",))  # the default: test what matches
    assert roles(quiet) == {"x": False}


def test_an_output_the_window_lacks_is_a_missing_column(rng: np.random.Generator) -> None:
    reference = {"score": rng.normal(0, 1, 300), "x": rng.normal(0, 1, 300)}
    result = run(reference, {"x": rng.normal(0, 1, 300)}, ("score",))
    assert result.feature("score").status.value == "MissingColumn"
    assert result.feature("score").prediction is True


def test_a_current_file_has_its_prediction_column(rng: np.random.Generator) -> None:
    reference = {"x": rng.normal(0, 1, 300), "prediction": rng.choice(["a", "b"], 300)}
    current = {"x": rng.normal(0, 1, 300), "prediction": rng.choice(["a", "b"], 300, p=[0.1, 0.9])}
    result = run(reference, current, ())
    assert roles(result) == {"x": False, "prediction": True}
    assert (result.feature("prediction").test, result.feature("prediction").drifted) == ("z", True)
    named = run({"y": reference["prediction"]}, {"y": current["prediction"]}, (), prediction="y")
    assert roles(named) == {"y": True}


@pytest.mark.parametrize(("task", "kind"), [("classification", Kind.CATEGORICAL),
                                            ("regression", Kind.NUMERICAL),
                                            ("auto", Kind.NUMERICAL)])  # fmt: skip
def test_the_task_decides_how_a_numeric_prediction_is_tested(task: str, kind: Kind) -> None:
    reference = {"label": np.array([0, 1, 2] * 100)}
    current = {"label": np.array([0, 1, 2] * 50)}
    result = run(reference, current, ("label",), task=task)
    assert result.feature("label").kind is kind


def test_listed_features_and_predictions_are_both_tested(rng: np.random.Generator) -> None:
    reference = {"x": rng.normal(0, 1, 300), "y": rng.normal(0, 1, 300),
                 "score": rng.normal(0, 1, 300)}  # fmt: skip
    current = {"x": rng.normal(0, 1, 300), "y": rng.normal(0, 1, 300),
               "score": rng.normal(0, 1, 300)}  # fmt: skip
    result = run(reference, current, ("score",), features=[Feature("x")], predictions=True)
    assert roles(result) == {"x": False, "score": True}


def test_the_report_marks_prediction_columns(rng: np.random.Generator) -> None:
    reference = {"x": rng.normal(0, 1, 300), "score": rng.normal(0, 1, 300)}
    current = {"x": rng.normal(0, 1, 300), "score": rng.normal(0, 1, 300)}
    page = render_html(run(reference, current, ("score",)), title="t")
    assert 'data-feature="score" data-drifted="false" data-role="prediction"' in page
    assert 'data-feature="x" data-drifted="false" data-role="feature"' in page
    assert "numerical (prediction)" in page


def test_rows_with_a_non_finite_score_are_missing_predictions(rng: np.random.Generator) -> None:
    reference = {"prediction": rng.choice(3, 200)}
    window = scores(rng, 200, 1)
    window["probabilities_1"][:50] = np.nan
    result = run(reference, window, ("probabilities",))
    prediction = result.feature("prediction")
    assert prediction.quality.missing_share == pytest.approx(0.25)
    assert prediction.current_size == 150
    text = run({"prediction": ["a", "b"] * 50}, {"label_0": ["a", "b"] * 50}, ("label",))
    assert text.feature("prediction").status.value == "MissingColumn"
