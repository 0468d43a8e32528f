"""Whether this replica is the active one, by kopf's peering records.

kopf pauses its own handlers when a peer with a higher priority is alive. The ModelDeployment
controller runs its own watches and workers, so it reads the same records (the KopfPeering
objects the chart installs) and stands by under the same rule: a live peer with a higher
priority is active, this replica is not.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

CHECK_SECONDS = 10.0


def higher_live_peer(status: dict[str, Any], priority: int, now: datetime) -> str | None:
    """The id of a peer that outranks `priority` and is still alive, if any."""
    for peer, record in (status or {}).items():
        if not isinstance(record, dict):
            continue
        try:
            seen = datetime.fromisoformat(str(record["lastseen"]))
            lifetime = timedelta(seconds=int(record.get("lifetime", 60)))
            other = int(record.get("priority", 0))
        except (KeyError, ValueError):
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=UTC)
        if other > priority and seen + lifetime > now:
            return str(peer)
    return None


class Standby:
    """`active` is set while this replica may reconcile; always set without peering."""

    def __init__(
        self,
        api_client: client.ApiClient,
        peering_name: str | None,
        priority: int,
        namespaces: tuple[str, ...],
    ) -> None:
        self.active = threading.Event()
        self._api = client.CustomObjectsApi(api_client)
        self._name = peering_name
        self._priority = priority
        self._namespaces = namespaces
        self._stopping = threading.Event()
        if peering_name is None:
            self.active.set()

    def start(self) -> None:
        if self._name is None:
            return
        threading.Thread(target=self._run, name="standby", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                outranked = self._outranked_by(datetime.now(UTC))
            except ApiException as err:
                log.warning("peering %s unreadable (%s): standing by", self._name, err.reason)
                outranked = "unknown"
            if outranked is None and not self.active.is_set():
                log.info("peering %s: this replica is active", self._name)
                self.active.set()
            elif outranked is not None and self.active.is_set():
                log.info("peering %s: peer %s outranks this replica: standing by",
                         self._name, outranked)  # fmt: skip
                self.active.clear()
            self._stopping.wait(CHECK_SECONDS)

    def _outranked_by(self, now: datetime) -> str | None:
        assert self._name is not None
        records: list[dict[str, Any]]
        if self._namespaces:
            # One KopfPeering per watched namespace (patterns included): all of this name.
            listed = self._api.list_cluster_custom_object(
                "kopf.dev", "v1", "kopfpeerings", field_selector=f"metadata.name={self._name}"
            )
            records = listed.get("items") or []
        else:
            records = [
                self._api.get_cluster_custom_object(
                    "kopf.dev", "v1", "clusterkopfpeerings", self._name
                )
            ]
        for record in records:
            peer = higher_live_peer(record.get("status") or {}, self._priority, now)
            if peer is not None:
                return peer
        return None
