"""Metrics render as valid Prometheus text with the names and labels API.md fixes."""

from __future__ import annotations

import time

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from sextant_runtime.batcher import Pending
from sextant_runtime.metrics import Histogram, Metrics
from sextant_runtime.protocol import InferRequest


def families(metrics: Metrics) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    out: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        out[family.name] = [(s.name, s.labels, s.value) for s in family.samples]
    return out


def test_every_contract_metric_is_exposed_with_model_version_and_track_labels() -> None:
    metrics = Metrics("fraud", "7", "canary")
    metrics.request_done(200, 0.003)
    metrics.request_done(200, 0.004)
    metrics.request_done(400, 0.0001)
    metrics.inflight = 2
    pending = [Pending(InferRequest({}, 2, None), None, None) for _ in range(3)]  # type: ignore[arg-type]
    metrics.batch_done(pending, time.monotonic(), {}, {"y": np.array([[0.1, 9.0], [0.7, 9.0]] * 3)})

    got = families(metrics)
    labels = {"model": "fraud", "version": "7", "track": "canary"}
    assert set(got) == {
        "sextant_inference_requests",
        "sextant_inference_request_duration_seconds",
        "sextant_inference_queue_duration_seconds",
        "sextant_inference_batch_size",
        "sextant_inference_inflight_requests",
        "sextant_inference_prediction",
    }
    requests = {
        s[1]["code"]: s[2] for s in got["sextant_inference_requests"] if s[0].endswith("_total")
    }
    assert requests == {"200": 2.0, "400": 1.0}
    for samples in got.values():
        for _, sample_labels, _ in samples:
            assert {k: sample_labels[k] for k in labels} == labels
    assert ("sextant_inference_inflight_requests", labels, 2.0) in got[
        "sextant_inference_inflight_requests"
    ]
    batch = {s[0]: s[2] for s in got["sextant_inference_batch_size"] if "le" not in s[1]}
    assert batch == {
        "sextant_inference_batch_size_count": 1.0,
        "sextant_inference_batch_size_sum": 6.0,
    }
    prediction = {
        s[1].get("le"): s[2]
        for s in got["sextant_inference_prediction"]
        if s[0].endswith("_bucket")
    }
    # first element of each of the 6 rows: 0.1, 0.7, 0.1, 0.7, 0.1, 0.7
    assert prediction["0.1"] == 3.0
    assert prediction["0.7"] == 6.0
    assert prediction["+Inf"] == 6.0


def test_histogram_buckets_are_cumulative_and_observe_many_matches_observe() -> None:
    one, many = Histogram((1, 2, 5)), Histogram((1, 2, 5))
    values = [0.5, 1.0, 1.5, 2.0, 4.0, 7.0, float("nan")]
    for v in values[:-1]:
        one.observe(v)
    many.observe_many(np.array(values))
    assert one.counts == many.counts == [2, 2, 1, 1]
    assert one.sum == many.sum == sum(values[:-1])
    assert many.count == 6


def test_label_values_are_escaped() -> None:
    text = Metrics('we"ird\\name', "1", "stable").render().decode()
    assert 'model="we\\"ird\\\\name"' in text
    list(text_string_to_metric_families(text))  # parses
