"""The promotion gate on features: is a FeatureView fresh enough to promote a model on?

Pure: the FeatureView as read (or None when it is missing) and the time in, the reason to
hold out (None when fresh). A run scheduled at the latest tick may still be going, so a
view is fresh while its last materialization finished at or after the tick before that:
one late or failed run is tolerated, two are not.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sextant_operator.api.featureview import FeatureView
from sextant_operator.featureview.schedule import previous_runs


def stale_reason(name: str, view: FeatureView | None, now: datetime) -> str | None:
    """Why FeatureView `name` must not back a promotion now; None when it may."""
    if view is None:
        return f"FeatureView {name} does not exist in this namespace"
    status = view.status
    ready = status.condition("Ready") if status else None
    if ready is None or ready.status != "True":
        why = f" ({ready.reason}: {ready.message})" if ready else ""
        return f"FeatureView {name} is not Ready{why}"
    last = status.last_materialization if status else None
    if last is None or last.time is None:
        return f"FeatureView {name} has not been materialized yet"
    schedule = view.spec.materialization.schedule if view.spec.materialization else None
    if schedule is None:
        return None  # materialized by hand: Ready is all there is to go by
    _, before = previous_runs(schedule, now)
    if last.time.astimezone(UTC) < before:
        return (
            f"FeatureView {name} is stale: last materialized {_iso(last.time)}, but the run "
            f"scheduled at {_iso(before)} ({schedule!r}) has not finished since"
        )
    return None


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
