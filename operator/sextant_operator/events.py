"""Kubernetes Events on the custom resources, posted from any worker thread.

The same Event repeated on the same object (a registry outage reported by every retry)
becomes one Event whose count and lastTimestamp grow, as `kubectl describe` users know
from the kubelet and controllers, instead of a new object each time.
"""

from __future__ import annotations

import logging
import secrets
import socket
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

COMPONENT = "sextant-operator"
REPORTING_CONTROLLER = "sextant.dev/operator"
MAX_MESSAGE_LENGTH = 1024  # the API server refuses longer Event messages
_REMEMBERED = 4096


class EventRecorder:
    def __init__(self, api_client: client.ApiClient) -> None:
        self._core = client.CoreV1Api(api_client)
        self._instance = socket.gethostname()
        self._lock = threading.Lock()
        # (uid, type, reason, message) -> (namespace, event name, count)
        self._posted: OrderedDict[tuple[str, str, str, str], tuple[str, str, int]] = OrderedDict()

    def post(self, obj: dict[str, Any], type_: str, reason: str, message: str) -> None:
        """Never raises: an Event that cannot be posted is logged, the reconcile goes on."""
        meta = obj["metadata"]
        message = message[:MAX_MESSAGE_LENGTH]
        key = (meta.get("uid", ""), type_, reason, message)
        now = datetime.now(UTC)
        try:
            with self._lock:
                seen = self._posted.get(key)
            if seen is not None and self._bump(*seen, now):
                with self._lock:
                    self._posted[key] = (seen[0], seen[1], seen[2] + 1)
                    self._posted.move_to_end(key)
                return
            name = f"{meta['name']}.{secrets.token_hex(8)}"
            self._core.create_namespaced_event(
                meta["namespace"], self._event(obj, name, (type_, reason, message), now)
            )
            with self._lock:
                self._posted[key] = (meta["namespace"], name, 1)
                while len(self._posted) > _REMEMBERED:
                    self._posted.popitem(last=False)
        except ApiException as err:
            log.warning("%s/%s: could not post Event %s: %s", meta.get("namespace"),
                        meta.get("name"), reason, err.reason)  # fmt: skip

    def _bump(self, namespace: str, name: str, count: int, now: datetime) -> bool:
        """Count one more occurrence; False when the Event expired (events live an hour)."""
        try:
            self._core.patch_namespaced_event(
                name, namespace, {"count": count + 1, "lastTimestamp": now.isoformat()}
            )
        except ApiException as err:
            if err.status == 404:
                return False
            raise
        return True

    def _event(
        self, obj: dict[str, Any], name: str, what: tuple[str, str, str], now: datetime
    ) -> client.CoreV1Event:
        meta = obj["metadata"]
        type_, reason, message = what
        return client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=name, namespace=meta["namespace"]),
            involved_object=client.V1ObjectReference(
                api_version=obj.get("apiVersion"),
                kind=obj.get("kind"),
                name=meta["name"],
                namespace=meta["namespace"],
                uid=meta.get("uid"),
                resource_version=meta.get("resourceVersion"),
            ),
            type=type_,
            reason=reason,
            message=message,
            count=1,
            first_timestamp=now,
            last_timestamp=now,
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=REPORTING_CONTROLLER,
            reporting_instance=self._instance,
        )
