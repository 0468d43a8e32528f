"""The batch observer fan-out: metrics as before, then one log entry per sampled request,
with that request's rows of the batch's outputs. No Redis: the writer is never started."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from sextant_runtime.batcher import BatchObserver, Outputs, Pending, concatenate
from sextant_runtime.predictionlog import LoggingObserver, LogSettings, PredictionLog
from sextant_runtime.protocol import InferRequest


class Recorder(BatchObserver):
    def __init__(self) -> None:
        self.calls: list[int] = []

    def batch_done(
        self, batch: list[Pending], started: float, inputs: Outputs, outputs: Outputs | None
    ) -> None:
        self.calls.append(len(batch))


def _pending(loop: asyncio.AbstractEventLoop, rows: int, log_id: str | None) -> Pending:
    request = InferRequest({"x": np.arange(rows * 2.0).reshape(rows, 2)}, rows, key=None)
    request.log_id = log_id
    return Pending(request, loop.create_future(), None)


def _log(**settings: object) -> PredictionLog:
    return PredictionLog(LogSettings("redis://unused", **settings), "m", "1", "stable")  # type: ignore[arg-type]


def test_each_request_gets_its_own_rows_of_the_outputs() -> None:
    loop = asyncio.new_event_loop()
    try:
        batch = [_pending(loop, 2, "a"), _pending(loop, 1, None), _pending(loop, 3, "c")]
        recorder, log = Recorder(), _log(sample_rate=1.0)
        inputs, outputs = concatenate(batch), {"y": np.arange(6.0)}
        LoggingObserver(recorder, log).batch_done(batch, 0.0, inputs, outputs)
    finally:
        loop.close()
    assert recorder.calls == [3]
    entries = log.queued()
    assert [entry[0] for entry in entries] == ["a", "c"]
    np.testing.assert_array_equal(entries[0][2]["y"], [0.0, 1.0])
    np.testing.assert_array_equal(entries[1][2]["y"], [3.0, 4.0, 5.0])
    np.testing.assert_array_equal(entries[1][1]["x"], batch[2].request.inputs["x"])


def test_a_failed_batch_is_not_logged() -> None:
    loop = asyncio.new_event_loop()
    try:
        log = _log(sample_rate=1.0)
        pending = _pending(loop, 1, "a")
        LoggingObserver(Recorder(), log).batch_done([pending], 0.0, pending.request.inputs, None)
    finally:
        loop.close()
    assert log.queued() == []


def test_a_full_buffer_drops_and_counts() -> None:
    log = _log(sample_rate=1.0, buffer_size=3)
    taken = [log.offer(str(i), {}, {}) for i in range(5)]
    assert taken == [True, True, True, False, False]
    assert log.dropped["buffer_full"] == 2
    assert 'reason="buffer_full"} 2' in "\n".join(log.render('model="m"'))


def test_request_ids_are_unique() -> None:
    log = _log(sample_rate=1.0)
    assert len({log.next_id() for _ in range(1000)}) == 1000


def test_only_a_sampled_request_gets_an_id() -> None:
    assert _log(sample_rate=0.0).next_id() is None
    ids = [_log(sample_rate=0.1).next_id() for _ in range(2000)]
    assert 100 < sum(request_id is not None for request_id in ids) < 320


def test_a_batch_past_the_buffer_bound_is_cut_and_the_rest_counted() -> None:
    loop = asyncio.new_event_loop()
    try:
        log = _log(sample_rate=1.0, buffer_size=2)
        batch = [_pending(loop, 1, "a"), _pending(loop, 2, "b"), _pending(loop, 1, "c")]
        outputs = {"y": np.arange(4.0), "z": np.arange(8.0).reshape(4, 2)}
        LoggingObserver(Recorder(), log).batch_done(batch, 0.0, concatenate(batch), outputs)
    finally:
        loop.close()
    entries = log.queued()
    assert [entry[0] for entry in entries] == ["a", "b"]
    np.testing.assert_array_equal(entries[1][2]["z"], [[2.0, 3.0], [4.0, 5.0]])
    assert log.dropped["buffer_full"] == 1


def test_a_lone_request_logs_its_own_tensors_whatever_their_rows() -> None:
    """A model that never batches counts one row a request; its tensors are logged whole."""
    loop = asyncio.new_event_loop()
    try:
        log = _log(sample_rate=1.0)
        pending = _pending(loop, 3, "a")
        pending.request.rows = 1
        outputs = {"y": np.arange(3.0)}
        LoggingObserver(Recorder(), log).batch_done([pending], 0.0, pending.request.inputs, outputs)
    finally:
        loop.close()
    [(request_id, inputs, logged)] = log.queued()
    assert request_id == "a"
    assert inputs["x"].shape == (3, 2)
    np.testing.assert_array_equal(logged["y"], [0.0, 1.0, 2.0])


def test_a_batch_whose_every_request_is_logged_is_queued_as_its_rows() -> None:
    loop = asyncio.new_event_loop()
    try:
        log = _log(sample_rate=1.0)
        batch = [_pending(loop, 2, "a"), _pending(loop, 2, "b"), _pending(loop, 2, "c")]
        inputs, outputs = concatenate(batch), {"y": np.arange(6.0)}
        LoggingObserver(Recorder(), log).batch_done(batch, 0.0, inputs, outputs)
    finally:
        loop.close()
    [record] = list(log._buffer)
    assert record[4] is None  # no row offsets: the batch's tensors are the entries' rows
    entries = log.queued()
    assert [entry[0] for entry in entries] == ["a", "b", "c"]
    np.testing.assert_array_equal(entries[1][1]["x"], batch[1].request.inputs["x"])
    np.testing.assert_array_equal(entries[2][2]["y"], [4.0, 5.0])


def test_a_namespace_scopes_the_models_redis_keys() -> None:
    from sextant_runtime.config import ServeConfig  # noqa: PLC0415

    alone = ServeConfig(source="m.onnx", name="fraud")
    scoped = ServeConfig(source="m.onnx", name="fraud", namespace="prod")
    assert (alone.redis_scope, scoped.redis_scope) == ("fraud", "prod/fraud")
    log = PredictionLog(LogSettings("redis://unused"), "fraud", "1", "stable", scope="prod/fraud")
    assert (log.key, log.ids_key) == (
        "sextant:predictions:prod/fraud",
        "sextant:prediction-ids:prod/fraud",
    )
    for bad in ("", "a/b"):
        with pytest.raises(ValueError, match="namespace must be non-empty"):
            ServeConfig(source="m.onnx", name="fraud", namespace=bad)
