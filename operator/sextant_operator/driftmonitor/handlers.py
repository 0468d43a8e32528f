"""kopf wiring for DriftMonitors. Thin: every trigger ends in DriftMonitorReconciler.reconcile.

- the DriftMonitor is created, changed or found at start-up (resume);
- a timer: the target may gain spec.predictionLog, a Redis outage may end;
- one of its Jobs changes (finishes): the operator reads the result and writes status.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from typing import Any, cast

import kopf
import prometheus_client

from sextant_operator import labels
from sextant_operator.api import GROUP, VERSION
from sextant_operator.driftmonitor import contract, metrics
from sextant_operator.driftmonitor.reconcile import DriftMonitorReconciler
from sextant_operator.kube import Kube, load_api_client
from sextant_operator.settings import OperatorSettings

PLURAL = "driftmonitors"
_MAX_BACKOFF_SECONDS = 300.0


def _post_event(body: dict[str, Any], type_: str, reason: str, message: str) -> None:
    kopf.event(cast(kopf.Body, body), type=type_, reason=reason, message=message)


def register(
    registry: kopf.OperatorRegistry,
    settings: OperatorSettings,
    reconciler: DriftMonitorReconciler | None = None,
) -> None:
    """DriftMonitor handlers on `registry`; the reconciler gets a client of its own."""
    reconciler = reconciler or DriftMonitorReconciler(Kube(load_api_client()), settings)
    resync_seconds = settings.resync_seconds

    @kopf.on.startup(registry=registry)
    def serve_metrics(**_: Any) -> None:
        # The operator's only metrics are the drift gauges, so the endpoint starts here.
        if settings.metrics_port:
            prometheus_client.start_http_server(settings.metrics_port)

    guard = threading.Lock()
    locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)

    def run(namespace: str, name: str, retry: int = 0) -> None:
        with guard:
            lock = locks[(namespace, name)]
        with lock:  # a Job event and a timer never reconcile one monitor at once
            outcome = reconciler.reconcile(namespace, name, _post_event)
        if outcome.retry is not None:
            delay = min(5.0 * 2**retry, _MAX_BACKOFF_SECONDS)
            raise kopf.TemporaryError(outcome.retry.message, delay=delay)

    @kopf.on.resume(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.create(GROUP, VERSION, PLURAL, registry=registry)
    @kopf.on.update(GROUP, VERSION, PLURAL, registry=registry)
    def on_change(meta: kopf.Meta, retry: int, **_: Any) -> None:
        run(meta["namespace"], meta["name"], retry)

    @kopf.timer(
        GROUP, VERSION, PLURAL, interval=resync_seconds, initial_delay=resync_seconds,
        registry=registry,
    )  # fmt: skip
    def on_resync(meta: kopf.Meta, **_: Any) -> None:
        # Problems are already in status and Events; the next tick is the retry.
        with contextlib.suppress(kopf.TemporaryError):
            run(meta["namespace"], meta["name"])

    @kopf.on.event(GROUP, VERSION, PLURAL, registry=registry)
    def on_deleted(meta: kopf.Meta, event: kopf.RawEvent, **_: Any) -> None:
        if event.get("type") == "DELETED":
            metrics.forget(meta["namespace"], meta["name"])

    def finished(status: kopf.Status, **_: Any) -> bool:
        return any(
            c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
            for c in status.get("conditions") or []
        )

    @kopf.on.event(
        "batch", "v1", "jobs",
        labels={contract.DRIFT_MONITOR: kopf.PRESENT, labels.MANAGED_BY: labels.MANAGED_BY_VALUE},
        when=finished, registry=registry,
    )  # fmt: skip
    def on_job(meta: kopf.Meta, event: kopf.RawEvent, **_: Any) -> None:
        if event.get("type") == "DELETED":
            return
        monitor = meta.get("labels", {}).get(contract.DRIFT_MONITOR)
        if monitor and meta.get("namespace"):
            with contextlib.suppress(kopf.TemporaryError):
                run(meta["namespace"], monitor)
