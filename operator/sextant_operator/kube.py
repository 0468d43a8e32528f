"""The operator's Kubernetes I/O: server-side apply, reads, pruning, status writes.

Everything that talks to the API server for reconciliation goes through `Kube`, so the
domain code above it deals in plain dicts and typed models.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from sextant_operator import labels
from sextant_operator.api import API_VERSION

log = logging.getLogger(__name__)

_DISCOVERY_TTL_SECONDS = 60.0


def load_api_client() -> client.ApiClient:
    """In-cluster credentials when running in a pod, else the kubeconfig (KUBECONFIG)."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return client.ApiClient()


class Kube:
    def __init__(self, api_client: client.ApiClient) -> None:
        self.api = api_client
        self.dynamic = DynamicClient(api_client)
        self.core = client.CoreV1Api(api_client)
        self._groups: set[str] = set()
        self._groups_checked_at = float("-inf")

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
        """Server-side apply with Sextant's field manager; force takes back edited fields."""
        resource = self.dynamic.resources.get(api_version=body["apiVersion"], kind=body["kind"])
        result = resource.server_side_apply(
            body=body,
            name=body["metadata"]["name"],
            namespace=body["metadata"]["namespace"],
            field_manager=labels.FIELD_MANAGER,
            force_conflicts=True,
        )
        applied: dict[str, Any] = result.to_dict()
        return applied

    def get(self, api_version: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        resource = self.dynamic.resources.get(api_version=api_version, kind=kind)
        try:
            found: dict[str, Any] = resource.get(name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None
        return found

    def owned(
        self, api_version: str, kind: str, namespace: str, owner_uid: str, owner_name: str
    ) -> list[dict[str, Any]]:
        """Objects of one kind that this ModelDeployment controls."""
        try:
            resource = self.dynamic.resources.get(api_version=api_version, kind=kind)
        except ResourceNotFoundError:
            return []  # an optional API (ServiceMonitor) that this cluster does not serve
        selector = labels.selector_string(labels.all_pods_selector(owner_name))
        items = resource.get(namespace=namespace, label_selector=selector).to_dict()["items"]
        return [item for item in items if _controller_uid(item) == owner_uid]

    def json_patch(
        self, api_version: str, kind: str, namespace: str, name: str, ops: list[dict[str, Any]]
    ) -> None:
        """A JSON patch (RFC 6902) under Sextant's field manager: exactly these paths change."""
        resource = self.dynamic.resources.get(api_version=api_version, kind=kind)
        resource.patch(
            body=ops,
            name=name,
            namespace=namespace,
            content_type="application/json-patch+json",
            field_manager=labels.FIELD_MANAGER,
        )

    def delete(self, obj: dict[str, Any]) -> None:
        resource = self.dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        meta = obj["metadata"]
        with contextlib.suppress(NotFoundError):
            resource.delete(
                name=meta["name"],
                namespace=meta["namespace"],
                body={"propagationPolicy": "Background"},
            )

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
    ) -> None:
        """One JSON merge patch of the status subresource (None values remove fields).

        With `resource_version`, the API server refuses the write (409) if the object changed
        since it was read: a decision made on a stale status is never persisted.
        """
        group, version = API_VERSION.split("/")
        body: dict[str, Any] = {"status": status}
        if resource_version is not None:
            body["metadata"] = {"resourceVersion": resource_version}
        try:
            client.CustomObjectsApi(self.api).patch_namespaced_custom_object_status(
                group, version, namespace, plural, name, body
            )
        except ApiException as err:
            if err.status != 404:  # deleted meanwhile: nothing left to report on
                raise

    def remove_annotations(
        self, plural: str, namespace: str, name: str, keys: list[str]
    ) -> str | None:
        """Remove annotations (one-time tokens); returns the new resourceVersion."""
        group, version = API_VERSION.split("/")
        patch = {"metadata": {"annotations": dict.fromkeys(keys)}}
        result = client.CustomObjectsApi(self.api).patch_namespaced_custom_object(
            group, version, namespace, plural, name, patch
        )
        return str(result["metadata"]["resourceVersion"])


def _controller_uid(obj: dict[str, Any]) -> str | None:
    for ref in obj.get("metadata", {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return str(ref.get("uid"))
    return None
