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


def set_feature_condition(
    conditions: list[Condition],
    type_: str,
    *,
    working: tuple[str, str] | None,
    problem: tuple[str, str] | None,
    generation: int | None,
    now: datetime | None = None,
) -> list[Condition]:
    """The condition of an opt-in field (ResponseCache, PredictionLog, FeaturesResolved):
    absent while the field is off (`working` None), False with `problem` (reason, message)
    when it cannot work, else True with `working` (reason, message)."""
    if working is None:
        return [c for c in conditions if c.type != type_]
    status, (reason, message) = (False, problem) if problem is not None else (True, working)
    return set_condition(
        conditions,
        type_,
        status=status,
        reason=reason,
        message=message,
        generation=generation,
        now=now,
    )
