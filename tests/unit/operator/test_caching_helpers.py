"""Pure helpers of the watch-cached controller: no-op apply detection, namespace patterns,
peering rank."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sextant_operator import namespaces
from sextant_operator.applied import FINGERPRINT_ANNOTATION, unchanged, with_fingerprint
from sextant_operator.standby import higher_live_peer


def _service(port: int = 8080, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "fraud", "namespace": "ml", "labels": {"a": "b", **(extra or {})}},
        "spec": {"ports": [{"name": "http", "port": port}], "selector": {"a": "b"}},
    }


def _live(desired: dict[str, Any]) -> dict[str, Any]:
    """What the API server returns: our fields plus defaults and status."""
    live = with_fingerprint(desired)
    live = {**live, "metadata": {**live["metadata"], "uid": "u", "resourceVersion": "7"}}
    live["spec"] = {
        **live["spec"],
        "clusterIP": "10.0.0.9",
        "ports": [{**p, "protocol": "TCP", "targetPort": p["port"]} for p in live["spec"]["ports"]],
    }
    live["status"] = {"loadBalancer": {}}
    return live


def test_the_same_desired_object_against_its_live_copy_is_unchanged() -> None:
    desired = with_fingerprint(_service())
    assert FINGERPRINT_ANNOTATION in desired["metadata"]["annotations"]
    assert unchanged(desired, _live(_service()))


def test_a_changed_value_or_an_edit_by_someone_else_is_applied() -> None:
    live = _live(_service())
    assert not unchanged(with_fingerprint(_service(port=9090)), live)
    edited = {**live, "spec": {**live["spec"], "selector": {"a": "c"}}}
    assert not unchanged(with_fingerprint(_service()), edited)


def test_a_field_sextant_stops_setting_is_applied_so_it_is_removed() -> None:
    # The live object still holds the old label: a subset check alone would call it
    # unchanged; the fingerprint of what was last applied differs.
    live = _live(_service(extra={"old": "x"}))
    assert not unchanged(with_fingerprint(_service()), live)


def test_a_missing_or_deleting_object_is_applied() -> None:
    desired = with_fingerprint(_service())
    assert not unchanged(desired, None)
    live = _live(_service())
    live["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert not unchanged(desired, live)


def test_namespace_patterns_like_kopf() -> None:
    assert namespaces.plain_names(("a", "b")) == ("a", "b")
    assert namespaces.plain_names(()) == ()
    assert namespaces.plain_names(("op-*",)) is None
    assert namespaces.matches("op-1", ("op-*",))
    assert not namespaces.matches("other", ("op-*",))
    assert namespaces.matches("anything", ())
    assert not namespaces.matches("kube-system", ("!kube-*",))
    assert namespaces.matches("ml", ("!kube-*",))


def test_only_a_live_peer_with_a_higher_priority_outranks() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    fresh = (now - timedelta(seconds=10)).isoformat()
    stale = (now - timedelta(seconds=120)).isoformat()
    status = {
        "low": {"priority": 5, "lastseen": fresh, "lifetime": 60},
        "dead-high": {"priority": 50, "lastseen": stale, "lifetime": 60},
    }
    assert higher_live_peer(status, 10, now) is None
    status["high"] = {"priority": 20, "lastseen": fresh, "lifetime": 60}
    assert higher_live_peer(status, 10, now) == "high"
    assert higher_live_peer(status, 30, now) is None
