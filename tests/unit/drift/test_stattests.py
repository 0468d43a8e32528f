"""Each test against scipy (or numpy) computed by hand on the same fixed samples."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from sextant_runtime.drift.stattests import (
    TESTS,
    chisquare,
    histogram_sorted,
    jensenshannon,
    ks,
    psi,
    sturges_edges,
    wasserstein,
    wasserstein_sorted,
    z,
)
from tests.unit.drift.conftest import categorical_pair, numerical_pair


def test_ks_is_scipys_two_sample_test(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(0, 1, 400), rng.normal(0.2, 1, 300)
    outcome = ks(numerical_pair(ref, cur))
    expected = stats.ks_2samp(ref, cur)
    assert outcome.statistic == pytest.approx(expected.statistic)
    assert outcome.p_value == pytest.approx(expected.pvalue)
    assert outcome.effect_size == outcome.statistic


@pytest.mark.parametrize(("n", "m"), [(500, 500), (400, 300), (7, 1000), (1, 2), (1000, 999)])
def test_wasserstein_equals_scipys_on_sorted_samples(
    rng: np.random.Generator, n: int, m: int
) -> None:
    u, v = rng.normal(0, 2, n), rng.exponential(1.0, m)
    assert wasserstein_sorted(np.sort(u), np.sort(v)) == pytest.approx(
        stats.wasserstein_distance(u, v), rel=1e-10
    )


def test_wasserstein_with_ties_equals_scipys() -> None:
    u = np.array([1.0, 1.0, 2.0, 2.0, 2.0, 5.0])
    v = np.array([1.0, 2.0, 2.0, 3.0])
    assert wasserstein_sorted(u, v) == pytest.approx(stats.wasserstein_distance(u, v))


def test_wasserstein_is_normed_by_the_reference_std(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(0, 3, 2000), rng.normal(0.6, 3, 1500)
    outcome = wasserstein(numerical_pair(ref, cur))
    assert outcome.p_value is None
    assert outcome.statistic == pytest.approx(stats.wasserstein_distance(ref, cur) / np.std(ref))


def test_wasserstein_of_a_constant_reference_uses_the_floor_std() -> None:
    outcome = wasserstein(numerical_pair([2.0] * 10, [2.0] * 9 + [2.01]))
    assert outcome.statistic == pytest.approx(0.001 / 0.001)


def test_chisquare_scales_reference_counts_to_the_current_size() -> None:
    ref = ["a"] * 50 + ["b"] * 30 + ["c"] * 20
    cur = ["a"] * 20 + ["b"] * 20 + ["c"] * 10
    outcome = chisquare(categorical_pair(ref, cur))
    expected = stats.chisquare([20, 20, 10], [25.0, 15.0, 10.0])
    assert outcome.statistic == pytest.approx(expected.statistic)
    assert outcome.p_value == pytest.approx(expected.pvalue)
    assert outcome.effect_size == pytest.approx(math.sqrt(expected.statistic / 50))


def test_chisquare_of_a_new_category_is_infinite_and_drifts() -> None:
    outcome = chisquare(categorical_pair(["a", "b"] * 10, ["a", "b", "c"] * 10))
    assert math.isinf(outcome.statistic)
    assert outcome.p_value == 0.0
    assert TESTS["chisquare"].drifted(outcome, 0.05)


def test_z_test_is_the_pooled_two_proportion_test() -> None:
    ref = ["no"] * 70 + ["yes"] * 30
    cur = ["no"] * 50 + ["yes"] * 50
    outcome = z(categorical_pair(ref, cur))
    p1, p2, pooled = 0.3, 0.5, 0.4
    expected = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert abs(outcome.statistic) == pytest.approx(abs(expected))
    assert outcome.p_value == pytest.approx(2 * stats.norm.sf(abs(expected)))


def test_z_test_of_one_shared_value_is_no_drift() -> None:
    outcome = z(categorical_pair(["a"] * 5, ["a"] * 8))
    assert (outcome.statistic, outcome.p_value) == (0.0, 1.0)


def test_sturges_bins_and_histogram_match_numpy(rng: np.random.Generator) -> None:
    ref, cur = np.sort(rng.normal(0, 1, 1234)), np.sort(rng.normal(1, 2, 777))
    both = np.concatenate([ref, cur])
    edges = sturges_edges(ref, cur)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(both, bins="sturges"))
    np.testing.assert_array_equal(histogram_sorted(ref, edges), np.histogram(ref, edges)[0])
    np.testing.assert_array_equal(histogram_sorted(cur, edges), np.histogram(cur, edges)[0])


def test_jensenshannon_is_scipys_distance_of_the_binned_shares(rng: np.random.Generator) -> None:
    ref, cur = rng.normal(0, 1, 3000), rng.normal(0.3, 1, 2000)
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    expected = distance.jensenshannon(
        np.histogram(ref, edges)[0] / len(ref), np.histogram(cur, edges)[0] / len(cur)
    )
    outcome = jensenshannon(numerical_pair(ref, cur))
    assert outcome.statistic == pytest.approx(expected)
    assert outcome.p_value is None


def test_psi_fills_empty_bins_before_the_log() -> None:
    ref = ["a"] * 60 + ["b"] * 40
    cur = ["a"] * 30 + ["b"] * 50 + ["c"] * 20
    r = np.array([0.6, 0.4, 0.0001])
    c = np.array([0.3, 0.5, 0.2])
    expected = float(np.sum((r - c) * np.log(r / c)))
    assert psi(categorical_pair(ref, cur)).statistic == pytest.approx(expected)


def test_discrete_numbers_are_binned_per_value() -> None:
    ref = [1.0] * 40 + [2.0] * 60
    cur = [1.0] * 70 + [2.0] * 30
    expected = distance.jensenshannon([0.4, 0.6], [0.7, 0.3])
    assert jensenshannon(numerical_pair(ref, cur)).statistic == pytest.approx(expected)


@pytest.mark.parametrize(
    ("name", "threshold"),
    [("ks", 0.05), ("chisquare", 0.05), ("z", 0.05), ("psi", 0.1), ("wasserstein", 0.1),
     ("jensenshannon", 0.1)],
)  # fmt: skip
def test_default_thresholds_are_evidentlys(name: str, threshold: float) -> None:
    assert TESTS[name].default_threshold == threshold
