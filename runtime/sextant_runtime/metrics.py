"""The runtime's Prometheus metrics (names and labels fixed by API.md).

One process serves one model, so `model`, `version` and `track` are constant and every
series is a plain number or list here: recording is a list index and an add, and batch
metrics are recorded with numpy once per batch. Each metric is written by one thread
only (request metrics by the event loop, batch metrics by the inference thread), and
`/metrics` renders the text exposition format from a snapshot.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

from sextant_runtime.batcher import BatchObserver, Outputs, Pending
from sextant_runtime.optimize import Quantization

LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
)  # fmt: skip
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
# Model outputs are often probabilities or scores: fine steps in [0, 1], coarse outside.
PREDICTION_BUCKETS = (
    -10.0, -5.0, -2.0, -1.0, -0.5, 0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5,
    0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 2.0, 5.0, 10.0, 100.0,
)  # fmt: skip


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value))


class Histogram:
    """Cumulative-on-render histogram with fixed buckets."""

    __slots__ = ("_np_bounds", "bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(float(b) for b in bounds)
        if list(self.bounds) != sorted(set(self.bounds)):
            raise ValueError("histogram buckets must be strictly increasing")
        self._np_bounds = np.asarray(self.bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def observe_many(self, values: np.ndarray) -> None:
        """Record many values at once, with a few vector operations (NaN and inf dropped)."""
        total = float(values.sum())
        if not np.isfinite(total):
            values = values[np.isfinite(values)]
            total = float(values.sum())
        if not values.size:
            return
        per_bucket = np.bincount(
            np.searchsorted(self._np_bounds, values, side="left"), minlength=len(self.counts)
        ).tolist()
        self.counts = [a + b for a, b in zip(self.counts, per_bucket, strict=True)]
        self.sum += total
        self.count += int(values.size)

    def render(self, name: str, labels: str, lines: list[str]) -> None:
        counts = list(self.counts)
        total = 0
        for bound, n in zip((*self.bounds, float("inf")), counts, strict=True):
            total += n
            lines.append(f'{name}_bucket{{{labels},le="{_number(bound)}"}} {total}')
        lines.append(f"{name}_sum{{{labels}}} {_number(self.sum)}")
        lines.append(f"{name}_count{{{labels}}} {total}")


_HELP = {
    "sextant_inference_requests_total": ("counter", "Inference requests by HTTP status code."),
    "sextant_inference_request_duration_seconds": (
        "histogram",
        "Whole inference request time, from the body received to the response.",
    ),
    "sextant_inference_queue_duration_seconds": (
        "histogram",
        "Time a request waited in the batcher's queue before its batch started.",
    ),
    "sextant_inference_batch_size": ("histogram", "Rows per batch run by the backend."),
    "sextant_inference_inflight_requests": ("gauge", "Inference requests being handled now."),
    "sextant_inference_prediction": (
        "histogram",
        "First element of each row of the model's first output (for prediction drift).",
    ),
}


class Metrics(BatchObserver):
    def __init__(
        self,
        model: str,
        version: str,
        track: str,
        prediction_buckets: Sequence[float] = PREDICTION_BUCKETS,
    ) -> None:
        self.labels = (
            f'model="{_escape(model)}",version="{_escape(version)}",track="{_escape(track)}"'
        )
        self.requests: dict[int, int] = {}
        self.request_duration = Histogram(LATENCY_BUCKETS)
        self.queue_duration = Histogram(LATENCY_BUCKETS)
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.prediction = Histogram(prediction_buckets)
        self.inflight = 0
        self.quantization: Quantization | None = None  # set when int8 was asked for

    # event loop
    def request_done(self, code: int, seconds: float) -> None:
        requests = self.requests
        requests[code] = requests.get(code, 0) + 1
        self.request_duration.observe(seconds)

    # inference thread
    def batch_done(
        self, batch: list[Pending], started: float, inputs: Outputs, outputs: Outputs | None
    ) -> None:
        queue = self.queue_duration
        rows = 0
        for pending in batch:
            queue.observe(started - pending.enqueued)
            rows += pending.request.rows
        self.batch_size.observe(rows)
        if outputs:
            first = next(iter(outputs.values()))
            if first.dtype.kind in "biuf" and first.ndim and first.shape[0]:
                self.prediction.observe_many(
                    first.reshape(first.shape[0], -1)[:, 0].astype(np.float64)
                )

    def render(self) -> bytes:
        labels = self.labels
        lines: list[str] = []
        for name, (kind, text) in _HELP.items():
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            if name == "sextant_inference_requests_total":
                for code, n in sorted(dict(self.requests).items()):
                    lines.append(f'{name}{{{labels},code="{code}"}} {n}')
            elif name == "sextant_inference_inflight_requests":
                lines.append(f"{name}{{{labels}}} {self.inflight}")
            else:
                self._histogram(name).render(name, labels, lines)
        if self.quantization is not None:
            self._render_quantization(self.quantization, lines)
        lines.append("")
        return "\n".join(lines).encode()

    def _render_quantization(self, quantization: Quantization, lines: list[str]) -> None:
        name = "sextant_model_quantization_accepted"
        lines.append(
            f"# HELP {name} 1 when the int8 model is served, 0 when the float model is "
            "(spec.runtime.optimize.quantize); reason says why."
        )
        lines.append(f"# TYPE {name} gauge")
        reason = _escape(quantization.reason)
        lines.append(f'{name}{{{self.labels},reason="{reason}"}} {int(quantization.accepted)}')

    def _histogram(self, name: str) -> Histogram:
        return {
            "sextant_inference_request_duration_seconds": self.request_duration,
            "sextant_inference_queue_duration_seconds": self.queue_duration,
            "sextant_inference_batch_size": self.batch_size,
            "sextant_inference_prediction": self.prediction,
        }[name]
