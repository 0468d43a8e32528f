"""`auto` picks the test Evidently's preset picks."""

from __future__ import annotations

import numpy as np
import pytest

from sextant_runtime.drift.auto import auto_test
from tests.unit.drift.conftest import categorical_pair, numerical_pair


@pytest.mark.parametrize(
    ("n", "distinct", "expected"),
    [
        (1000, 50, "ks"),
        (1001, 50, "wasserstein"),
        (1000, 5, "chisquare"),
        (1000, 3, "chisquare"),
        (1000, 2, "z"),
        (1001, 5, "jensenshannon"),
        (1001, 2, "jensenshannon"),
        (1000, 6, "ks"),
        (5000, 6, "wasserstein"),
    ],
)
def test_numerical_choice_by_size_and_distinct_values(n: int, distinct: int, expected: str) -> None:
    values = np.arange(n) % distinct
    assert auto_test(numerical_pair(values, values[: n // 2])) == expected


def test_distinct_values_count_both_samples_together() -> None:
    ref = [1.0, 2.0] * 100
    cur = [1.0, 2.0, 3.0] * 50
    assert auto_test(numerical_pair(ref, cur)) == "chisquare"


def test_reference_size_counts_only_finite_values() -> None:
    ref = np.concatenate([np.arange(1000.0), [np.nan] * 10, [np.inf]])
    assert auto_test(numerical_pair(ref, np.arange(100.0))) == "ks"


@pytest.mark.parametrize(
    ("n", "categories", "expected"),
    [(1000, "abc", "chisquare"), (1000, "ab", "z"), (1001, "ab", "jensenshannon"),
     (1001, "abcdefg", "jensenshannon")],
)  # fmt: skip
def test_categorical_choice(n: int, categories: str, expected: str) -> None:
    ref = [categories[i % len(categories)] for i in range(n)]
    assert auto_test(categorical_pair(ref, ref[:100])) == expected
