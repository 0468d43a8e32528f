"""kopf wiring: which events reconcile which ModelDeployment. Thin on purpose.

Every trigger ends in ModelDeploymentReconciler.reconcile, which is idempotent:
- the ModelDeployment is created, changed or found at start-up (resume);
- a timer re-resolves registry aliases and heals edited or deleted children;
- a child Deployment or Service changes, so status follows pods and deletions heal fast;
- a one-time token (sextant.dev/promote, abort, retry) is on the object.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any, cast

import kopf
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError

from sextant_operator import labels
from sextant_operator.api import GROUP, VERSION
from sextant_operator.reconcile import ModelDeploymentReconciler

log = logging.getLogger(__name__)

_MAX_BACKOFF_SECONDS = 300.0
_CHILD_SELECTOR = {labels.MANAGED_BY: labels.MANAGED_BY_VALUE}
_TOKENS = (labels.PROMOTE_ANNOTATION, labels.ABORT_ANNOTATION, labels.RETRY_ANNOTATION)


class _Requeue:
    """One pending wake-up per object: a rollout timer (a pause, a scale-down delay, the
    progress deadline) ends, so the object is reconciled then, not at the next resync."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._timers: dict[tuple[str, str], tuple[float, threading.Timer]] = {}

    def __call__(self, key: tuple[str, str], delay: float, wake: Callable[[], None]) -> None:
        # A little jitter so that objects paused together do not wake in one burst.
        delay = delay + random.uniform(0.0, min(1.0, delay * 0.05))
        due = time.monotonic() + delay
        with self._guard:
            pending = self._timers.get(key)
            if pending is not None and pending[0] <= due:
                return  # an earlier wake-up will look again anyway
            if pending is not None:
                pending[1].cancel()
            # kopf.event needs kopf's context variables, which a plain thread lacks.
            context = contextvars.copy_context()
            timer = threading.Timer(delay, self._fire, args=(key, lambda: context.run(wake)))
            timer.daemon = True
            self._timers[key] = (due, timer)
            timer.start()

    def _fire(self, key: tuple[str, str], wake: Callable[[], None]) -> None:
        with self._guard:
            self._timers.pop(key, None)
        try:
            wake()
        except Exception:
            log.exception("%s/%s: reconcile after a rollout timer failed", *key)


class _KeyedLocks:
    """One lock per object: a timer and a child event never reconcile it at once."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)

    def __call__(self, namespace: str, name: str) -> threading.Lock:
        with self._guard:
            return self._locks[(namespace, name)]


def register(
    registry: kopf.OperatorRegistry,
    reconciler: ModelDeploymentReconciler,
    resync_seconds: float,
) -> None:
    locks = _KeyedLocks()
    requeue = _Requeue()

    def run(namespace: str, name: str, retry: int = 0, resolve: bool = True) -> None:
        with locks(namespace, name):
            # Read under the lock: a body from the watch stream may predate the status
            # the previous reconcile wrote, and a stale status must never be re-applied.
            body = reconciler.kube.get_model_deployment(namespace, name)
            if body is None or body["metadata"].get("deletionTimestamp"):
                return  # gone or going: garbage collection removes the children
            try:
                outcome = reconciler.reconcile(
                    body,
                    lambda type_, reason, message: kopf.event(
                        cast(kopf.Body, body), type=type_, reason=reason, message=message
                    ),
                    resolve=resolve,
                )
            except (ApiException, DynamicApiError) as err:
                if _namespace_terminating(err):
                    return  # the namespace is being deleted with everything in it
                raise
        if outcome.requeue_after is not None:
            requeue((namespace, name), outcome.requeue_after, lambda: wake(namespace, name))
        if outcome.error is not None:
            delay = min(5.0 * 2**retry, _MAX_BACKOFF_SECONDS)
            raise kopf.TemporaryError(str(outcome.error), delay=delay)

    def wake(namespace: str, name: str) -> None:
        with contextlib.suppress(kopf.TemporaryError):
            run(namespace, name, resolve=False)

    @kopf.on.resume(GROUP, VERSION, "modeldeployments", registry=registry)
    @kopf.on.create(GROUP, VERSION, "modeldeployments", registry=registry)
    @kopf.on.update(GROUP, VERSION, "modeldeployments", registry=registry)
    def on_change(meta: kopf.Meta, retry: int, **_: Any) -> None:
        run(meta["namespace"], meta["name"], retry)

    @kopf.timer(
        GROUP,
        VERSION,
        "modeldeployments",
        interval=resync_seconds,
        initial_delay=resync_seconds,
        registry=registry,
    )
    def on_resync(meta: kopf.Meta, **_: Any) -> None:
        # Errors are already in status and Events; the next tick is the retry.
        with contextlib.suppress(kopf.TemporaryError):
            run(meta["namespace"], meta["name"])

    def has_token(annotations: kopf.Annotations, **_: Any) -> bool:
        return any(key in annotations for key in _TOKENS)

    # kopf keeps its own bookkeeping under the same `sextant.dev/` prefix and leaves every
    # annotation with that prefix out of the diff it runs on.update on: adding a token is
    # not a change to kopf. Any watch event of an object that carries one reconciles it;
    # the reconcile removes the token, so the events stop.
    @kopf.on.event(GROUP, VERSION, "modeldeployments", when=has_token, registry=registry)
    def on_token(meta: kopf.Meta, event: kopf.RawEvent, **_: Any) -> None:
        if event.get("type") == "DELETED":
            return
        with contextlib.suppress(kopf.TemporaryError):
            run(meta["namespace"], meta["name"], resolve=False)

    def on_child_event(body: kopf.Body, namespace: str | None, **_: Any) -> None:
        owner = body.get("metadata", {}).get("labels", {}).get(labels.MODEL_DEPLOYMENT)
        if not owner or not namespace:
            return
        with contextlib.suppress(kopf.TemporaryError):
            # Pods changed, not the registry: reuse the version already resolved.
            run(namespace, owner, resolve=False)

    kopf.on.event("apps", "v1", "deployments", labels=_CHILD_SELECTOR, registry=registry)(
        on_child_event
    )
    kopf.on.event("v1", "services", labels=_CHILD_SELECTOR, registry=registry)(on_child_event)


def _namespace_terminating(err: ApiException | DynamicApiError) -> bool:
    return err.status == 403 and "NamespaceTerminating" in str(getattr(err, "body", "") or err)
