"""Data quality in the same pass, and columns that cannot be tested: a clear per-feature
result, never a crash of the whole check."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pytest

from sextant_runtime.drift import Feature, Kind, Status, check_drift


def test_missing_and_infinite_values_are_counted_then_dropped() -> None:
    ref = pa.table({"x": pa.array([1.0, 2.0, 3.0, 4.0, None, 5.0, 6.0, 7.0])})
    cur = pa.table({"x": pa.array([1.0, math.nan, None, math.inf, -math.inf, 2.0, 3.0, 4.0])})
    result = check_drift(ref, cur).feature("x")
    assert result.status is Status.OK
    assert result.quality.missing_share == pytest.approx(2 / 8)
    assert result.quality.reference_missing_share == pytest.approx(1 / 8)
    assert result.quality.infinite_share == pytest.approx(2 / 8)
    assert (result.reference_size, result.current_size) == (7, 4)


def test_out_of_range_share_is_against_the_reference_min_and_max() -> None:
    ref = pa.table({"x": np.linspace(0.0, 10.0, 50)})
    cur = pa.table({"x": np.array([-1.0, 0.0, 5.0, 10.0, 10.5, 11.0, 3.0, 4.0])})
    assert check_drift(ref, cur).feature("x").quality.out_of_range_share == pytest.approx(3 / 8)


def test_new_categories_are_listed_with_their_share() -> None:
    ref = pa.table({"c": ["a", "b", "c"] * 10})
    cur = pa.table({"c": ["a", "zz", "b", "new", None, "new"]})
    quality = check_drift(ref, cur).feature("c").quality
    assert quality.new_categories == ["new", "zz"]
    assert quality.new_category_count == 2
    assert quality.new_category_share == pytest.approx(3 / 5)
    assert quality.missing_share == pytest.approx(1 / 6)


def test_an_all_missing_current_column_is_reported_not_tested() -> None:
    ref = pa.table({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]})
    cur = pa.table({"x": pa.array([None, None], pa.float64()), "y": [1.0, 9.0]})
    result = check_drift(ref, cur)
    x = result.feature("x")
    assert x.status is Status.EMPTY_CURRENT
    assert not x.drifted
    assert x.quality.missing_share == 1.0
    assert "not tested" in x.message
    assert result.tested_features == 1


def test_an_all_nan_or_null_typed_reference_is_reported_not_tested() -> None:
    ref = pa.table({"x": [math.nan] * 4, "n": pa.nulls(4)})
    cur = pa.table({"x": [1.0, 2.0], "n": pa.nulls(2)})
    result = check_drift(ref, cur)
    assert result.feature("x").status is Status.EMPTY_REFERENCE
    assert result.feature("n").status is Status.EMPTY_REFERENCE
    assert result.tested_features == 0
    assert result.dataset_drift is False


def test_an_all_infinite_current_column_is_empty() -> None:
    ref = pa.table({"x": [1.0, 2.0]})
    cur = pa.table({"x": [math.inf, -math.inf]})
    x = check_drift(ref, cur).feature("x")
    assert x.status is Status.EMPTY_CURRENT
    assert x.quality.infinite_share == 1.0


@pytest.mark.parametrize("size", [100, 5000])
def test_constant_columns_that_agree_do_not_drift(size: int) -> None:
    ref = pa.table({"x": np.full(size, 3.0), "c": ["k"] * size})
    cur = pa.table({"x": np.full(size // 2, 3.0), "c": ["k"] * (size // 2)})
    result = check_drift(ref, cur)
    for name in ("x", "c"):
        feature = result.feature(name)
        assert feature.status is Status.OK, feature.message
        assert not feature.drifted
        assert feature.score is not None
        assert math.isfinite(feature.score)


def test_a_constant_that_moves_drifts() -> None:
    ref = pa.table({"x": np.full(2000, 3.0)})
    cur = pa.table({"x": np.full(2000, 4.0)})
    feature = check_drift(ref, cur).feature("x")
    assert feature.test == "jensenshannon"
    assert feature.drifted


def test_a_column_missing_from_the_current_data_is_a_schema_violation() -> None:
    ref = pa.table({"x": [1.0, 2.0], "y": [1.0, 2.0]})
    cur = pa.table({"y": [1.0, 2.0]})
    result = check_drift(ref, cur)
    assert result.feature("x").status is Status.MISSING_COLUMN
    assert result.schema_violations == ["x: missing from the current data"]


def test_strings_where_the_reference_has_numbers_are_a_type_mismatch() -> None:
    ref = pa.table({"x": [1.0, 2.0, 3.0]})
    cur = pa.table({"x": ["1", "two", "3"]})
    result = check_drift(ref, cur)
    assert result.feature("x").status is Status.TYPE_MISMATCH
    assert result.schema_violations == ["x: expected numbers, got string"]


def test_integer_and_float_columns_are_compatible() -> None:
    ref = pa.table({"x": pa.array(list(range(100)), pa.int64())})
    cur = pa.table({"x": pa.array([float(v) for v in range(100)])})
    feature = check_drift(ref, cur).feature("x")
    assert feature.status is Status.OK
    assert not feature.drifted


def test_integer_codes_declared_categorical_match_across_types() -> None:
    ref = pa.table({"c": pa.array([1, 2, 3] * 20, pa.int64())})
    cur = pa.table({"c": pa.array([1, 2, 3] * 10, pa.int32())})
    feature = check_drift(ref, cur, [Feature("c", Kind.CATEGORICAL)]).feature("c")
    assert feature.test == "chisquare"
    assert feature.p_value == pytest.approx(1.0)
    assert feature.quality.new_category_count == 0


def test_dictionary_and_boolean_columns_are_categorical() -> None:
    ref = pa.table(
        {
            "d": pa.array(["a", "b"] * 50).dictionary_encode(),
            "b": pa.array([True, False] * 50),
        }
    )
    cur = pa.table({"d": pa.array(["a", "b", "b"] * 20), "b": pa.array([True] * 60)})
    result = check_drift(ref, cur)
    assert result.feature("d").kind is Kind.CATEGORICAL
    assert result.feature("d").test == "z"
    assert result.feature("b").drifted


def test_columns_of_other_types_are_not_features() -> None:
    ref = pa.table({"t": pa.array([1, 2], pa.timestamp("s")), "x": [1.0, 2.0]})
    result = check_drift(ref, pa.table({"x": [1.0, 2.0]}))
    assert [f.name for f in result.features] == ["x"]
