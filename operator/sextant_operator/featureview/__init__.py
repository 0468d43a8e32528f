"""FeatureView reconcile and the feature-freshness promotion gate.

render (the CronJob and the initial Job, pure), online (what Redis says: run summaries,
entity count), jobs (the latest run's outcome), status (conditions, pure), reconcile
(observe -> status -> apply -> one write), handlers (kopf wiring), schedule and
freshness (is a FeatureView fresh enough to promote a model on, pure).
"""

from __future__ import annotations

from sextant_operator.featureview.freshness import stale_reason
from sextant_operator.featureview.handlers import register

__all__ = ["register", "stale_reason"]
