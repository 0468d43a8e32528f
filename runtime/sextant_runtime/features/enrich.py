"""Online enrichment on the request path: decode -> enrich -> batch.

Each decoded request's entity keys are read from Redis (coalesced with the other
requests in flight into one pipeline, see `lookup`), turned into the model's feature
inputs (see `plan`) and only then queued for the batcher. Enriching before batching
keeps Redis off the inference thread (the model runs while the next requests' features
are read) and lets one request's missing entity or failed read answer that request
alone (404 or 503), never its batch-mates. Missing entities are counted; a Redis outage
answers 503 and is counted; the server keeps serving.

Metrics (labels model, version, track, feature_view):
    sextant_feature_lookup_duration_seconds  histogram: time a request spent being enriched
    sextant_feature_missing_entities_total   counter: rows whose entity had no online value
    sextant_feature_lookup_errors_total      counter: requests answered 503, Redis unreachable
"""

from __future__ import annotations

import time

from sextant_runtime.errors import InferenceError
from sextant_runtime.features.lookup import RedisLookup
from sextant_runtime.features.online import OnlineFeatures
from sextant_runtime.features.plan import EnrichmentPlan
from sextant_runtime.metrics import Histogram
from sextant_runtime.model import Signature
from sextant_runtime.protocol import InferRequest

# Enrichment is a Redis round trip: buckets finer than the request histogram's.
LOOKUP_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0,
)  # fmt: skip


class Enricher:
    def __init__(
        self, online: OnlineFeatures, model: Signature, *, password: str | None = None
    ) -> None:
        self.online = online
        self.plan = EnrichmentPlan(online, model)
        self.lookup = RedisLookup(
            online.redis_url,
            self.plan.fields,
            password=password,
            what=f"FeatureView {online.label}",
        )
        self.duration = Histogram(LOOKUP_BUCKETS)
        self.missing = 0
        self.errors = 0

    @property
    def request_signature(self) -> Signature:
        """What clients send: the entity input instead of the looked-up features."""
        return self.plan.request_signature

    async def enrich(self, request: InferRequest) -> None:
        """Replace the request's inputs with the model's, features filled in.

        Raises EntityNotFound (404, onMissing reject), FeatureStoreUnavailable (503) or
        BadRequest (400)."""
        started = time.perf_counter()
        plan = self.plan
        try:
            keys = plan.keys(request.inputs)
            try:
                rows = await self.lookup.fetch(keys)
            except InferenceError as err:
                if err.status == 503:
                    self.errors += 1
                raise
            request.inputs, missing = plan.tensors(request.inputs, rows)
        finally:
            self.duration.observe(time.perf_counter() - started)
        self.missing += missing

    def render(self, labels: str) -> list[str]:
        """Prometheus text lines; `labels` is the runtime's `model=...,version=...,track=...`."""
        labels = f'{labels},feature_view="{self.online.label}"'
        lines = [
            "# HELP sextant_feature_lookup_duration_seconds Time a request spent being "
            "enriched with online features (Redis round trip included).",
            "# TYPE sextant_feature_lookup_duration_seconds histogram",
        ]
        self.duration.render("sextant_feature_lookup_duration_seconds", labels, lines)
        lines += [
            "# HELP sextant_feature_missing_entities_total Request rows whose entity had no "
            "online value (never materialized or expired).",
            "# TYPE sextant_feature_missing_entities_total counter",
            f"sextant_feature_missing_entities_total{{{labels}}} {self.missing}",
            "# HELP sextant_feature_lookup_errors_total Requests answered 503 because the "
            "online store could not be read.",
            "# TYPE sextant_feature_lookup_errors_total counter",
            f"sextant_feature_lookup_errors_total{{{labels}}} {self.errors}",
        ]
        return lines

    def close(self) -> None:
        self.lookup.close()
