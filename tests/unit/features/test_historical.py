"""Point-in-time historical retrieval: Feast's SQL offline stores' semantics on small frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from sextant_runtime.features import (
    Column,
    SourceError,
    View,
    ViewError,
    get_historical_features,
)

TS = pa.timestamp("us")


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 5, 1, hour, minute, second)


def _users(tmp_path: Path, rows: dict[str, list[Any]], **view: Any) -> View:
    path = tmp_path / f"{view.get('name', 'users')}.parquet"
    columns = {k: pa.array(v, TS) if k in ("event_timestamp", "created") else v
               for k, v in rows.items()}  # fmt: skip
    pq.write_table(pa.table(columns), path)
    options: dict[str, Any] = {"created_timestamp_field": "created" if "created" in rows else None}
    options.update(view)
    return View(
        name=options.pop("name", "users"),
        entities=(Column("user_id", "string"),),
        features=(Column("age", "int64"),),
        source_uri=str(path),
        **options,
    )


def _entities(user_ids: list[str | None], times: list[datetime | None]) -> pa.Table:
    return pa.table({"user_id": user_ids, "event_timestamp": pa.array(times, TS)})


def _ages(entity_df: pa.Table, views: list[View], **options: Any) -> list[Any]:
    return get_historical_features(entity_df, views, **options)["age"].to_pylist()


def test_value_is_the_latest_row_at_or_before_the_entity_time(tmp_path: Path) -> None:
    rows = {
        "user_id": ["a", "a", "a"],
        "event_timestamp": [at(8), at(9), at(10)],
        "age": [8, 9, 10],
    }
    view = _users(tmp_path, rows)
    entities = _entities(["a", "a", "a"], [at(9), at(9, 30), at(12)])
    assert _ages(entities, [view]) == [9, 9, 10]


def test_rows_after_the_entity_time_never_leak(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a", "a"],
                             "event_timestamp": [at(10), at(10, 0, 1)], "age": [1, 2]})  # fmt: skip
    entities = _entities(["a", "a"], [at(9, 59, 59), at(10)])
    assert _ages(entities, [view]) == [None, 1]


def test_ties_on_event_time_go_to_the_latest_created_row(tmp_path: Path) -> None:
    view = _users(tmp_path, {
        "user_id": ["a", "a", "a", "b", "b"],
        "event_timestamp": [at(9), at(9), at(9), at(9), at(9)],
        "created": [at(9, 5), at(9, 30), at(9, 10), None, at(9, 1)],
        "age": [1, 2, 3, 4, 5],
    })  # fmt: skip
    entities = _entities(["a", "b"], [at(10), at(10)])
    assert _ages(entities, [view]) == [2, 5]


def test_created_time_does_not_beat_a_later_event_time(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a", "a"], "event_timestamp": [at(8), at(9)],
                             "created": [at(23), at(9)], "age": [8, 9]})  # fmt: skip
    assert _ages(_entities(["a"], [at(10)]), [view]) == [9]


def test_ttl_bounds_are_inclusive(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(9)], "age": [9]},
                  ttl=timedelta(hours=1))  # fmt: skip
    entities = _entities(["a", "a", "a", "a"], [at(8, 59, 59), at(9), at(10), at(10, 0, 1)])
    assert _ages(entities, [view]) == [None, 9, 9, None]


def test_an_expired_latest_row_does_not_fall_back_to_an_older_one(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a", "a"], "event_timestamp": [at(1), at(8)],
                             "age": [1, 8]}, ttl=timedelta(hours=1))  # fmt: skip
    assert _ages(_entities(["a"], [at(10)]), [view]) == [None]


def test_ttl_zero_means_no_bound(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(0)], "age": [7]},
                  ttl=timedelta(0))  # fmt: skip
    assert view.ttl is None
    entities = _entities(["a"], [datetime(2030, 1, 1)])
    assert _ages(entities, [view]) == [7]


def test_no_match_gives_nulls_and_keeps_every_entity_row_in_order(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(9)], "age": [9]})
    entities = _entities(["zz", "a", None, "a", "zz"], [at(10), at(10), at(10), None, at(10)])
    entities = entities.append_column("label", pa.array([1, 2, 3, 4, 5]))
    result = get_historical_features(entities, [view])
    assert result.column_names == ["user_id", "event_timestamp", "label", "age"]
    assert result["label"].to_pylist() == [1, 2, 3, 4, 5]
    assert result["age"].to_pylist() == [None, 9, None, None, None]
    assert result.column("event_timestamp").equals(entities.column("event_timestamp"))


def test_duplicate_entity_rows_each_get_their_value(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(9)], "age": [9]})
    assert _ages(_entities(["a"] * 3, [at(10)] * 3), [view]) == [9, 9, 9]


def test_timezones_are_compared_as_instants(tmp_path: Path) -> None:
    path = tmp_path / "users.parquet"
    pq.write_table(pa.table({
        "user_id": ["a"], "age": [9],
        # 11:00 in Paris (summer) is 09:00 UTC.
        "event_timestamp": pa.array([datetime(2024, 5, 1, 9, tzinfo=UTC)],
                                    pa.timestamp("us", tz="Europe/Paris")),
    }), path)  # fmt: skip
    view = View("users", (Column("user_id", "string"),), (Column("age", "int64"),), str(path))
    naive_utc = _entities(["a", "a"], [at(8, 59), at(9)])
    assert _ages(naive_utc, [view]) == [None, 9]


def test_several_views_with_different_entities(tmp_path: Path) -> None:
    users = _users(tmp_path, {"user_id": ["a", "b"], "event_timestamp": [at(9), at(9)],
                              "age": [30, 40]})  # fmt: skip
    merchants_path = tmp_path / "merchants.csv"
    pacsv.write_csv(pa.table({
        "merchant_id": [7, 7, 8],
        "event_timestamp": pa.array([at(8), at(11), at(8)], TS),
        "risk": [0.1, 0.9, 0.5],
    }), merchants_path)  # fmt: skip
    merchants = View("merchants", (Column("merchant_id", "int64"),),
                     (Column("risk", "float32"),), f"file://{merchants_path}")  # fmt: skip
    entities = pa.table({
        "user_id": ["a", "b", "a"],
        "merchant_id": [7, 8, 7],
        "event_timestamp": pa.array([at(10), at(10), at(12)], TS),
    })  # fmt: skip
    result = get_historical_features(entities, [users, merchants])
    assert result["age"].to_pylist() == [30, 40, 30]
    assert result["risk"].type == pa.float32()
    assert result["risk"].to_pylist() == pytest.approx([0.1, 0.5, 0.9])


def test_full_feature_names_prefix_the_view_name(tmp_path: Path) -> None:
    users = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(9)], "age": [30]})
    older = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(9)], "age": [31]},
                   name="users_v1")  # fmt: skip
    entities = _entities(["a"], [at(10)])
    with pytest.raises(ViewError, match="full feature names"):
        get_historical_features(entities, [users, older])
    result = get_historical_features(entities, [users, older], full_feature_names=True)
    assert result.column_names[-2:] == ["users__age", "users_v1__age"]
    assert result["users__age"].to_pylist() == [30]
    assert result["users_v1__age"].to_pylist() == [31]


def test_a_source_without_a_declared_column_is_a_clear_error(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(9)], "years": [9]})
    with pytest.raises(SourceError, match="has no column age"):
        get_historical_features(_entities(["a"], [at(10)]), [view])


def test_an_entity_frame_without_the_key_is_a_clear_error(tmp_path: Path) -> None:
    view = _users(tmp_path, {"user_id": ["a"], "event_timestamp": [at(9)], "age": [9]})
    entities = pa.table({"customer": ["a"], "event_timestamp": pa.array([at(10)], TS)})
    with pytest.raises(ViewError, match="no column user_id"):
        get_historical_features(entities, [view])


def test_a_pvc_source_outside_the_operators_jobs_is_refused() -> None:
    uri = "pvc://data/users.parquet"  # the operator's jobs are given the mounted path
    view = View("users", (Column("user_id", "string"),), (Column("age", "int64"),), uri)
    with pytest.raises(SourceError, match="mounted by the operator"):
        get_historical_features(_entities(["a"], [at(10)]), [view])
