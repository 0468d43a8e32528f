"""The prediction log on a real Redis: sampled, bounded, never blocking, and read back as
the window `sextant drift check` tests."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import redis
from click.testing import CliRunner

from sextant.cli import main
from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from sextant_runtime.logentries import decode
from sextant_runtime.predictionlog import (
    LogSettings,
    PredictionLog,
    ids_key,
    output_names,
    read_window,
    stream_key,
)
from tests.polling import wait_for


def _log(url: str, model: str, **settings: object) -> PredictionLog:
    log = PredictionLog(LogSettings(url, **settings), model, "7", "canary")  # type: ignore[arg-type]
    log.start()
    return log


def _model() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"


def test_entries_carry_request_id_model_version_track_inputs_and_outputs(
    redis_server: LocalRedis,
) -> None:
    model = _model()
    log = _log(redis_server.url, model, sample_rate=1.0)
    inputs = {"x": np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)}
    outputs = {"p": np.array([0.25, 0.75])}
    assert log.offer("req-1", inputs, outputs)
    log.close()
    client = redis.Redis.from_url(redis_server.url)
    [(_, fields)] = client.xrange(stream_key(model))
    assert fields[b"id"] == b"req-1"
    assert (fields[b"model"], fields[b"version"], fields[b"track"]) == (model.encode(), b"7",
                                                                      b"canary")  # fmt: skip
    [x] = decode(fields, "inputs").values()
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x, [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(decode(fields, "outputs")["p"], [0.25, 0.75])
    assert json.loads(fields[b"layout"])["inputs"] == [["x", "<f4", [2, 2]]]
    assert log.written == 1
    assert client.zscore(ids_key(model), "req-1:2") is not None  # ID:ROWS


def test_string_tensors_and_odd_layouts_round_trip(redis_server: LocalRedis) -> None:
    model = _model()
    log = _log(redis_server.url, model, sample_rate=1.0)
    names = np.array([[b"ann"], [b"bo"]], dtype=object)
    strided = np.arange(12.0).reshape(3, 4)[:, ::2]  # not contiguous
    assert log.offer("r", {"name": names, "v": strided}, {"y": np.array([1, 2], np.int64)})
    log.close()
    [(_, fields)] = redis.Redis.from_url(redis_server.url).xrange(stream_key(model))
    inputs = decode(fields, "inputs")
    assert inputs["name"].tolist() == [["ann"], ["bo"]]
    np.testing.assert_array_equal(inputs["v"], strided)
    assert decode(fields, "outputs")["y"].dtype == np.int64


def test_the_id_index_keeps_exactly_max_length_newest_ids(redis_server: LocalRedis) -> None:
    model = _model()
    log = _log(redis_server.url, model, sample_rate=1.0, max_length=50, batch_size=16)
    for i in range(500):
        log.offer(f"r{i}", {"x": np.zeros((1, 1))}, {"y": np.zeros(1)})
    log.close(timeout=30)
    ids = redis.Redis.from_url(redis_server.url).zrange(ids_key(model), 0, -1)
    assert len(ids) == 50
    assert ids[-1] == b"r499:1"


def test_the_stream_is_trimmed_near_max_length(redis_server: LocalRedis) -> None:
    model = _model()
    log = _log(redis_server.url, model, sample_rate=1.0, max_length=100)
    for i in range(3000):
        log.offer(str(i), {"x": np.array([[float(i)]])}, {"y": np.array([1.0])})
    log.close(timeout=30)
    length = redis.Redis.from_url(redis_server.url).xlen(stream_key(model))
    assert log.written == 3000
    assert 100 <= length < 400  # MAXLEN ~ trims whole stream nodes


def test_sampling_keeps_about_the_sample_rate(redis_server: LocalRedis) -> None:
    log = _log(redis_server.url, _model(), sample_rate=0.1)
    taken = sum(log.offer(str(i), {}, {}) for i in range(5000))
    log.close()
    assert 350 < taken < 650
    assert not _log(redis_server.url, _model(), sample_rate=0.0).offer("x", {}, {})


def test_when_redis_is_down_entries_are_dropped_and_counted_without_blocking() -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    log = _log(url, _model(), sample_rate=1.0, buffer_size=100, backoff_s=0.2)
    start = time.perf_counter()
    for i in range(10_000):
        log.offer(str(i), {"x": np.zeros((1, 4))}, {"y": np.zeros(1)})
    offered_in = time.perf_counter() - start
    wait_for(lambda: log.dropped["redis_error"] > 0, timeout=10, what="a failed write")
    log.close(timeout=5)
    assert offered_in < 1.0  # 10k offers: no waiting on Redis
    assert log.dropped["buffer_full"] > 9000
    assert log.written == 0


def test_read_window_flattens_tensors_into_columns(redis_server: LocalRedis) -> None:
    model = _model()
    log = _log(redis_server.url, model, sample_rate=1.0)
    for i in range(30):  # 30 requests of 2 rows
        x = np.array([[i, 10 * i, 100 * i], [i + 0.5, 0, 0]], dtype=np.float64)
        log.offer(f"r{i}", {"x": x, "flag": np.array([1, 0])}, {"p": np.array([[0.1], [0.9]])})
    log.close()
    table = read_window(redis_server.url, stream_key(model), 11)
    assert table.num_rows == 11
    assert {"x_0", "x_1", "x_2", "flag", "p", "_id", "_version", "_track"} <= set(
        table.column_names
    )
    assert table.column("x_0").to_pylist()[-2:] == [29.0, 29.5]  # the newest rows, in order
    assert table.column("_id").to_pylist()[-1] == "r29"


def test_drift_check_reads_the_window_from_the_log(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    model = _model()
    reference = tmp_path / "ref.parquet"
    pq.write_table(
        pa.table({"x_0": rng.normal(0, 1, 500), "x_1": rng.normal(0, 1, 500)}), reference
    )
    log = _log(redis_server.url, model, sample_rate=1.0)
    for _ in range(100):  # the first input shifts, the second does not
        log.offer("r", {"x": np.column_stack([rng.normal(1.5, 1, 4), rng.normal(0, 1, 4)])}, {})
    log.close()
    args = ["drift", "check", "-r", str(reference), "--redis-url", redis_server.url,
            "--model", model, "--window", "300"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["sampleSize"] == 300
    verdicts = {f["name"]: f["drifted"] for f in payload["features"]}
    assert verdicts["x_0"] is True


def test_drift_check_of_an_empty_log_is_an_io_error(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    reference = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"x": [1.0, 2.0]}), reference)
    args = ["drift", "check", "-r", str(reference), "--redis-url", redis_server.url,
            "--model", _model()]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "is empty" in result.output


def test_a_batch_of_alike_requests_and_one_of_mixed_requests_read_back_the_same(
    redis_server: LocalRedis,
) -> None:
    model = _model()
    log = _log(redis_server.url, model, sample_rate=1.0)
    rng = np.random.default_rng(4)
    alike = rng.random((6, 3)).astype(np.float32)
    scores = rng.random((6, 2))
    # Five one-row requests of one batch (packed as one byte matrix), rows 0-4 of 6.
    log.enqueue_batch([f"a{i}" for i in range(5)], {"x": alike}, {"p": scores}, [0, 1, 2, 3, 4],
                      [1, 2, 3, 4, 5])  # fmt: skip
    # Mixed rows and ids of different lengths: packed one by one; and a lone request with
    # its own tensors of another dtype.
    mixed = rng.random((3, 3)).astype(np.float32)
    log.enqueue_batch(["m-long-id", "m"], {"x": mixed}, {"p": scores[:3]}, [0, 2], [2, 3])
    lone = rng.random((1, 3))
    log.enqueue("lone", {"x": lone}, {"p": scores[5:]})
    log.close()
    client = redis.Redis.from_url(redis_server.url)
    entries = {fields[b"id"].decode(): fields for _, fields in client.xrange(stream_key(model))}
    assert set(entries) == {"a0", "a1", "a2", "a3", "a4", "m-long-id", "m", "lone"}
    for i in range(5):
        np.testing.assert_array_equal(decode(entries[f"a{i}"], "inputs")["x"], alike[i : i + 1])
        np.testing.assert_array_equal(decode(entries[f"a{i}"], "outputs")["p"], scores[i : i + 1])
    np.testing.assert_array_equal(decode(entries["m-long-id"], "inputs")["x"], mixed[0:2])
    np.testing.assert_array_equal(decode(entries["m-long-id"], "outputs")["p"], scores[0:2])
    np.testing.assert_array_equal(decode(entries["m"], "inputs")["x"], mixed[2:3])
    np.testing.assert_array_equal(decode(entries["m"], "outputs")["p"], scores[2:3])
    np.testing.assert_array_equal(decode(entries["lone"], "inputs")["x"], lone)
    assert decode(entries["lone"], "inputs")["x"].dtype == np.float64
    ids = {i.decode() for i in client.zrange(ids_key(model), 0, -1)}
    assert ids == {"a0:1", "a1:1", "a2:1", "a3:1", "a4:1", "m-long-id:2", "m:1", "lone:1"}
    assert log.written == 8
    table = read_window(redis_server.url, stream_key(model), 100)
    assert table.num_rows == 9
    assert output_names(table) == ["p"]


def test_alike_batches_packed_together_read_back_entry_by_entry(redis_server: LocalRedis) -> None:
    model = _model()
    log = _log(redis_server.url, model, sample_rate=1.0)
    rng = np.random.default_rng(6)
    sent: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for batch in range(3):  # three inference batches, every request one row
        scores = rng.random((8, 2)).astype(np.float32)
        ids = [f"b{batch}r{i}" for i in range(0, 8, 2)]  # every other request sampled
        x = rng.random((8, 3)).astype(np.float32)
        starts = list(range(0, 8, 2))
        log.enqueue_batch(ids, {"x": x}, {"p": scores}, starts, [s + 1 for s in starts])
        for request_id, start in zip(ids, starts, strict=True):
            sent[request_id] = (x[start : start + 1], scores[start : start + 1])
    log.close()
    client = redis.Redis.from_url(redis_server.url)
    got = {fields[b"id"].decode(): fields for _, fields in client.xrange(stream_key(model))}
    assert list(got) == list(sent)  # in order
    for request_id, (x, p) in sent.items():
        np.testing.assert_array_equal(decode(got[request_id], "inputs")["x"], x)
        np.testing.assert_array_equal(decode(got[request_id], "outputs")["p"], p)
    assert client.zcard(ids_key(model)) == 12
