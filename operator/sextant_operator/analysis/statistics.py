"""Canary against stable: a Kayenta-style Mann-Whitney U test, and PSI of outputs. Pure.

Mann-Whitney (Kayenta's MannWhitneyClassifier, one-sided here): the canary is worse only
when its samples are stochastically larger than stable's at significance `alpha` AND the
effect is larger than a tolerance, so that a statistically certain but trivial difference
(1 ms on 200 ms, with thousands of samples) passes. Fewer than `min_samples` finite
samples on either side is Inconclusive, never a pass.

PSI = sum((c - s) * ln(c / s)) over the histogram bins, with c and s the canary's and
stable's share of predictions in each bin. Zero bins, as Evidently handles them: a bin
empty on both sides carries no information and is dropped; a share of 0 on one side only
is replaced by ZERO_SHARE (1e-4) so the logarithm stays finite and a bin that only one
version fills still adds a large term.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy.stats import mannwhitneyu

ALPHA = 0.01  # one-sided; Kayenta's 98% two-sided interval leaves 1% on each side
ZERO_SHARE = 1e-4

Outcome = Literal["Pass", "Worse", "Inconclusive"]
Effect = Literal["ratio", "difference"]


@dataclass(frozen=True)
class Comparison:
    outcome: Outcome
    p_value: float | None
    effect: float | None  # canary/stable median ratio, or canary-stable mean difference
    canary_n: int
    stable_n: int
    reason: str


def compare(
    canary: Sequence[float],
    stable: Sequence[float],
    *,
    min_samples: int,
    effect: Effect,
    tolerance: float,
    alpha: float = ALPHA,
) -> Comparison:
    """Whether the canary's samples are significantly and materially larger than stable's.

    effect "ratio": median(canary) / median(stable) must exceed `tolerance` (such as 1.2)
    to count; "difference": mean(canary) - mean(stable) must exceed `tolerance`.
    """
    c = [x for x in canary if math.isfinite(x)]
    s = [x for x in stable if math.isfinite(x)]
    if len(c) < min_samples or len(s) < min_samples:
        return Comparison(
            "Inconclusive", None, None, len(c), len(s),
            f"too few samples: canary {len(c)}, stable {len(s)}, need {min_samples} each",
        )  # fmt: skip
    size = _effect(c, s, effect)
    if len(set(c) | set(s)) == 1:  # every sample equal: nothing to rank
        return Comparison("Pass", 1.0, size, len(c), len(s), "canary and stable identical")
    p_value = float(mannwhitneyu(c, s, alternative="greater").pvalue)
    material = size > tolerance
    if p_value < alpha and material:
        return Comparison(
            "Worse", p_value, size, len(c), len(s),
            f"canary worse than stable (p={p_value:.3g}, {_describe(effect, size)})",
        )  # fmt: skip
    why = "not significant" if p_value >= alpha else "within tolerance"
    return Comparison(
        "Pass", p_value, size, len(c), len(s),
        f"{why} (p={p_value:.3g}, {_describe(effect, size)})",
    )  # fmt: skip


def _effect(c: list[float], s: list[float], kind: Effect) -> float:
    if kind == "difference":
        return sum(c) / len(c) - sum(s) / len(s)
    base = _median(s)
    if base <= 0:
        return math.inf if _median(c) > 0 else 1.0
    return _median(c) / base


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _describe(kind: Effect, size: float) -> str:
    if kind == "ratio":
        return f"median ratio {size:.3g}"
    return f"mean difference {size:.3g}"


def psi(canary: Sequence[float], stable: Sequence[float]) -> float:
    """Population stability index of two histograms' bin counts (same bins, same order).

    NaN when either side has no observation at all.
    """
    if len(canary) != len(stable):
        raise ValueError("canary and stable histograms must have the same bins")
    c_total = sum(max(x, 0.0) for x in canary)
    s_total = sum(max(x, 0.0) for x in stable)
    if c_total <= 0 or s_total <= 0:
        return math.nan
    total = 0.0
    for c_count, s_count in zip(canary, stable, strict=True):
        c_share = max(c_count, 0.0) / c_total
        s_share = max(s_count, 0.0) / s_total
        if c_share == 0 and s_share == 0:
            continue
        c_share = c_share or ZERO_SHARE
        s_share = s_share or ZERO_SHARE
        total += (c_share - s_share) * math.log(c_share / s_share)
    return total


def bin_counts(cumulative: dict[float, float]) -> list[float]:
    """Per-bin counts from a Prometheus histogram's cumulative `le` buckets."""
    counts: list[float] = []
    previous = 0.0
    for le in sorted(cumulative):
        value = cumulative[le]
        counts.append(max(value - previous, 0.0))
        previous = max(value, previous)
    return counts
