"""The dataset verdict and the result's JSON (DriftMonitor status.lastCheck)."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from sextant_runtime.drift import DriftOptions, Feature, Kind, check_drift


def _tables(rng: np.random.Generator, drifting: int, total: int) -> tuple[pa.Table, pa.Table]:
    ref = pa.table({f"f{i}": rng.normal(0, 1, 500) for i in range(total)})
    cur = pa.table({f"f{i}": rng.normal(2 if i < drifting else 0, 1, 400) for i in range(total)})
    return ref, cur


def test_dataset_drifts_when_half_the_features_drift(rng: np.random.Generator) -> None:
    ref, cur = _tables(rng, drifting=2, total=4)
    result = check_drift(ref, cur)
    assert (result.drifted_features, result.tested_features) == (2, 4)
    assert result.drift_share == 0.5
    assert result.dataset_drift


def test_dataset_does_not_drift_below_the_share(rng: np.random.Generator) -> None:
    ref, cur = _tables(rng, drifting=1, total=4)
    result = check_drift(ref, cur)
    assert result.drift_share == 0.25
    assert not result.dataset_drift
    assert check_drift(ref, cur, options=DriftOptions(drift_share=0.25)).dataset_drift


def test_the_json_has_the_status_fields_of_the_api(rng: np.random.Generator) -> None:
    ref, cur = _tables(rng, drifting=1, total=2)
    payload = json.loads(json.dumps(check_drift(ref, cur).to_json(), allow_nan=False))
    assert {"sampleSize", "datasetDrift", "driftShare", "features"} <= payload.keys()
    feature = payload["features"][0]
    assert {"name", "test", "statistic", "pValue", "drifted"} <= feature.keys()
    assert feature["name"] == "f0"
    assert feature["drifted"] is True


def test_an_infinite_statistic_is_null_in_json() -> None:
    ref = pa.table({"c": ["a", "b"] * 20})
    cur = pa.table({"c": ["a", "b", "new"] * 10})
    feature = check_drift(ref, cur).to_json()["features"][0]
    assert feature["statistic"] is None
    assert feature["pValue"] == 0.0
    assert feature["drifted"] is True
    json.dumps(feature, allow_nan=False)


def test_threads_give_the_same_result_as_one(rng: np.random.Generator) -> None:
    ref, cur = _tables(rng, drifting=3, total=8)
    one = check_drift(ref, cur, options=DriftOptions(workers=1)).to_json()
    many = check_drift(ref, cur, options=DriftOptions(workers=4)).to_json()
    assert one == many


def test_a_threshold_overrides_every_tests_default(rng: np.random.Generator) -> None:
    ref, cur = _tables(rng, drifting=0, total=1)
    feature = check_drift(ref, cur, options=DriftOptions(threshold=0.9)).feature("f0")
    assert feature.threshold == 0.9


def test_named_features_may_change_the_kind(rng: np.random.Generator) -> None:
    ref = pa.table({"code": pa.array(rng.integers(0, 4, 300)), "other": rng.normal(0, 1, 300)})
    cur = pa.table({"code": pa.array(rng.integers(0, 4, 300)), "other": rng.normal(0, 1, 300)})
    result = check_drift(ref, cur, [Feature("code", Kind.CATEGORICAL)])
    assert [(f.name, f.kind, f.test) for f in result.features] == [
        ("code", Kind.CATEGORICAL, "chisquare")
    ]


@pytest.mark.parametrize(
    ("features", "message"),
    [
        ([Feature("absent")], "not a column of the reference"),
        ([Feature("s", Kind.NUMERICAL)], "is numerical but the reference holds string"),
    ],
)
def test_usage_errors_raise(features: list[Feature], message: str) -> None:
    ref = pa.table({"s": ["a", "b"]})
    with pytest.raises(ValueError, match=message):
        check_drift(ref, ref, features)


@pytest.mark.parametrize(
    "options",
    [{"numerical_test": "t"}, {"categorical_test": "ks"}, {"drift_share": 0}, {"consecutive": 0}],
)
def test_bad_options_raise(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        DriftOptions(**options)  # type: ignore[arg-type]
