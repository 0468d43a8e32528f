"""FeatureView status from observations: each condition's cases, and the Events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sextant_operator.featureview.jobs import JobRun
from sextant_operator.featureview.online import OnlineState, RunSummary
from sextant_operator.featureview.status import Observed, compute_status, events
from tests.unit.featureview.builders import feature_view

NOW = datetime(2026, 3, 2, 10, 16, tzinfo=UTC)
REDIS = "redis://redis:6379/0"


def run(minutes_ago: float, rows: int = 10, entities: int = 4) -> RunSummary:
    return RunSummary(
        time=NOW - timedelta(minutes=minutes_ago),
        rows=rows,
        entities=entities,
        duration_seconds=1.5,
        watermark=NOW - timedelta(minutes=minutes_ago + 1),
    )


def seen(**changes: object) -> Observed:
    base: dict[str, object] = {
        "redis_url": REDIS,
        "unsupported_source": None,
        "online": OnlineState((run(1),), 4),
        "redis_error": None,
        "job": None,
        "now": NOW,
    }
    return Observed(**{**base, **changes})  # type: ignore[arg-type]


def condition(status: object, type_: str) -> tuple[str, str]:
    found = status.condition(type_)  # type: ignore[attr-defined]
    assert found is not None
    return found.status, found.reason


def test_a_run_on_record_makes_the_view_ready_with_its_figures() -> None:
    status = compute_status(feature_view(), seen())
    assert condition(status, "Ready") == ("True", "Materialized")
    assert condition(status, "RedisUnavailable") == ("False", "RedisReachable")
    assert condition(status, "SourceUnavailable") == ("False", "SourceRead")
    assert status.last_materialization is not None
    assert status.last_materialization.rows == 10
    assert status.online_entities == 4
    assert status.observed_generation == 3


def test_shards_are_summed_and_as_fresh_as_the_oldest() -> None:
    state = OnlineState((run(1, rows=10), run(3, rows=5)), 9)
    status = compute_status(feature_view(parallelism=2), seen(online=state))
    assert status.last_materialization is not None
    assert status.last_materialization.rows == 15
    assert status.last_materialization.time == NOW - timedelta(minutes=3)


def test_a_shard_without_a_run_keeps_the_view_not_ready() -> None:
    state = OnlineState((run(1), None), 4)
    status = compute_status(feature_view(parallelism=2), seen(online=state))
    assert condition(status, "Ready") == ("False", "NotMaterialized")


def test_before_the_first_run_the_view_says_which_job_is_running() -> None:
    job = JobRun("user-features-materialize-initial", "Running", NOW)
    status = compute_status(feature_view(), seen(online=OnlineState((None,), 0), job=job))
    assert condition(status, "Ready") == ("False", "NotMaterialized")
    assert "user-features-materialize-initial" in (status.condition("Ready").message or "")  # type: ignore[union-attr]


def test_redis_down_is_a_condition_and_keeps_the_last_known_figures() -> None:
    before = compute_status(feature_view(), seen())
    view = feature_view(status=before.model_dump(by_alias=True, mode="json"))
    status = compute_status(view, seen(online=None, redis_error="Redis redis:6379: refused"))
    assert condition(status, "RedisUnavailable") == ("True", "RedisError")
    assert condition(status, "Ready") == ("False", "RedisUnavailable")
    assert status.last_materialization == before.last_materialization
    assert status.online_entities == 4
    reasons = [(e.type, e.reason) for e in events(view.status, status)]
    assert ("Warning", "RedisError") in reasons
    assert ("Warning", "RedisUnavailable") in reasons


def test_a_failed_run_that_could_not_read_the_source_says_why() -> None:
    job = JobRun(
        "user-features-materialize-29", "Failed", NOW, NOW,
        "Error: https://data.example/users.parquet: 404 Not Found",
    )  # fmt: skip
    status = compute_status(feature_view(), seen(job=job))
    assert condition(status, "SourceUnavailable") == ("True", "MaterializationFailed")
    assert condition(status, "Ready") == ("False", "SourceUnavailable")
    assert "404" in (status.condition("Ready").message or "")  # type: ignore[union-attr]


def test_a_failed_run_that_could_not_write_to_redis_is_a_redis_problem() -> None:
    job = JobRun("j", "Failed", NOW, NOW, "Error: Redis redis://redis:6379/0: auth failed")
    status = compute_status(feature_view(), seen(job=job))
    assert condition(status, "RedisUnavailable") == ("True", "MaterializationFailed")
    assert condition(status, "SourceUnavailable") == ("False", "SourceRead")


def test_a_failure_older_than_the_last_run_no_longer_counts() -> None:
    job = JobRun("j", "Failed", NOW, NOW - timedelta(minutes=30), "Error: 404")
    status = compute_status(feature_view(), seen(job=job))
    assert condition(status, "Ready") == ("True", "Materialized")


def test_no_redis_url_and_unsupported_sources_are_named_never_ignored() -> None:
    status = compute_status(feature_view(), seen(redis_url=None, online=None))
    assert condition(status, "RedisUnavailable") == ("True", "NoRedisUrl")
    assert "spec.online.redisUrl" in (status.condition("Ready").message or "")  # type: ignore[union-attr]
    s3 = "spec.source.uri s3://b/k: s3:// sources are not read by this version yet"
    status = compute_status(feature_view(), seen(unsupported_source=s3))
    assert condition(status, "SourceUnavailable") == ("True", "UnsupportedSource")


def test_a_new_run_on_record_is_an_event_with_its_figures() -> None:
    before = compute_status(feature_view(), seen())
    view = feature_view(status=before.model_dump(by_alias=True, mode="json"))
    after = compute_status(view, seen(online=OnlineState((run(0, rows=30),), 5)))
    found = events(view.status, after)
    assert [(e.type, e.reason) for e in found] == [("Normal", "Materialized")]
    assert "30 rows" in found[0].message
    assert events(view.status, before) == []  # nothing new: no Event
