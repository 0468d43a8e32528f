"""What the operator reads back from Redis after a real `sextant materialize` run."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from sextant_operator.featureview import online
from tests.integration.featureview.data import NAME, NOW, materialized, write_users


def test_the_run_summary_and_live_entity_count_come_back_as_written(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    summary = materialized(redis_server.url, namespace, write_users(tmp_path / "u.parquet"))
    state = online.read_state(
        redis_server.url, None, namespace=namespace, name=NAME, shards=1, now=datetime.now(UTC)
    )
    [run] = state.runs
    assert run is not None
    assert (run.rows, run.entities) == (summary.rows, summary.entities) == (3, 2)
    assert run.watermark == summary.watermark
    assert state.online_entities == 2  # c was never written: older than the ttl


def test_entities_leave_the_count_when_their_values_expire(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    namespace = f"t{uuid.uuid4().hex[:8]}"
    materialized(redis_server.url, namespace, write_users(tmp_path / "u.parquet"))
    # a's latest value is 10 minutes older than the table's clock and b's 5: 23h52m after
    # that clock only b is left. (Not after now: the table was written at collection.)
    later = NOW + timedelta(hours=23, minutes=52)
    state = online.read_state(
        redis_server.url, None, namespace=namespace, name=NAME, shards=1, now=later
    )
    assert state.online_entities == 1


def test_an_unreachable_redis_is_an_error_naming_it_without_the_password() -> None:
    url = f"redis://:secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(online.RedisUnavailable) as err:
        online.read_state(url, None, namespace="n", name=NAME, shards=1, now=datetime.now(UTC))
    assert "127.0.0.1" in str(err.value)
    assert "secret" not in str(err.value)
