"""ModelDeployment fields the API accepts before this operator implements them.

They are never silently ignored: while any is set, a `NotImplemented` condition names them
(Ready is not affected: the model still serves). Pure, so both status computations use it.
"""

from __future__ import annotations

from datetime import datetime

from sextant_operator.api import Condition
from sextant_operator.api.modeldeployment import ModelDeploymentSpec
from sextant_operator.conditions import set_condition

NOT_IMPLEMENTED = "NotImplemented"


def inert_fields(spec: ModelDeploymentSpec) -> list[str]:
    """ModelDeployment fields that are set but have no effect in this operator version."""
    inert: list[str] = []
    return inert


def with_inert_fields(
    conditions: list[Condition],
    spec: ModelDeploymentSpec,
    generation: int | None,
    now: datetime | None = None,
) -> list[Condition]:
    """A `NotImplemented` condition naming the inert fields; none when every field works."""
    kept = [c for c in conditions if c.type != NOT_IMPLEMENTED]
    inert = inert_fields(spec)
    if not inert:
        return kept
    previous = next((c for c in conditions if c.type == NOT_IMPLEMENTED), None)
    return set_condition(
        [*kept, *([previous] if previous else [])],
        NOT_IMPLEMENTED,
        status=True,
        reason="FieldsHaveNoEffect",
        message=(
            f"{', '.join(inert)}: accepted, but this operator version does not implement "
            "them yet; they have no effect"
        ),
        generation=generation,
        now=now,
    )
