"""Per-interval increases of counters, read from raw series: new series, resets, no traffic."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from sextant_operator.analysis import measurements as m
from sextant_operator.analysis.prometheus import Prometheus, Scope, Series

AT = datetime(2025, 1, 1, 0, 1, tzinfo=UTC)
STEP = 10.0
SCOPE = Scope("ml", "fraud", "8", "canary")
Serie = tuple[dict[str, str], list[float | None]]


class Recorded(Prometheus):
    """Answers range queries with series given as values at the points start..end."""

    def __init__(self, *series: Serie) -> None:
        super().__init__("http://prometheus")
        self.series = series
        self.queries: list[str] = []

    def range(self, query: str, start: datetime, end: datetime, step: float) -> list[Series]:
        self.queries.append(query)
        found = []
        for labels, values in self.series:
            points = [(start.timestamp() + k * step, v) for k, v in enumerate(values)]
            present = [(t, v) for t, v in points if v is not None]
            found.append(Series(labels, tuple(v for _, v in present), tuple(t for t, _ in present)))
        return found


def test_increases_count_new_series_from_zero_and_survive_resets() -> None:
    prometheus = Recorded(
        ({"code": "200"}, [100, 150, 10, 60]),  # reset between the 2nd and 3rd point
        ({"code": "500"}, [None, 3, 5, 5]),  # the first 500s appear in the first interval
    )
    grown = m.increases(prometheus, "q", AT, 3 * STEP, STEP, by="code")
    assert grown == [{"200": 50, "500": 3}, {"200": 10, "500": 2}, {"200": 50, "500": 0}]


def test_error_rates_per_interval_are_nan_without_requests_never_zero() -> None:
    prometheus = Recorded(
        ({"code": "200"}, [0, 90, 90, 180]),
        ({"code": "500"}, [0, 10, 10, 10]),
    )
    rates = m.error_rates(prometheus, SCOPE, AT, 3 * STEP, STEP)
    assert rates[0] == pytest.approx(0.1)
    assert math.isnan(rates[1])
    assert rates[2] == 0
    assert prometheus.queries == [
        'sextant_inference_requests_total{namespace="ml",model="fraud",version="8",track="canary"}'
    ]


def test_quantile_matches_prometheus_histogram_quantile() -> None:
    # 100 observations: 50 up to 0.1 s, 40 in (0.1, 0.5], 10 in (0.5, 1].
    cumulative = {0.1: 50, 0.5: 90, 1.0: 100, math.inf: 100}
    assert m.quantile(0.5, cumulative) == pytest.approx(0.1)
    assert m.quantile(0.99, cumulative) == pytest.approx(0.5 + 0.5 * 9 / 10)
    assert m.quantile(0.99, {0.1: 0, 1.0: 50, math.inf: 100}) == 1.0  # in +Inf: highest bound
    assert math.isnan(m.quantile(0.99, {0.1: 0, math.inf: 0}))


def test_latency_p99s_come_from_bucket_increases_in_milliseconds() -> None:
    prometheus = Recorded(
        ({"le": "0.1"}, [0, 50, 50]),
        ({"le": "0.5"}, [0, 90, 90]),
        ({"le": "1.0"}, [0, 100, 100]),
        ({"le": "+Inf"}, [0, 100, 100]),
    )
    first, idle = m.latency_p99s(prometheus, SCOPE, AT, 2 * STEP, STEP)
    assert first == pytest.approx(950)
    assert math.isnan(idle)


def test_series_increases_keep_each_pod_apart() -> None:
    prometheus = Recorded(
        ({"pod": "a", "code": "200"}, [0, 10, 30]),
        ({"pod": "a", "code": "500"}, [None, 1, 1]),
        ({"pod": "b", "code": "200"}, [5, 5, 25]),  # idle in the first interval
        ({"pod": "c", "code": "200"}, [None, None, 4]),  # born in the second
    )
    grown = m.series_increases(prometheus, "q", AT, 2 * STEP, STEP, by="code")
    assert grown == [
        {"pod=a": {"200": 10, "500": 1}, "pod=b": {"200": 0}},
        {"pod=a": {"200": 20, "500": 0}, "pod=b": {"200": 20}, "pod=c": {"200": 4}},
    ]
    assert m.increases(prometheus, "q", AT, 2 * STEP, STEP, by="code") == [
        {"200": 10, "500": 1},
        {"200": 44, "500": 0},
    ]


def test_pod_error_rates_are_one_sample_per_pod_and_interval_none_without_requests() -> None:
    prometheus = Recorded(
        ({"pod": "a", "code": "200"}, [0, 9, 27]),
        ({"pod": "a", "code": "500"}, [0, 1, 3]),
        ({"pod": "b", "code": "200"}, [5, 5, 25]),  # no requests in the first interval
    )
    rates = m.pod_error_rates(prometheus, SCOPE, AT, 2 * STEP, STEP)
    assert sorted(rates) == pytest.approx([0.0, 0.1, 0.1])


def test_pod_latency_p99s_come_from_each_pods_buckets() -> None:
    def pod(name: str, *points: tuple[str, list[float | None]]) -> list[Serie]:
        return [({"pod": name, "le": le}, values) for le, values in points]

    fast = pod("a", ("0.1", [0, 100]), ("+Inf", [0, 100]))
    slow = pod("b", ("0.1", [0, 0]), ("+Inf", [0, 100]))
    idle = pod("c", ("0.1", [7, 7]), ("+Inf", [7, 7]))
    p99s = m.pod_latency_p99s(Recorded(*fast, *slow, *idle), SCOPE, AT, STEP, STEP)
    assert sorted(p99s) == pytest.approx([99.0, 100.0])  # +Inf: the highest finite bound
