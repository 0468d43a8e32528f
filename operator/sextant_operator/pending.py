"""What the API accepts before this operator implements it: said in status, never ignored.

A kind listed in PENDING_KINDS is accepted by its CRD but not reconciled; each object gets
`Ready=False` with reason NotImplemented and a Warning Event, so `kubectl get`, Argo CD
and Flux show that nothing happens instead of a silent success. Every kind is reconciled
today (the list is empty); ModelDeployment fields that have no effect yet get a condition
of their own (see inert.py).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf

from sextant_operator.api import GROUP, VERSION, Condition
from sextant_operator.conditions import set_condition
from sextant_operator.inert import NOT_IMPLEMENTED

PENDING_KINDS: dict[str, str] = {}  # plural -> kind


def pending_kind_message(kind: str) -> str:
    return (
        f"this operator version does not reconcile {kind} objects yet: it is stored, "
        "but nothing is materialized, scheduled or checked"
    )


def pending_kind_status(
    kind: str, generation: int | None, status: dict[str, Any]
) -> dict[str, Any]:
    """The status patch for a pending kind: Ready=False, NotImplemented, this generation."""
    existing = [Condition.model_validate(c) for c in status.get("conditions") or []]
    conditions = set_condition(
        existing,
        "Ready",
        status=False,
        reason=NOT_IMPLEMENTED,
        message=pending_kind_message(kind),
        generation=generation,
        now=datetime.now(UTC),
    )
    return {
        "observedGeneration": generation,
        "conditions": [
            c.model_dump(by_alias=True, exclude_none=True, mode="json") for c in conditions
        ],
    }


def register(registry: kopf.OperatorRegistry) -> None:
    for plural, kind in PENDING_KINDS.items():

        def report(body: kopf.Body, patch: kopf.Patch, kind: str = kind, **_: Any) -> None:
            generation = body.metadata.get("generation")
            patch.status.update(pending_kind_status(kind, generation, dict(body.status)))
            kopf.warn(body, reason=NOT_IMPLEMENTED, message=pending_kind_message(kind))

        for on in (kopf.on.create, kopf.on.update, kopf.on.resume):
            on(GROUP, VERSION, plural, registry=registry)(report)
