"""What one measurement asks Prometheus, as numbers. No verdicts here.

Every function returns NaN (or empty samples) when Prometheus has no data, so that "no
traffic" can never be mistaken for "no errors". Windows are in seconds; `rate()` needs two
scrapes inside one, so a window should be at least twice the scrape interval.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sextant_operator.analysis.prometheus import Prometheus, Scope, Series, promql_duration

REQUESTS = "sextant_inference_requests_total"
DURATION_BUCKETS = "sextant_inference_request_duration_seconds_bucket"
PREDICTION_BUCKETS = "sextant_inference_prediction_bucket"


def error_rate_query(scope: Scope, window: float) -> str:
    """Share of requests answered 5xx; NaN without requests (0/0), never 0."""
    w = promql_duration(window)
    failed = scope.selector('code=~"5.."')
    errors = f"sum(rate({REQUESTS}{{{failed}}}[{w}]))"
    total = f"sum(rate({REQUESTS}{{{scope.selector()}}}[{w}]))"
    # No 5xx series at all is zero errors, but only where there were requests at all.
    return f"({errors} or {total} * 0) / {total}"


def latency_p99_query(scope: Scope, window: float) -> str:
    """99th percentile request duration in milliseconds; NaN without requests."""
    w = promql_duration(window)
    buckets = f"sum by (le) (rate({DURATION_BUCKETS}{{{scope.selector()}}}[{w}]))"
    return f"histogram_quantile(0.99, {buckets}) * 1000"


def prediction_query(scope: Scope, window: float) -> str:
    w = promql_duration(window)
    return f"sum by (le) (increase({PREDICTION_BUCKETS}{{{scope.selector()}}}[{w}]))"


def value(prometheus: Prometheus, query: str, at: datetime) -> float:
    """The largest finite value of an instant query; NaN when it returns nothing finite."""
    return largest(prometheus.instant(query, at))


def largest(series: list[Series]) -> float:
    finite = [v for s in series for v in s.values if math.isfinite(v)]
    return max(finite) if finite else math.nan


def samples(
    prometheus: Prometheus, query: str, at: datetime, lookback: float, step: float
) -> list[float]:
    """Per-interval samples: `query` every `step` seconds over the last `lookback` seconds."""
    start = at - timedelta(seconds=lookback - step)
    found = prometheus.range(query, start, at, step)
    return [v for s in found for v in s.values if math.isfinite(v)]


def prediction_histogram(
    prometheus: Prometheus, scope: Scope, window: float, at: datetime
) -> dict[float, float]:
    """Cumulative prediction counts by upper bound (`le`) over the window."""
    histogram: dict[float, float] = {}
    for series in prometheus.instant(prediction_query(scope, window), at):
        le = series.labels.get("le")
        count = series.values[0] if series.values else math.nan
        if le is None or not math.isfinite(count):
            continue
        histogram[math.inf if le == "+Inf" else float(le)] = count
    return histogram
