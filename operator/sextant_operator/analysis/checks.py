"""The checks a measurement runs, behind a small protocol and registry.

A check measures one thing for the new version and says Successful, Failed or
Inconclusive (Error when it could not ask). Built-in checks come from
spec.rollout.analysis; other gates (fresh features, drift) `register` a factory that
returns their checks for a ModelDeployment's analysis, and the judge treats them alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sextant_operator.analysis import measurements as m
from sextant_operator.analysis import statistics
from sextant_operator.analysis.prometheus import Prometheus, Scope
from sextant_operator.api.modeldeployment import Analysis, AnalysisPhase, MetricCheck
from sextant_operator.rollout.duration import seconds

# compareToStable tolerances: smaller differences pass however significant they are.
LATENCY_RATIO_TOLERANCE = 1.2  # canary median p99 up to 20% above stable's
ERROR_RATE_TOLERANCE = 0.002  # canary mean error rate up to 0.2 percentage points above
PSI_MIN_PREDICTIONS = 50  # predictions each side needs before PSI means anything


@dataclass(frozen=True)
class Context:
    """What a check may look at: Prometheus, the two versions, the spec, the time."""

    prometheus: Prometheus
    canary: Scope
    stable: Scope | None  # None: nothing to compare with
    analysis: Analysis
    now: datetime

    @property
    def window(self) -> float:
        return seconds(self.analysis.interval)

    @property
    def sample_step(self) -> float:
        return seconds(self.analysis.sample_interval)

    @property
    def lookback(self) -> float:
        return max(self.window, self.analysis.min_samples * self.sample_step)


@dataclass(frozen=True)
class Measurement:
    metric: str
    phase: AnalysisPhase
    value: float | None = None
    message: str = ""

    @property
    def passed(self) -> bool:
        return self.phase == "Successful"


class Check(Protocol):
    @property
    def name(self) -> str: ...

    def measure(self, ctx: Context) -> Measurement:
        """Raise PrometheusError when Prometheus cannot answer; the judge records Error."""
        ...


CheckFactory = Callable[[Analysis], Iterable[Check]]
_FACTORIES: list[CheckFactory] = []


def register(factory: CheckFactory) -> CheckFactory:
    """Add a source of checks (usable as a decorator); every analysis runs them."""
    _FACTORIES.append(factory)
    return factory


def checks_for(analysis: Analysis) -> list[Check]:
    return [check for factory in _FACTORIES for check in factory(analysis)]


def threshold(metric: str, value: float, limit: float, unit: str = "") -> Measurement:
    """Inconclusive on NaN (no data); Failed above the limit."""
    if not math.isfinite(value):
        return Measurement(metric, "Inconclusive", None, "no data: the new version got no traffic")
    if value > limit:
        return Measurement(metric, "Failed", value, f"{value:.4g}{unit} above {limit:g}{unit}")
    return Measurement(metric, "Successful", value, f"{value:.4g}{unit} within {limit:g}{unit}")


@dataclass(frozen=True)
class ErrorRate:
    limit: float
    name: str = "error-rate"

    def measure(self, ctx: Context) -> Measurement:
        rate = m.error_rate(ctx.prometheus, ctx.canary, ctx.now, ctx.window)
        return threshold(self.name, rate, self.limit)


@dataclass(frozen=True)
class LatencyP99:
    limit_ms: float
    name: str = "latency-p99"

    def measure(self, ctx: Context) -> Measurement:
        p99 = m.latency_p99(ctx.prometheus, ctx.canary, ctx.now, ctx.window)
        return threshold(self.name, p99, self.limit_ms, "ms")


@dataclass(frozen=True)
class CustomMetric:
    check: MetricCheck

    @property
    def name(self) -> str:
        return self.check.name

    def measure(self, ctx: Context) -> Measurement:
        found = m.value(ctx.prometheus, ctx.canary.substitute(self.check.query), ctx.now)
        result = threshold(self.name, found, self.check.max)
        if result.phase == "Inconclusive":
            return Measurement(self.name, "Inconclusive", None, "no data: the query returned "
                               "no series or NaN")  # fmt: skip
        return result


@dataclass(frozen=True)
class CompareToStable:
    """Mann-Whitney U of canary against stable samples from the same window.

    One sample per pod and sample interval (not one per interval over all pods): a canary
    only a few intervals old, or a stable of many pods, still has samples enough to rank.
    `minSamples` counts these samples on each side.
    """

    name: str
    samples: Callable[[Prometheus, Scope, datetime, float, float], list[float]]
    effect: statistics.Effect
    tolerance: float

    def measure(self, ctx: Context) -> Measurement:
        if ctx.stable is None:
            return Measurement(self.name, "Inconclusive", None, "no stable version to compare")
        step, lookback = ctx.sample_step, ctx.lookback
        canary = self.samples(ctx.prometheus, ctx.canary, ctx.now, lookback, step)
        stable = self.samples(ctx.prometheus, ctx.stable, ctx.now, lookback, step)
        result = statistics.compare(
            canary,
            stable,
            min_samples=ctx.analysis.min_samples,
            effect=self.effect,
            tolerance=self.tolerance,
        )
        phase: AnalysisPhase = {
            "Pass": "Successful",
            "Worse": "Failed",
            "Inconclusive": "Inconclusive",
        }[result.outcome]  # type: ignore[assignment]
        value = (
            result.effect if result.effect is not None and math.isfinite(result.effect) else None
        )
        return Measurement(self.name, phase, value, result.reason)


@dataclass(frozen=True)
class PredictionPsi:
    limit: float
    name: str = "prediction-psi"

    def measure(self, ctx: Context) -> Measurement:
        if ctx.stable is None:
            return Measurement(self.name, "Inconclusive", None, "no stable version to compare")
        canary = m.prediction_histogram(ctx.prometheus, ctx.canary, ctx.lookback, ctx.now)
        stable = m.prediction_histogram(ctx.prometheus, ctx.stable, ctx.lookback, ctx.now)
        bounds = sorted(set(canary) & set(stable))
        c = statistics.bin_counts({le: canary[le] for le in bounds})
        s = statistics.bin_counts({le: stable[le] for le in bounds})
        if sum(c) < PSI_MIN_PREDICTIONS or sum(s) < PSI_MIN_PREDICTIONS:
            return Measurement(
                self.name, "Inconclusive", None,
                f"too few predictions: canary {sum(c):.0f}, stable {sum(s):.0f}, "
                f"need {PSI_MIN_PREDICTIONS} each",
            )  # fmt: skip
        return threshold(self.name, statistics.psi(c, s), self.limit)


@register
def builtin_checks(analysis: Analysis) -> Iterable[Check]:
    if analysis.max_error_rate is not None:
        yield ErrorRate(analysis.max_error_rate)
    if analysis.max_latency_p99_ms is not None:
        yield LatencyP99(analysis.max_latency_p99_ms)
    if analysis.compare_to_stable:
        yield CompareToStable(
            "error-rate-vs-stable", m.pod_error_rates, "difference", ERROR_RATE_TOLERANCE
        )
        yield CompareToStable(
            "latency-p99-vs-stable", m.pod_latency_p99s, "ratio", LATENCY_RATIO_TOLERANCE
        )
    if analysis.max_prediction_psi is not None:
        yield PredictionPsi(analysis.max_prediction_psi)
    for metric in analysis.metrics:
        yield CustomMetric(metric)
