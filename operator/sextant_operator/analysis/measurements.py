"""What one measurement asks Prometheus, as numbers. No verdicts here.

Every measurement is computed from how much the runtime's counters grew between the ends
of an interval, read with one range query of the raw series (no `rate()`): the value at
each end is the last scrape at or before it. So an interval needs only one scrape inside
it to be measured, whatever the scrape interval, and a burst of traffic never depends on
two scrapes falling into one `rate()` window (with 1 s scrapes and a 2 s window on a
loaded machine, `rate()` often sees one and answers nothing, or 0 errors for a series
that just appeared). Per series:

- a series absent at the interval's start but present at its end is new (a new pod, or
  the first 500 of a pod) and counts from 0, so the first errors are never lost;
- a series that went down was reset (a restarted pod) and counts from 0;
- per-series increases are then summed by a label (`code`, `le`), over all pods, or
  per pod (the series' other labels) for the samples that compareToStable ranks.

An interval without any request is NaN (or no counts), never 0: "no traffic" can never
be mistaken for "no errors". Intervals should be at least twice the scrape interval so
that each holds a scrape; a shorter one reads no growth and is dropped as no data.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from sextant_operator.analysis.prometheus import Prometheus, Scope

REQUESTS = "sextant_inference_requests_total"
DURATION_BUCKETS = "sextant_inference_request_duration_seconds_bucket"
PREDICTION_BUCKETS = "sextant_inference_prediction_bucket"

Growth = dict[str, float]  # label value -> increase over one interval


def increases(
    prometheus: Prometheus, query: str, at: datetime, lookback: float, step: float, *, by: str
) -> list[Growth]:
    """How much the counters of `query` grew in each of the `lookback / step` intervals that
    end at `at` (oldest first), summed by label `by`."""
    totals: list[Growth] = []
    for by_series in series_increases(prometheus, query, at, lookback, step, by=by):
        total: Growth = defaultdict(float)
        for growth in by_series.values():
            for key, grown in growth.items():
                total[key] += grown
        totals.append(dict(total))
    return totals


def series_increases(
    prometheus: Prometheus, query: str, at: datetime, lookback: float, step: float, *, by: str
) -> list[dict[str, Growth]]:
    """As `increases`, kept apart per source: the series' labels other than `by` name one
    pod (one runtime process), so each interval holds one Growth per pod that reported."""
    n = max(1, round(lookback / step))
    start = at - timedelta(seconds=n * step)
    grown: list[dict[str, Growth]] = [{} for _ in range(n)]
    for series in prometheus.range(query, start, at, step):
        at_point = {
            round((t - start.timestamp()) / step): v
            for t, v in zip(series.times, series.values, strict=True)
            if math.isfinite(v)
        }
        key = series.labels.get(by, "")
        source = _source(series.labels, by)
        for k in range(n):
            end = at_point.get(k + 1)
            if end is None:
                continue
            begin = at_point.get(k)
            growth = grown[k].setdefault(source, defaultdict(float))
            growth[key] += end if begin is None or end < begin else end - begin
    return [{source: dict(g) for source, g in interval.items()} for interval in grown]


def _source(labels: Mapping[str, str], by: str) -> str:
    """One pod's identity: its labels, less the one that splits its series (`code`, `le`)."""
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in (by, "__name__"))


def error_rates(
    prometheus: Prometheus, scope: Scope, at: datetime, lookback: float, step: float
) -> list[float]:
    """Share of requests answered 5xx in each interval; NaN for one without requests."""
    query = f"{REQUESTS}{{{scope.selector()}}}"
    return [
        _error_share(by_code)
        for by_code in increases(prometheus, query, at, lookback, step, by="code")
    ]


def latency_p99s(
    prometheus: Prometheus, scope: Scope, at: datetime, lookback: float, step: float
) -> list[float]:
    """99th percentile request duration in milliseconds in each interval; NaN without requests."""
    query = f"{DURATION_BUCKETS}{{{scope.selector()}}}"
    return [_p99_ms(by_le) for by_le in increases(prometheus, query, at, lookback, step, by="le")]


def pod_error_rates(
    prometheus: Prometheus, scope: Scope, at: datetime, lookback: float, step: float
) -> list[float]:
    """One sample per pod and interval: that pod's share of 5xx answers. A pod without
    requests in an interval gives no sample (never a 0)."""
    query = f"{REQUESTS}{{{scope.selector()}}}"
    per_interval = series_increases(prometheus, query, at, lookback, step, by="code")
    samples = [_error_share(g) for interval in per_interval for g in interval.values()]
    return [x for x in samples if math.isfinite(x)]


def pod_latency_p99s(
    prometheus: Prometheus, scope: Scope, at: datetime, lookback: float, step: float
) -> list[float]:
    """One sample per pod and interval: that pod's p99 in milliseconds; none without requests."""
    query = f"{DURATION_BUCKETS}{{{scope.selector()}}}"
    per_interval = series_increases(prometheus, query, at, lookback, step, by="le")
    samples = [_p99_ms(g) for interval in per_interval for g in interval.values()]
    return [x for x in samples if math.isfinite(x)]


def _error_share(by_code: Growth) -> float:
    total = sum(by_code.values())
    errors = sum(v for code, v in by_code.items() if code.startswith("5"))
    return errors / total if total > 0 else math.nan


def _p99_ms(by_le: Growth) -> float:
    return quantile(0.99, buckets(by_le)) * 1000


def error_rate(prometheus: Prometheus, scope: Scope, at: datetime, window: float) -> float:
    return error_rates(prometheus, scope, at, window, window)[-1]


def latency_p99(prometheus: Prometheus, scope: Scope, at: datetime, window: float) -> float:
    return latency_p99s(prometheus, scope, at, window, window)[-1]


def prediction_histogram(
    prometheus: Prometheus, scope: Scope, window: float, at: datetime
) -> dict[float, float]:
    """Cumulative prediction counts by upper bound (`le`) over the window."""
    query = f"{PREDICTION_BUCKETS}{{{scope.selector()}}}"
    return buckets(increases(prometheus, query, at, window, window, by="le")[-1])


def buckets(by_le: Growth) -> dict[float, float]:
    """`le` label values as numbers (+Inf included); unparsable ones dropped."""
    found: dict[float, float] = {}
    for le, count in by_le.items():
        try:
            found[float(le)] = count  # float("+Inf") is inf
        except ValueError:
            continue
    return found


def quantile(q: float, cumulative: Mapping[float, float]) -> float:
    """Prometheus's histogram_quantile on cumulative bucket counts; NaN without counts."""
    bounds = sorted(cumulative)
    if not bounds or bounds[-1] != math.inf:
        return math.nan
    counts, highest = [], 0.0
    for le in bounds:  # cumulative counts never go down, whatever resets did
        highest = max(highest, cumulative[le])
        counts.append(highest)
    total = counts[-1]
    if total <= 0:
        return math.nan
    rank = q * total
    i = next(i for i, c in enumerate(counts) if c >= rank)
    if bounds[i] == math.inf:
        return bounds[-2] if len(bounds) > 1 else math.nan
    if i == 0 and bounds[0] <= 0:
        return bounds[0]
    lower = bounds[i - 1] if i > 0 else 0.0
    below = counts[i - 1] if i > 0 else 0.0
    inside = counts[i] - below
    if inside <= 0:
        return bounds[i]
    return lower + (bounds[i] - lower) * (rank - below) / inside


def value(prometheus: Prometheus, query: str, at: datetime) -> float:
    """The largest finite value of an instant query; NaN when it returns nothing finite."""
    finite = [v for s in prometheus.instant(query, at) for v in s.values if math.isfinite(v)]
    return max(finite) if finite else math.nan
