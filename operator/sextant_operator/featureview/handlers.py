"""kopf wiring for FeatureViews. Thin: every trigger ends in FeatureViewReconciler.

- the FeatureView is created, changed or found at start-up;
- one of its Jobs changes (a run starts, completes or fails), found by label;
- a timer: Redis health, entities expiring, and retries after an outage.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import defaultdict
from typing import Any, cast

import kopf

from sextant_operator.api import GROUP, VERSION
from sextant_operator.featureview.reconcile import PLURAL, FeatureViewReconciler
from sextant_operator.featureview.render import FEATURE_VIEW_LABEL
from sextant_operator.kube import Kube, load_api_client
from sextant_operator.settings import OperatorSettings

log = logging.getLogger(__name__)

HEALTH_SECONDS = 30.0  # Redis health and the entity count: at most this old
RETRY_SECONDS = 10.0


def register(
    registry: kopf.OperatorRegistry, settings: OperatorSettings, kube: Kube | None = None
) -> None:
    kube = kube or Kube(load_api_client())
    reconciler = FeatureViewReconciler(kube, settings)
    guard = threading.Lock()
    locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)

    def run(namespace: str, name: str) -> None:
        with guard:
            lock = locks[(namespace, name)]
        with lock:
            # Read under the lock: a watch event's body may predate the last status write.
            body = kube.get(f"{GROUP}/{VERSION}", "FeatureView", namespace, name)
            if body is None or body["metadata"].get("deletionTimestamp"):
                return
            outcome = reconciler.reconcile(
                body,
                lambda type_, reason, message: kopf.event(
                    cast(kopf.Body, body), type=type_, reason=reason, message=message
                ),
            )
        if outcome.retry:
            raise kopf.TemporaryError("Redis unavailable; status says why", delay=RETRY_SECONDS)

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, registry=registry)
    def on_change(meta: kopf.Meta, **_: Any) -> None:
        run(meta["namespace"], meta["name"])

    every = min(settings.resync_seconds, HEALTH_SECONDS)

    @kopf.timer(
        GROUP, VERSION, PLURAL, interval=every, initial_delay=every, registry=registry
    )  # fmt: skip
    def on_timer(meta: kopf.Meta, **_: Any) -> None:
        with contextlib.suppress(kopf.TemporaryError):  # the next tick is the retry
            run(meta["namespace"], meta["name"])

    @kopf.on.event("batch", "v1", "jobs", labels={FEATURE_VIEW_LABEL: kopf.PRESENT},
                   registry=registry)  # fmt: skip
    def on_job(body: kopf.Body, namespace: str | None, **_: Any) -> None:
        owner = body.get("metadata", {}).get("annotations", {}).get(FEATURE_VIEW_LABEL)
        if not owner or not namespace:
            return
        with contextlib.suppress(kopf.TemporaryError):
            run(namespace, owner)
