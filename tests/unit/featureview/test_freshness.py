"""Is a FeatureView fresh enough to promote on: its cron schedule against its last run."""

from __future__ import annotations

from datetime import UTC, datetime

from sextant_operator.featureview.freshness import stale_reason
from sextant_operator.featureview.schedule import previous_runs
from tests.unit.featureview.builders import feature_view, ready_status

NOW = datetime(2026, 3, 2, 10, 16, 30, tzinfo=UTC)


def test_previous_runs_are_the_ticks_at_or_before_now_newest_first() -> None:
    assert previous_runs("*/15 * * * *", NOW) == [
        datetime(2026, 3, 2, 10, 15, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    ]
    on_tick = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)
    assert previous_runs("*/15 * * * *", on_tick)[0] == on_tick
    assert previous_runs("@daily", NOW) == [
        datetime(2026, 3, 2, tzinfo=UTC),
        datetime(2026, 3, 1, tzinfo=UTC),
    ]


def test_a_view_whose_run_of_the_tick_before_last_finished_is_fresh() -> None:
    # The 10:15 run may still be going; the 10:00 one finished at 10:00:40.
    view = feature_view(status=ready_status(datetime(2026, 3, 2, 10, 0, 40, tzinfo=UTC)))
    assert stale_reason("user-features", view, NOW) is None


def test_a_view_that_missed_two_runs_is_stale_and_the_reason_says_since_when() -> None:
    view = feature_view(status=ready_status(datetime(2026, 3, 2, 9, 45, 40, tzinfo=UTC)))
    reason = stale_reason("user-features", view, NOW)
    assert reason is not None
    assert "stale" in reason
    assert "2026-03-02T09:45:40Z" in reason
    assert "2026-03-02T10:00:00Z" in reason


def test_a_view_that_is_not_ready_holds_promotion_with_its_own_reason() -> None:
    view = feature_view(status=ready_status(NOW, ready=False))
    reason = stale_reason("user-features", view, NOW)
    assert reason is not None
    assert "not Ready" in reason
    assert "SourceUnavailable" in reason


def test_a_missing_or_never_materialized_view_holds_promotion() -> None:
    assert "does not exist" in (stale_reason("user-features", None, NOW) or "")
    never = feature_view(status=ready_status(None))
    assert "not been materialized" in (stale_reason("user-features", never, NOW) or "")
    no_status = feature_view()
    assert "not Ready" in (stale_reason("user-features", no_status, NOW) or "")


def test_a_view_materialized_by_hand_is_fresh_while_ready() -> None:
    view = feature_view(schedule=None, status=ready_status(datetime(2025, 1, 1, tzinfo=UTC)))
    assert stale_reason("user-features", view, NOW) is None
