"""The statistical tests, each a function of a prepared Pair and a threshold.

The definitions follow Evidently's (so verdicts agree on the same data):

- ks: two-sample Kolmogorov-Smirnov (scipy), drift when p <= threshold (default 0.05);
- chisquare: Pearson's chi-square of the current counts against the reference shares
  scaled to the current size, drift when p < threshold (0.05);
- z: two-proportion z-test (pooled variance, two-sided), drift when p < threshold (0.05);
- psi: population stability index over the binned shares (empty bins filled with a tiny
  share), drift when psi >= threshold (0.1);
- wasserstein: the Wasserstein-1 distance divided by the reference standard deviation
  (at least 0.001), drift when >= threshold (0.1);
- jensenshannon: scipy's Jensen-Shannon distance (natural log) of the binned shares,
  drift when >= threshold (0.1).

Binning, as Evidently's: a numerical feature with more than 20 distinct reference values
gets Sturges' bins over both samples together; any other feature one bin per value.

Each test also returns an effect size, for the opt-in effect-size floor: the KS statistic
D, Cohen's w for chi-square, Cohen's h for the z-test, and the distance itself for psi,
wasserstein and jensenshannon.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial import distance

from sextant_runtime.drift.samples import Pair
from sextant_runtime.drift.types import Kind

DISCRETE_BINNING_MAX_UNIQUE = 20  # Evidently bins a numerical feature per value up to this


@dataclass(frozen=True)
class Outcome:
    statistic: float
    p_value: float | None  # None: a distance, compared as `statistic >= threshold`
    effect_size: float


@dataclass(frozen=True)
class StatTest:
    name: str
    kinds: tuple[Kind, ...]
    default_threshold: float
    run: Callable[[Pair], Outcome]
    p_value_inclusive: bool = False  # ks: drift when p <= threshold; others p < threshold

    def drifted(self, outcome: Outcome, threshold: float) -> bool:
        if outcome.p_value is None:
            return bool(outcome.statistic >= threshold)
        return self.p_drifted(outcome.p_value, threshold)

    def p_drifted(self, p_value: float, threshold: float) -> bool:
        if self.p_value_inclusive:
            return bool(p_value <= threshold)
        return bool(p_value < threshold)


def ks(pair: Pair) -> Outcome:
    ref, cur = pair.sorted_values()
    result = stats.ks_2samp(ref, cur)
    return Outcome(float(result.statistic), float(result.pvalue), float(result.statistic))


def chisquare(pair: Pair) -> Outcome:
    _, ref_counts, cur_counts = pair.counts
    if len(ref_counts) < 2:
        return Outcome(0.0, 1.0, 0.0)  # one category on both sides: nothing can differ
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.chisquare(cur_counts, expected)
    statistic = float(result.statistic)
    return Outcome(statistic, float(result.pvalue), math.sqrt(statistic / cur_counts.sum()))


def z(pair: Pair) -> Outcome:
    _, ref_counts, cur_counts = pair.counts
    if len(ref_counts) < 2:
        return Outcome(0.0, 1.0, 0.0)
    # As Evidently: the first category is 0, every other one 1 (two-sided, so the choice
    # of category only flips the statistic's sign).
    n1, n2 = int(ref_counts.sum()), int(cur_counts.sum())
    p1 = 1.0 - ref_counts[0] / n1
    p2 = 1.0 - cur_counts[0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    statistic = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    p_value = float(2 * stats.norm.sf(abs(statistic)))
    cohen_h = abs(2 * math.asin(math.sqrt(p1)) - 2 * math.asin(math.sqrt(p2)))
    return Outcome(float(statistic), p_value, cohen_h)


def psi(pair: Pair) -> Outcome:
    ref, cur = binned_shares(pair, fill_empty=True)
    value = float(np.sum((ref - cur) * np.log(ref / cur)))
    return Outcome(value, None, value)


def jensenshannon(pair: Pair) -> Outcome:
    ref, cur = binned_shares(pair, fill_empty=False)
    value = float(distance.jensenshannon(ref, cur))
    return Outcome(value, None, value)


def wasserstein(pair: Pair) -> Outcome:
    ref, cur = pair.sorted_values()
    norm = max(float(np.std(ref)), 0.001)
    value = wasserstein_sorted(ref, cur) / norm
    return Outcome(value, None, value)


def wasserstein_sorted(u: np.ndarray, v: np.ndarray) -> float:
    """Wasserstein-1 distance of two sorted samples, as the area between their quantile
    functions: O(n + m) after the sort, instead of scipy's argsort and searchsorted.

    The quantile steps of u sit at i/n and those of v at j/m; scaled by n*m they are the
    integers i*m and j*n, so merging them is exact. Between two consecutive steps both
    quantile functions are constant.
    """
    n, m = len(u), len(v)
    if n == m:
        return float(np.mean(np.abs(u - v)))
    steps = np.concatenate((np.arange(1, n + 1, dtype=np.int64) * m,
                            np.arange(1, m + 1, dtype=np.int64) * n))  # fmt: skip
    steps.sort(kind="stable")  # two sorted runs: a linear merge
    widths = np.diff(steps, prepend=0)
    iu = (steps + m - 1) // m - 1
    iv = (steps + n - 1) // n - 1
    return float(np.dot(widths, np.abs(u[iu] - v[iv])) / (n * m))


def binned_shares(pair: Pair, *, fill_empty: bool) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current shares per bin, binned as Evidently bins them."""
    if pair.kind is Kind.NUMERICAL and pair.reference_unique > DISCRETE_BINNING_MAX_UNIQUE:
        ref, cur = pair.sorted_values()
        edges = sturges_edges(ref, cur)
        ref_shares = histogram_sorted(ref, edges) / len(ref)
        cur_shares = histogram_sorted(cur, edges) / len(cur)
    else:
        _, ref_counts, cur_counts = pair.counts
        ref_shares = ref_counts / ref_counts.sum()
        cur_shares = cur_counts / cur_counts.sum()
    if fill_empty:
        _fill_empty(ref_shares)
        _fill_empty(cur_shares)
    return ref_shares, cur_shares


def sturges_edges(ref: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """np.histogram_bin_edges(concat(ref, cur), bins="sturges"), from the sorted ends."""
    first = float(min(ref[0], cur[0]))
    last = float(max(ref[-1], cur[-1]))
    if first == last:
        first, last = first - 0.5, last + 0.5
    width = (last - first) / (math.log2(len(ref) + len(cur)) + 1.0)
    bins = math.ceil((last - first) / width) if width else 1
    return np.linspace(first, last, bins + 1, endpoint=True)


def histogram_sorted(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """np.histogram(values, edges)[0] for sorted values: bins [a, b), the last [a, b]."""
    cumulative = np.concatenate((np.searchsorted(values, edges[:-1], "left"),
                                 np.searchsorted(values, edges[-1:], "right")))  # fmt: skip
    return np.diff(cumulative)


def _fill_empty(shares: np.ndarray) -> None:
    nonzero = shares[shares != 0]
    if len(nonzero) == 0:
        return
    smallest = float(nonzero.min())
    np.place(shares, shares == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)


NUMERICAL_AND_CATEGORICAL = (Kind.NUMERICAL, Kind.CATEGORICAL)
TESTS: dict[str, StatTest] = {
    test.name: test
    for test in (
        StatTest("ks", (Kind.NUMERICAL,), 0.05, ks, p_value_inclusive=True),
        StatTest("chisquare", NUMERICAL_AND_CATEGORICAL, 0.05, chisquare),
        StatTest("z", NUMERICAL_AND_CATEGORICAL, 0.05, z),
        StatTest("psi", NUMERICAL_AND_CATEGORICAL, 0.1, psi),
        StatTest("wasserstein", (Kind.NUMERICAL,), 0.1, wasserstein),
        StatTest("jensenshannon", NUMERICAL_AND_CATEGORICAL, 0.1, jensenshannon),
    )
}
