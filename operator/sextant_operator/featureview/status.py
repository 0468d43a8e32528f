"""A FeatureView's status from what was observed: pure, so each case is a unit test.

Conditions (reasons a program can switch on):
- RedisUnavailable: True while the online store cannot be used (NoRedisUrl, RedisError,
  MaterializationFailed when the job itself could not write to it).
- SourceUnavailable: True while the last run could not read the source
  (MaterializationFailed) or the source is of a kind this version does not read
  (UnsupportedSource).
- Ready: True (Materialized) once every shard has a run on record and neither of the
  above holds; False with the blocking reason otherwise (NotMaterialized before a first run).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sextant_operator.api.featureview import (
    FeatureView,
    FeatureViewStatus,
    MaterializationRun,
)
from sextant_operator.conditions import set_condition
from sextant_operator.featureview.jobs import JobRun
from sextant_operator.featureview.online import OnlineState, RunSummary
from sextant_operator.rollout.types import Event

REDIS_PREFIX = "Error: Redis "  # how `sextant materialize` words a Redis failure
WATCHED = ("Ready", "SourceUnavailable", "RedisUnavailable")


@dataclass(frozen=True)
class Observed:
    redis_url: str | None  # None: neither spec.online.redisUrl nor the operator's setting
    unsupported_source: str | None  # why the source cannot be read by any run
    online: OnlineState | None  # None when Redis could not be read
    redis_error: str | None
    job: JobRun | None  # the latest run's Job, if any is left
    now: datetime


def compute_status(fv: FeatureView, seen: Observed) -> FeatureViewStatus:
    previous = fv.status or FeatureViewStatus()
    generation = fv.metadata.generation
    last, entities, missing = _runs(previous, seen)
    failure = _failure(seen.job, last)
    redis_problem = _redis_problem(seen, failure)
    source_problem = seen.unsupported_source or (
        None if failure is None or failure.startswith(REDIS_PREFIX) else failure
    )
    conditions = list(previous.conditions)

    def put(type_: str, status: bool, reason: str, message: str) -> None:
        nonlocal conditions
        conditions = set_condition(
            conditions, type_, status=status, reason=reason, message=message,
            generation=generation, now=seen.now,
        )  # fmt: skip

    if redis_problem is not None:
        put("RedisUnavailable", True, *redis_problem)
    else:
        put("RedisUnavailable", False, "RedisReachable", f"Redis {_host(seen.redis_url)} answers")
    if source_problem is not None:
        reason = "UnsupportedSource" if seen.unsupported_source else "MaterializationFailed"
        put("SourceUnavailable", True, reason, source_problem)
    else:
        put("SourceUnavailable", False, "SourceRead", "the last run read the source")
    ready = _ready(fv, seen, redis_problem=redis_problem, source_problem=source_problem,
                   last=last, missing=missing)  # fmt: skip
    put("Ready", *ready)
    return FeatureViewStatus(
        observed_generation=generation,
        conditions=conditions,
        last_materialization=last,
        online_entities=entities,
    )


def events(before: FeatureViewStatus | None, after: FeatureViewStatus) -> list[Event]:
    """One Event per watched condition that changed, and one per new run on record."""
    before = before or FeatureViewStatus()
    found: list[Event] = []
    old_run, new_run = before.last_materialization, after.last_materialization
    if new_run is not None and new_run.time and (old_run is None or old_run.time != new_run.time):
        found.append(
            Event(
                "Normal",
                "Materialized",
                f"{new_run.rows} rows, {new_run.entities} entities written in "
                f"{new_run.duration_seconds}s; watermark {_iso(new_run.watermark)}",
            )
        )
    for type_ in WATCHED:
        old, new = before.condition(type_), after.condition(type_)
        if new is None or (
            old is not None and (old.status, old.reason) == (new.status, new.reason)
        ):
            continue
        if old is None and type_ != "Ready" and new.status == "False":
            continue  # nothing wrong to begin with: no news
        good = (new.status == "True") == (type_ == "Ready")
        found.append(Event("Normal" if good else "Warning", new.reason, new.message))
    return found


def _runs(
    previous: FeatureViewStatus, seen: Observed
) -> tuple[MaterializationRun | None, int | None, int]:
    """(lastMaterialization, onlineEntities, shards without a run). Without an answer
    from Redis the last known values stay: an outage does not erase what is served."""
    if seen.online is None:
        return previous.last_materialization, previous.online_entities, 0
    runs = [r for r in seen.online.runs if r is not None]
    missing = len(seen.online.runs) - len(runs)
    if not runs:
        return None, seen.online.online_entities, missing
    return _merged(runs), seen.online.online_entities, missing


def _merged(runs: list[RunSummary]) -> MaterializationRun:
    """Shards of one view as one run: fresh as its oldest shard, the counts summed."""
    watermarks = [r.watermark for r in runs if r.watermark is not None]
    return MaterializationRun(
        time=min(r.time for r in runs),
        rows=sum(r.rows for r in runs),
        entities=sum(r.entities for r in runs),
        duration_seconds=max(r.duration_seconds for r in runs),
        watermark=min(watermarks) if watermarks else None,
    )


def _failure(job: JobRun | None, last: MaterializationRun | None) -> str | None:
    """The latest Job's error, unless a run finished after it failed."""
    if job is None or job.phase != "Failed":
        return None
    if last is not None and last.time and job.finished and last.time > job.finished:
        return None
    return job.message or f"Job {job.name} failed"


def _redis_problem(seen: Observed, failure: str | None) -> tuple[str, str] | None:
    if seen.redis_url is None:
        return "NoRedisUrl", (
            "no Redis to materialize into: set spec.online.redisUrl, or the operator's "
            "--redis-url (chart value redisUrl)"
        )
    if seen.redis_error is not None:
        return "RedisError", seen.redis_error
    if failure is not None and failure.startswith(REDIS_PREFIX):
        return "MaterializationFailed", failure
    return None


def _ready(
    fv: FeatureView,
    seen: Observed,
    *,
    redis_problem: tuple[str, str] | None,
    source_problem: str | None,
    last: MaterializationRun | None,
    missing: int,
) -> tuple[bool, str, str]:
    if redis_problem is not None:
        return False, "RedisUnavailable", redis_problem[1]
    if source_problem is not None:
        return False, "SourceUnavailable", source_problem
    if last is None or missing:
        return False, "NotMaterialized", _waiting(fv, seen.job, missing)
    return (
        True,
        "Materialized",
        (f"{last.entities} entities from {last.rows} rows, last run {_iso(last.time)}"),
    )


def _waiting(fv: FeatureView, job: JobRun | None, missing: int) -> str:
    what = f"{missing} shard(s) have" if missing and missing < _shards(fv) else "nothing has"
    if job is not None and job.phase == "Running":
        return f"{what} been materialized yet; Job {job.name} is running"
    if fv.spec.materialization is None:
        return f"{what} been materialized yet: run `sextant materialize` (no spec.materialization)"
    return f"{what} been materialized yet; next run on {fv.spec.materialization.schedule!r}"


def _shards(fv: FeatureView) -> int:
    return fv.spec.materialization.parallelism if fv.spec.materialization else 1


def _host(url: str | None) -> str:
    return (url or "").rpartition("@")[2] or "?"


def _iso(instant: datetime | None) -> str:
    if instant is None:
        return "none"
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")
