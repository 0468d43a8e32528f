"""When a cron schedule last fired, as a Kubernetes CronJob reads it (in UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import croniter


def previous_runs(schedule: str, now: datetime, count: int = 2) -> list[datetime]:
    """The `count` scheduled times at or before `now`, newest first."""
    # croniter counts an instant that is itself a tick as the next one, not the previous.
    it = croniter(schedule, now.astimezone(UTC), ret_type=datetime)
    nxt: datetime = it.get_next(datetime)
    back = croniter(schedule, nxt, ret_type=datetime)
    runs: list[datetime] = []
    while len(runs) < count:
        tick: datetime = back.get_prev(datetime)
        if tick <= now:
            runs.append(tick.astimezone(UTC).replace(fold=0))
    return runs
