"""compareToStable ranks one sample per pod and interval, checked against scipy."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from scipy.stats import mannwhitneyu

from sextant_operator.analysis import measurements as m
from sextant_operator.analysis.checks import CompareToStable, Context, checks_for
from sextant_operator.analysis.prometheus import Prometheus, Scope, Series
from sextant_operator.api.modeldeployment import Analysis

AT = datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
STABLE = Scope("ml", "fraud", "7", "stable")
CANARY = Scope("ml", "fraud", "8", "canary")
# Two 10 s intervals only: per interval, 2 samples a side, short of minSamples 10.
SPEC = Analysis(interval="20s", sample_interval="10s", min_samples=10, compare_to_stable=True)
PODS = 5
REQUESTS = 100  # per pod and interval
CANARY_ERRORS = [[3, 5], [4, 7], [6, 2], [5, 5], [8, 3]]  # per pod, per interval
STABLE_ERRORS = [[0, 1], [0, 0], [1, 0], [0, 0], [0, 1]]


def counters(errors: list[list[int]]) -> list[tuple[dict[str, str], list[float]]]:
    """Cumulative requests_total series of each pod, at the three points of two intervals."""
    series = []
    for pod, per_interval in enumerate(errors):
        failed = [0.0, per_interval[0], per_interval[0] + per_interval[1]]
        ok = [0.0, REQUESTS - per_interval[0], 2 * REQUESTS - failed[2]]
        series.append(({"pod": f"p{pod}", "code": "500"}, failed))
        series.append(({"pod": f"p{pod}", "code": "200"}, ok))
    return series


class TwoVersions(Prometheus):
    """Range queries answered from the series of the version the selector names."""

    def __init__(self) -> None:
        super().__init__("http://prometheus")
        self.by_version = {"7": counters(STABLE_ERRORS), "8": counters(CANARY_ERRORS)}

    def range(self, query: str, start: datetime, end: datetime, step: float) -> list[Series]:
        version = "8" if 'version="8"' in query else "7"
        return [
            Series(labels, tuple(values), tuple(start.timestamp() + k * step for k in range(3)))
            for labels, values in self.by_version[version]
        ]


def shares(errors: list[list[int]]) -> list[float]:
    return [e / REQUESTS for per_pod in errors for e in per_pod]


def error_check() -> CompareToStable:
    found = [c for c in checks_for(SPEC) if c.name == "error-rate-vs-stable"]
    assert len(found) == 1
    assert isinstance(found[0], CompareToStable)
    return found[0]


def test_error_rate_comparison_ranks_per_pod_samples_with_scipys_p_value() -> None:
    context = Context(TwoVersions(), CANARY, STABLE, SPEC, AT)
    result = error_check().measure(context)
    canary, stable = shares(CANARY_ERRORS), shares(STABLE_ERRORS)
    expected = mannwhitneyu(canary, stable, alternative="greater").pvalue
    assert result.phase == "Failed"
    assert f"p={expected:.3g}" in result.message
    assert result.value == pytest.approx(sum(canary) / 10 - sum(stable) / 10)


def test_per_interval_samples_alone_would_be_too_few() -> None:
    per_interval = m.error_rates(TwoVersions(), CANARY, AT, 20, 10)
    per_pod = m.pod_error_rates(TwoVersions(), CANARY, AT, 20, 10)
    assert len(per_interval) == 2
    assert sorted(per_pod) == pytest.approx(sorted(shares(CANARY_ERRORS)))


def test_below_min_samples_per_pod_is_still_inconclusive() -> None:
    spec = SPEC.model_copy(update={"min_samples": 11})  # 10 samples a side
    context = Context(TwoVersions(), CANARY, STABLE, spec, AT)
    result = error_check().measure(context)
    assert result.phase == "Inconclusive"
    assert "too few samples: canary 10, stable 10, need 11 each" in result.message
