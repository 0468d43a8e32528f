"""The ModelDeployment controller: watch caches feed a work queue that workers drain.

Every trigger only queues the object's key:
- the ModelDeployment is added, its spec changes (generation) or its annotations change
  (the one-time tokens sextant.dev/promote, abort, retry);
- one of its children (Deployment, Service, HPA, PDB, ServiceMonitor) changes, so status
  follows pods and an edited or deleted child heals at once;
- a rollout timer ends (a pause, a scale-down delay, the progress deadline);
- the resync: each reconcile asks to look again after `resync_seconds` (with jitter), which
  re-resolves registry aliases through one poll shared by every object following the alias.

A worker reads the object from the cache and reconciles it; a failing key retries with
its own exponential backoff. Status-only changes (our own writes) queue nothing.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import DynamicApiError

from sextant_operator import labels, namespaces
from sextant_operator.api import API_VERSION
from sextant_operator.events import EventRecorder
from sextant_operator.informer import Informer, wait_synced
from sextant_operator.kube import Kube
from sextant_operator.reconcile import ModelDeploymentReconciler
from sextant_operator.render.children import CHILD_KINDS
from sextant_operator.resolution import RegistryPoller
from sextant_operator.settings import OperatorSettings
from sextant_operator.standby import Standby
from sextant_operator.workqueue import WorkQueue

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
DEFAULT_WORKERS = 4
CONFLICT_RETRY_SECONDS = 0.5
# The registry answer is shared for a little less than a resync, so each object's resync
# still sees an answer from its own interval.
_POLL_SHARE_OF_RESYNC = 0.9


class ModelDeploymentController:
    def __init__(
        self,
        api_client: client.ApiClient,
        settings: OperatorSettings,
        *,
        workers: int = DEFAULT_WORKERS,
        standby: Standby | None = None,
    ) -> None:
        self.settings = settings
        self.queue: WorkQueue[Key] = WorkQueue()
        caches: dict[tuple[str, str], Informer] = {}
        self.kube = Kube(api_client, caches)
        self.poller = RegistryPoller(ttl=settings.resync_seconds * _POLL_SHARE_OF_RESYNC)
        self.reconciler = ModelDeploymentReconciler(self.kube, settings, self.poller)
        self.events = EventRecorder(api_client)
        self.standby = standby or Standby(api_client, None, 0, settings.namespaces)
        self._workers = workers
        self._threads: list[threading.Thread] = []
        watched = namespaces.plain_names(settings.namespaces)
        scope: dict[str, Any] = {
            "namespaces": watched or (),
            "accept": None
            if watched is not None
            else lambda ns: namespaces.matches(ns, settings.namespaces),
        }
        caches[(API_VERSION, "ModelDeployment")] = Informer(
            self.kube.resource, API_VERSION, "ModelDeployment", on_change=self._on_model, **scope
        )
        children = labels.selector_string({labels.MANAGED_BY: labels.MANAGED_BY_VALUE})
        for api_version, kind in CHILD_KINDS:
            caches[(api_version, kind)] = Informer(
                self.kube.resource,
                api_version,
                kind,
                label_selector=children,
                on_change=self._on_child,
                **scope,
            )
        # FeatureViews a ModelDeployment enriches from (spec.features): a change to one
        # reaches the runtimes that use it at once, not at the next resync.
        caches[(API_VERSION, "FeatureView")] = Informer(
            self.kube.resource, API_VERSION, "FeatureView", on_change=self._on_feature_view, **scope
        )
        self.informers = list(caches.values())
        self._models = caches[(API_VERSION, "ModelDeployment")]

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self.standby.start()
        for informer in self.informers:
            informer.start()
        starter = threading.Thread(target=self._start_workers, name="controller", daemon=True)
        starter.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.queue.shutdown()
        self.standby.stop()
        for informer in self.informers:
            informer.stop()
        for thread in self._threads:
            thread.join(timeout / max(1, len(self._threads)))

    def _start_workers(self) -> None:
        # A reconcile never decides on a half-filled cache: workers start once every
        # watch has listed what exists.
        while not wait_synced(self.informers, timeout=30.0):
            pending = [i.kind for i in self.informers if not i.synced.is_set()]
            log.warning("waiting for the first list of %s", ", ".join(pending))
        log.info("watch caches filled: %d ModelDeployments", len(self._models))
        for index in range(self._workers):
            thread = threading.Thread(target=self._work, name=f"reconcile-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    # --- triggers ------------------------------------------------------------------------

    def _on_model(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        obj = new or old
        assert obj is not None
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if new is None:
            self.queue.drop(key)
            return
        if old is None or _generation(old) != _generation(new):
            self.queue.add(key, resolve=True)  # new, or the spec changed: resolve it
        elif _meta(old, "annotations") != _meta(new, "annotations"):
            self.queue.add(key)  # a one-time token, most likely

    def _on_child(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        obj = new or old
        assert obj is not None
        owner = _meta(obj, "labels").get(labels.MODEL_DEPLOYMENT)
        if not owner:
            return
        if old is not None and new is not None and not _child_changed(old, new):
            return
        # Pods changed, not the registry: the version already resolved stays.
        self.queue.add((obj["metadata"]["namespace"], owner))

    def _on_feature_view(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        obj = new or old
        assert obj is not None
        if old is not None and new is not None and old.get("spec") == new.get("spec"):
            return  # its status, written by the FeatureView reconcile
        namespace, view = obj["metadata"]["namespace"], obj["metadata"]["name"]
        for md in self._models.list(namespace):
            features = (md.get("spec") or {}).get("features") or {}
            if features.get("featureView") == view:
                self.queue.add((namespace, md["metadata"]["name"]))

    # --- workers -------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            self.standby.active.wait()
            item = self.queue.get()
            if item is None:
                return  # shut down
            key, resolve = item
            try:
                self.reconcile(key, resolve=resolve)
            except Exception:
                log.exception("%s/%s: reconcile failed", *key)
                self.queue.add_backoff(key, resolve=resolve)
            finally:
                self.queue.done(key)

    def reconcile(self, key: Key, *, resolve: bool) -> None:
        namespace, name = key
        body = self.kube.get_model_deployment(namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            self.queue.drop(key)  # gone or going: garbage collection removes the children
            return
        try:
            outcome = self.reconciler.reconcile(
                body,
                lambda type_, reason, message: self.events.post(body, type_, reason, message),
                resolve=resolve,
            )
        except (ApiException, DynamicApiError) as err:
            if _namespace_terminating(err):
                self.queue.drop(key)
                return
            if err.status == 409:
                # Decided on a copy older than the object: look again at the fresh one.
                self.queue.add_after(key, CONFLICT_RETRY_SECONDS, resolve=resolve)
                return
            delay = self.queue.add_backoff(key, resolve=resolve)
            log.warning("%s/%s: %s; retrying in %.0fs", namespace, name,
                        getattr(err, "reason", err), delay)  # fmt: skip
            return
        if outcome.requeue_after is not None:
            self.queue.add_after(key, outcome.requeue_after)
        if outcome.error is not None:
            # Already in status and Events; asked again with a growing backoff instead of
            # the resync, so an outage is not hammered by every object.
            self.queue.add_backoff(key, resolve=True)
            return
        self.queue.forget(key)
        self.queue.add_after(key, self.settings.resync_seconds, resolve=True)


def _meta(obj: dict[str, Any], field: str) -> dict[str, str]:
    return obj["metadata"].get(field) or {}


def _generation(obj: dict[str, Any]) -> int | None:
    generation = obj["metadata"].get("generation")
    return int(generation) if generation is not None else None


def _child_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Anything a reconcile reads: spec, status, labels, annotations, deletion."""
    return any(old.get(part) != new.get(part) for part in ("spec", "status", "data")) or any(
        old["metadata"].get(field) != new["metadata"].get(field)
        for field in ("labels", "annotations", "deletionTimestamp", "ownerReferences")
    )


def _namespace_terminating(err: ApiException | DynamicApiError) -> bool:
    return err.status == 403 and "NamespaceTerminating" in str(getattr(err, "body", "") or err)
