"""Verdicts agree with Evidently's on the same data.

evidently_goldens.json holds small fixed data sets and what Evidently's ColumnDriftMetric
said about each (test chosen, drift score, threshold, verdict); make_evidently_goldens.py
regenerates it with a real Evidently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from sextant_runtime.drift import DriftOptions, Feature, Kind, check_drift

GOLDENS = json.loads(Path(__file__).with_name("evidently_goldens.json").read_text())
EVIDENTLY_TEST_NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "PSI": "psi",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


def _column(values: list[Any], kind: str) -> pa.Array:
    if kind == "categorical" and isinstance(values[0], str):
        return pa.array(values, pa.string())
    return pa.array(values, pa.float64(), from_pandas=True)


@pytest.mark.parametrize("case", GOLDENS["cases"], ids=lambda case: case["name"])
def test_verdict_agrees_with_evidently(case: dict[str, Any]) -> None:
    kind = Kind(case["kind"])
    test = case.get("test") or "auto"
    options = (
        DriftOptions(numerical_test=test)
        if kind is Kind.NUMERICAL
        else DriftOptions(categorical_test=test)
    )
    result = check_drift(
        pa.table({"x": _column(case["ref"], case["kind"])}),
        pa.table({"x": _column(case["cur"], case["kind"])}),
        [Feature("x", kind)],
        options,
    ).feature("x")

    expected = case["evidently"]
    assert result.test == EVIDENTLY_TEST_NAMES[expected["test"]]
    assert result.threshold == expected["threshold"]
    assert result.drifted is expected["drifted"]
    assert result.score == pytest.approx(expected["score"], rel=1e-6, abs=1e-12)


def test_goldens_cover_every_test_and_both_verdicts() -> None:
    verdicts = {(c["evidently"]["test"], c["evidently"]["drifted"]) for c in GOLDENS["cases"]}
    assert {EVIDENTLY_TEST_NAMES[test] for test, _ in verdicts} == set(
        EVIDENTLY_TEST_NAMES.values()
    )
    assert {drifted for _, drifted in verdicts} == {True, False}
