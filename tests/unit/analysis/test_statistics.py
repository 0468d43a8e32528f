"""The statistics against scipy on fixed samples."""

from __future__ import annotations

import math

import pytest
from scipy.stats import mannwhitneyu

from sextant_operator.analysis.statistics import ZERO_SHARE, bin_counts, compare, psi

STABLE = [101.0, 98.0, 103.0, 99.0, 100.0, 102.0, 97.0, 104.0, 100.5, 99.5, 101.5, 98.5]
SLOWER = [v * 1.5 for v in STABLE]
SLIGHTLY = [v + 1.0 for v in STABLE]


def test_a_canary_significantly_and_materially_slower_is_worse_with_scipys_p_value() -> None:
    result = compare(SLOWER, STABLE, min_samples=10, effect="ratio", tolerance=1.2)
    expected = mannwhitneyu(SLOWER, STABLE, alternative="greater").pvalue
    assert result.outcome == "Worse"
    assert result.p_value == pytest.approx(expected)
    assert result.effect == pytest.approx(1.5)


def test_a_trivial_difference_passes_however_significant() -> None:
    many_stable = STABLE * 10
    many_canary = [v + 1.0 for v in many_stable]
    result = compare(many_canary, many_stable, min_samples=10, effect="ratio", tolerance=1.2)
    assert result.p_value is not None
    assert result.p_value < 0.01  # significant ...
    assert result.outcome == "Pass"  # ... but 1% slower is within tolerance


def test_a_canary_no_different_passes() -> None:
    result = compare(SLIGHTLY, STABLE, min_samples=10, effect="ratio", tolerance=1.0)
    expected = mannwhitneyu(SLIGHTLY, STABLE, alternative="greater").pvalue
    assert result.p_value == pytest.approx(expected)
    assert result.outcome == "Pass"


def test_too_few_finite_samples_are_inconclusive_never_a_pass() -> None:
    canary = [1.0, math.nan, 2.0]
    result = compare(canary, STABLE, min_samples=3, effect="difference", tolerance=0.0)
    assert result.outcome == "Inconclusive"
    assert result.canary_n == 2
    assert "too few samples" in result.reason


def test_error_rates_compare_by_mean_difference() -> None:
    stable = [0.0] * 12
    canary = [0.0, 0.05, 0.02, 0.04, 0.0, 0.03, 0.06, 0.01, 0.05, 0.02, 0.04, 0.03]
    result = compare(canary, stable, min_samples=10, effect="difference", tolerance=0.002)
    assert result.outcome == "Worse"
    assert result.effect == pytest.approx(sum(canary) / 12)
    assert result.p_value == pytest.approx(
        mannwhitneyu(canary, stable, alternative="greater").pvalue
    )


def test_identical_all_zero_samples_pass() -> None:
    result = compare([0.0] * 10, [0.0] * 10, min_samples=10, effect="difference", tolerance=0)
    assert result.outcome == "Pass"


def test_psi_matches_the_formula_and_is_zero_for_the_same_distribution() -> None:
    stable = [10.0, 20.0, 40.0, 30.0]
    canary = [30.0, 40.0, 20.0, 10.0]
    s = [x / 100 for x in stable]
    c = [x / 100 for x in canary]
    expected = sum((ci - si) * math.log(ci / si) for ci, si in zip(c, s, strict=True))
    assert psi(canary, stable) == pytest.approx(expected)
    assert psi([2.0, 4.0, 8.0, 6.0], stable) == pytest.approx(0.0)


def test_psi_drops_bins_empty_on_both_sides_and_floors_one_sided_zeros() -> None:
    stable = [0.0, 50.0, 50.0, 0.0]
    canary = [0.0, 50.0, 0.0, 50.0]
    floor = ZERO_SHARE
    expected = (floor - 0.5) * math.log(floor / 0.5) + (0.5 - floor) * math.log(0.5 / floor)
    assert psi(canary, stable) == pytest.approx(expected)
    assert math.isnan(psi([0.0, 0.0], [1.0, 2.0]))


def test_bin_counts_decumulate_prometheus_buckets() -> None:
    assert bin_counts({0.5: 3.0, 1.0: 5.0, math.inf: 9.0}) == [3.0, 2.0, 4.0]
