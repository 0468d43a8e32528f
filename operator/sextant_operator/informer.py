"""Watch caches: one list-then-watch per kind keeps a local copy of the objects it selects.

Reconciles read from these copies instead of a GET plus a LIST per child kind, so 1,000
idle ModelDeployments cost the API server a few long-lived watches, not a stream of
requests. Each informer says when its first list is complete (`synced`), and workers wait
for that: a reconcile never decides on a half-filled cache (a canary's Deployment missing
from it would look like a canary with no pods).

The copy may lag the API server by a watch event; that is safe because every write is
either idempotent (server-side apply) or guarded by resourceVersion (status).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError
from urllib3.exceptions import HTTPError

log = logging.getLogger(__name__)

# lookup(api_version, kind): the dynamic client's resource (Kube.resource).
ResourceLookup = Callable[[str, str], Any]
# on_change(old, new): an object was added (old None), changed, or deleted (new None).
ChangeHandler = Callable[[dict[str, Any] | None, dict[str, Any] | None], None]
ObjectKey = tuple[str, str]  # (namespace, name)

WATCH_TIMEOUT_SECONDS = 300  # the server ends each watch then; the informer re-watches
RETRY_SECONDS = 5.0
_GONE = 410


def resource_version(obj: dict[str, Any]) -> int:
    """resourceVersions are opaque strings, but etcd-backed ones are increasing integers;
    comparing them keeps a newer copy from being overwritten by an older watch event."""
    try:
        return int(obj["metadata"].get("resourceVersion") or 0)
    except ValueError:
        return 0


class Informer:
    """The objects of one kind (in some namespaces, with a label selector), kept current."""

    def __init__(
        self,
        lookup: ResourceLookup,
        api_version: str,
        kind: str,
        *,
        namespaces: tuple[str, ...] = (),
        label_selector: str | None = None,
        accept: Callable[[str], bool] | None = None,
        on_change: ChangeHandler | None = None,
    ) -> None:
        """`namespaces`: watched one by one (all of them when empty); `accept`: a filter on
        the namespace of each object, for namespace patterns watched cluster-wide."""
        self.api_version = api_version
        self.kind = kind
        self._lookup = lookup
        self._namespaces: tuple[str | None, ...] = namespaces or (None,)
        self._selector = label_selector
        self._accept = accept or (lambda namespace: True)
        self._on_change = on_change
        self._lock = threading.Lock()
        self._store: dict[ObjectKey, dict[str, Any]] = {}
        self._synced_scopes: set[str | None] = set()
        self.synced = threading.Event()
        self.available = True  # False when the cluster does not serve this kind
        self._stopping = threading.Event()

    # --- reads ---------------------------------------------------------------------------

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self._store.get((namespace, name))

    def list(self, namespace: str) -> list[dict[str, Any]]:
        with self._lock:
            return [obj for (ns, _), obj in self._store.items() if ns == namespace]

    def __len__(self) -> int:
        with self._lock:
            return len(self._store)

    # --- write-through: what this operator itself just wrote ----------------------------

    def put(self, obj: dict[str, Any]) -> None:
        """Keep the API server's answer to our own write, unless a newer copy is here."""
        meta = obj["metadata"]
        key = (meta["namespace"], meta["name"])
        with self._lock:
            current = self._store.get(key)
            if current is None or resource_version(obj) >= resource_version(current):
                self._store[key] = obj

    def forget(self, namespace: str, name: str) -> None:
        with self._lock:
            self._store.pop((namespace, name), None)

    # --- the watch -----------------------------------------------------------------------

    def start(self) -> None:
        for namespace in self._namespaces:
            thread = threading.Thread(
                target=self._run,
                args=(namespace,),
                name=f"informer-{self.kind}-{namespace or 'all'}",
                daemon=True,
            )
            thread.start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self, namespace: str | None) -> None:
        while not self._stopping.is_set():
            try:
                resource = self._lookup(self.api_version, self.kind)
            except ResourceNotFoundError:
                # An optional API (ServiceMonitor): nothing to cache until it is installed.
                self.available = False
                self._mark_synced(namespace)
                self._stopping.wait(60.0)
                continue
            self.available = True
            try:
                version = self._relist(resource, namespace)
                self._mark_synced(namespace)
                while not self._stopping.is_set():
                    version = self._watch(resource, namespace, version)
            except ApiException as err:
                if err.status != _GONE:
                    log.warning("%s watch: %s; listing again in %.0fs", self.kind, err.reason,
                                RETRY_SECONDS)  # fmt: skip
                    self._stopping.wait(RETRY_SECONDS)
            except (HTTPError, OSError) as err:
                log.warning("%s watch: %s; listing again in %.0fs", self.kind, err, RETRY_SECONDS)
                self._stopping.wait(RETRY_SECONDS)
            except Exception:
                # Never let a cache die silently: its kind would go stale for good.
                log.exception("%s watch failed; listing again in %.0fs", self.kind, RETRY_SECONDS)
                self._stopping.wait(RETRY_SECONDS)

    def _relist(self, resource: Any, namespace: str | None) -> str:
        listed = resource.get(namespace=namespace, label_selector=self._selector).to_dict()
        fresh = {
            (item["metadata"]["namespace"], item["metadata"]["name"]): _with_kind(
                item, self.api_version, self.kind
            )
            for item in listed["items"]
            if self._accept(item["metadata"]["namespace"])
        }
        with self._lock:
            mine = {k: v for k, v in self._store.items() if namespace is None or k[0] == namespace}
            for key in mine:
                if key not in fresh:
                    del self._store[key]
            self._store.update(fresh)
        for key, gone in mine.items():
            if key not in fresh:
                self._notify(gone, None)
        for key, new in fresh.items():
            before = mine.get(key)
            if before is None or resource_version(before) != resource_version(new):
                self._notify(before, new)
        return str(listed["metadata"]["resourceVersion"])

    def _watch(self, resource: Any, namespace: str | None, version: str) -> str:
        for event in self._events(resource, namespace, version):
            kind, obj = event["type"], event["raw_object"]
            if kind == "ERROR":
                raise ApiException(status=obj.get("code"), reason=obj.get("message"))
            version = obj["metadata"]["resourceVersion"]
            if kind == "BOOKMARK":
                continue
            if not self._accept(obj["metadata"]["namespace"]):
                continue
            obj = _with_kind(obj, self.api_version, self.kind)
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            with self._lock:
                old = self._store.get(key)
                if kind == "DELETED":
                    self._store.pop(key, None)
                elif old is None or resource_version(obj) >= resource_version(old):
                    self._store[key] = obj
                else:
                    continue  # older than what our own write already put here
            self._notify(old, None if kind == "DELETED" else obj)
        return version

    def _events(self, resource: Any, namespace: str | None, version: str) -> Iterator[Any]:
        return iter(
            resource.watch(
                namespace=namespace,
                label_selector=self._selector,
                resource_version=version,
                timeout=WATCH_TIMEOUT_SECONDS,
                allow_watch_bookmarks=True,
            )
        )

    def _mark_synced(self, namespace: str | None) -> None:
        with self._lock:
            self._synced_scopes.add(namespace)
            if len(self._synced_scopes) == len(self._namespaces):
                self.synced.set()

    def _notify(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if self._on_change is None:
            return
        try:
            self._on_change(old, new)
        except Exception:
            log.exception("%s: change handler failed", self.kind)


def _with_kind(obj: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    # Items of a list and watch events omit apiVersion/kind on some servers: keep them,
    # so a cached object can be deleted or compared like one read by GET.
    obj.setdefault("apiVersion", api_version)
    obj.setdefault("kind", kind)
    return obj


def wait_synced(informers: list[Informer], timeout: float | None = None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    for informer in informers:
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not informer.synced.wait(remaining):
            return False
    return True
