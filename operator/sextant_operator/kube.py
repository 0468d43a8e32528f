"""The operator's Kubernetes I/O: server-side apply, reads, pruning, status writes.

Everything that talks to the API server for reconciliation goes through `Kube`, so the
domain code above it deals in plain dicts and typed models.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from sextant_operator import labels
from sextant_operator.api import API_VERSION
from sextant_operator.applied import unchanged, with_fingerprint
from sextant_operator.informer import Informer

log = logging.getLogger(__name__)

_DISCOVERY_TTL_SECONDS = 60.0


def load_api_client(pool_size: int = 32) -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig (KUBECONFIG).

    The pool is sized for the long-lived watches plus the reconcile workers, which all
    share it; urllib3 would otherwise drop and reopen connections under load."""
    configuration = client.Configuration()
    try:
        config.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)
    configuration.connection_pool_maxsize = pool_size
    client.Configuration.set_default(configuration)
    return client.ApiClient(configuration)


class Kube:
    """With `caches` (informers by (apiVersion, kind)), reads of those kinds come from the
    watch caches, and applies that would change nothing are skipped."""

    def __init__(
        self, api_client: client.ApiClient, caches: dict[tuple[str, str], Informer] | None = None
    ) -> None:
        self.api = api_client
        self.dynamic = DynamicClient(api_client)
        self.core = client.CoreV1Api(api_client)
        self.caches = caches if caches is not None else {}  # filled after construction
        self._groups: set[str] = set()
        self._groups_checked_at = float("-inf")
        self.applies_skipped = 0  # for the scale benchmark and tests
        self._discovery = threading.Lock()
        self._resources: dict[tuple[str, str], Any] = {}

    def resource(self, api_version: str, kind: str) -> Any:
        """The dynamic client's resource, looked up once: its discovery cache is not safe
        to fill from several threads at once. Raises ResourceNotFoundError."""
        key = (api_version, kind)
        with self._discovery:
            if key not in self._resources:
                self._resources[key] = self.dynamic.resources.get(
                    api_version=api_version, kind=kind
                )
            return self._resources[key]

    def _cache(self, api_version: str, kind: str) -> Informer | None:
        informer = self.caches.get((api_version, kind))
        return informer if informer is not None and informer.synced.is_set() else None

    # --- discovery ---------------------------------------------------------------------

    def has_api_group(self, group: str) -> bool:
        """Whether the cluster serves `group`; re-checked at most once a minute."""
        now = time.monotonic()
        if now - self._groups_checked_at > _DISCOVERY_TTL_SECONDS:
            groups = client.ApisApi(self.api).get_api_versions().groups
            self._groups = {g.name for g in groups}
            self._groups_checked_at = now
        return group in self._groups

    # --- children ----------------------------------------------------------------------

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        """Server-side apply with Sextant's field manager; force takes back edited fields.

        Skipped when the cached live object already holds exactly this (see applied.py)."""
        body = with_fingerprint(body)
        meta = body["metadata"]
        cache = self._cache(body["apiVersion"], body["kind"])
        live = cache.get(meta["namespace"], meta["name"]) if cache is not None else None
        if cache is not None and unchanged(body, live):
            assert live is not None
            self.applies_skipped += 1
            return live
        resource = self.resource(body["apiVersion"], body["kind"])
        result = resource.server_side_apply(
            body=body,
            name=body["metadata"]["name"],
            namespace=body["metadata"]["namespace"],
            field_manager=labels.FIELD_MANAGER,
            force_conflicts=True,
        )
        applied: dict[str, Any] = result.to_dict()
        if cache is not None:
            cache.put(applied)
        return applied

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        cache = self._cache(api_version, kind)
        if cache is not None:
            return cache.get(namespace, name)
        resource = self.resource(api_version, kind)
        try:
            found: dict[str, Any] = resource.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None
        return found

    def owned(
        self, api_version: str, kind: str, namespace: str, owner_uid: str, owner_name: str
    ) -> list[dict[str, Any]]:
        """Objects of one kind that this ModelDeployment controls."""
        cache = self._cache(api_version, kind)
        if cache is not None:
            if not cache.available:
                return []
            wanted = labels.all_pods_selector(owner_name)
            return [
                item
                for item in cache.list(namespace)
                if _has_labels(item, wanted) and _controller_uid(item) == owner_uid
            ]
        try:
            resource = self.resource(api_version, kind)
        except ResourceNotFoundError:
            return []  # an optional API (ServiceMonitor) that this cluster does not serve
        selector = labels.selector_string(labels.all_pods_selector(owner_name))
        items = resource.get(namespace=namespace, label_selector=selector).to_dict()["items"]
        return [item for item in items if _controller_uid(item) == owner_uid]

    def json_patch(
        self, api_version: str, kind: str, namespace: str, name: str, ops: list[dict[str, Any]]
    ) -> None:
        """A JSON patch (RFC 6902) under Sextant's field manager: exactly these paths change."""
        resource = self.resource(api_version, kind)
        resource.patch(
            body=ops,
            name=name,
            namespace=namespace,
            content_type="application/json-patch+json",
            field_manager=labels.FIELD_MANAGER,
        )

    def delete(self, obj: dict[str, Any]) -> None:
        resource = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        with contextlib.suppress(NotFoundError):
            resource.delete(
                name=meta["name"],
                namespace=meta["namespace"],
                body={"propagationPolicy": "Background"},
            )
        cache = self._cache(obj["apiVersion"], obj["kind"])
        if cache is not None:
            cache.forget(meta["namespace"], meta["name"])

    def pods(self, namespace: str, selector: dict[str, str]) -> list[client.V1Pod]:
        pods: list[client.V1Pod] = self.core.list_namespaced_pod(
            namespace, label_selector=labels.selector_string(selector)
        ).items
        return pods

    # --- the custom resource -----------------------------------------------------------

    def get_model_deployment(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.get(API_VERSION, "ModelDeployment", namespace, name)

    def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: dict[str, Any],
        resource_version: str | None = None,
    ) -> dict[str, Any] | None:
        """One JSON merge patch of the status subresource (None values remove fields).

        With `resource_version`, the API server refuses the write (409) if the object changed
        since it was read: a decision made on a stale status is never persisted.
        """
        group, version = API_VERSION.split("/")
        body: dict[str, Any] = {"status": status}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        try:
            written: dict[str, Any] = client.CustomObjectsApi(
                self.api
            ).patch_namespaced_custom_object_status(group, version, namespace, plural, name, body)
        except ApiException as err:
            if err.status != 404:  # deleted meanwhile: nothing left to report on
                raise
            return None
        self._remember(written)
        return written

    def remove_annotations(
        self, plural: str, namespace: str, name: str, keys: list[str]
    ) -> str | None:
        """Remove annotations (one-time tokens); returns the new resourceVersion."""
        group, version = API_VERSION.split("/")
        patch = {"metadata": {"annotations": dict.fromkeys(keys)}}
        result = client.CustomObjectsApi(self.api).patch_namespaced_custom_object(
            group, version, namespace, plural, name, patch
        )
        self._remember(result)
        return str(result["metadata"]["resourceVersion"])

    def _remember(self, written: dict[str, Any]) -> None:
        """Our own write goes into the cache at once: the next reconcile must not decide
        on the copy from before it (the watch event follows a moment later)."""
        cache = self._cache(written.get("apiVersion", API_VERSION), written.get("kind", ""))
        if cache is not None:
            cache.put(written)


def _has_labels(obj: dict[str, Any], wanted: dict[str, str]) -> bool:
    have = obj["metadata"].get("labels") or {}
    return all(have.get(key) == value for key, value in wanted.items())


def _controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None
