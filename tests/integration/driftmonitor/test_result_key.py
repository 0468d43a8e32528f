"""How a DriftMonitor's job reports: `sextant drift check --result-key` stores the JSON in
the real Redis, where the operator reads it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import redis
from click.testing import CliRunner

from sextant.cli import main
from sextant.devenv.redis import LocalRedis
from sextant_runtime.predictionlog import LogSettings, PredictionLog


def test_drift_check_stores_its_result_under_the_key_with_an_expiry(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    rng = np.random.default_rng(5)
    model, key = f"m-{uuid.uuid4().hex[:8]}", f"sextant:drift:test/{uuid.uuid4().hex[:8]}"
    reference = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"x": rng.normal(0, 1, 500)}), reference)
    log = PredictionLog(LogSettings(redis_server.url, sample_rate=1.0), model, "1", "stable")
    log.start()
    for _ in range(50):
        log.offer("r", {"x": rng.normal(3, 1, (4, 1))}, {})
    log.close()
    args = ["drift", "check", "-r", str(reference), "--redis-url", redis_server.url,
            "--model", model, "--window", "200", "--result-key", key]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    client = redis.Redis.from_url(redis_server.url)
    stored = json.loads(client.get(key) or b"{}")
    assert stored == json.loads(result.stdout)
    assert stored["datasetDrift"] is True, json.dumps(stored)
    assert 0 < client.ttl(key) <= 7 * 24 * 3600


def test_result_key_without_redis_is_a_usage_error(tmp_path: Path) -> None:
    reference = tmp_path / "ref.csv"
    reference.write_text("x\n1\n2\n")
    args = ["drift", "check", "-r", str(reference), "-c", str(reference), "--result-key", "k"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert "--result-key needs --redis-url" in result.output
