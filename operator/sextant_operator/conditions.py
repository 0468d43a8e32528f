"""metav1.Condition bookkeeping: a condition's transition time moves only when its status does."""

from __future__ import annotations

from datetime import UTC, datetime

from sextant_operator.api import Condition


def set_condition(
    conditions: list[Condition],
    type_: str,
    *,
    status: bool,
    reason: str,
    message: str,
    generation: int | None,
    now: datetime | None = None,
) -> list[Condition]:
    """A new list with `type_` set; other conditions are kept as they are, in order."""
    value = "True" if status else "False"
    previous = next((c for c in conditions if c.type == type_), None)
    if previous is not None and previous.status == value:
        transition = previous.last_transition_time
    else:
        transition = (now or datetime.now(UTC)).replace(microsecond=0)
    updated = Condition(
        type=type_,
        status=value,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=transition,
    )
    if previous is None:
        return [*conditions, updated]
    return [updated if c.type == type_ else c for c in conditions]
