"""The dynamic batcher: batches close on size or delay, split back exactly, fail alone."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sextant_runtime.batcher import Batcher
from sextant_runtime.errors import BackendFailed, DeadlineExceeded, QueueFull
from sextant_runtime.protocol import InferRequest
from tests.unit.runtime.backends import Doubler

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def request(rows: int, inner: int = 3, base: float = 0.0) -> InferRequest:
    x = (base + np.arange(rows * inner, dtype=np.float32)).reshape(rows, inner)
    return InferRequest({"x": x}, rows, (inner,))


async def serve_all(
    backend: Doubler, requests: list[InferRequest], **options: Any
) -> list[dict[str, np.ndarray]]:
    batcher = Batcher(backend, asyncio.get_running_loop(), **options)
    batcher.start()
    try:
        futures = [batcher.submit(r) for r in requests]
        return list(await asyncio.gather(*futures))
    finally:
        batcher.stop()


@settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(
    rows=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=40),
    inners=st.lists(st.sampled_from([2, 3]), min_size=40, max_size=40),
    max_batch_size=st.integers(min_value=1, max_value=16),
    max_delay_ms=st.sampled_from([0.0, 1.0, 3.0]),
)
def test_any_mix_of_requests_comes_back_split_correctly_in_order(
    rows: list[int], inners: list[int], max_batch_size: int, max_delay_ms: float
) -> None:
    backend = Doubler()
    requests = [
        request(n, inner, base=1000.0 * i)
        for i, (n, inner) in enumerate(zip(rows, inners, strict=False))
    ]

    results = run(
        serve_all(backend, requests, max_batch_size=max_batch_size, max_delay_ms=max_delay_ms)
    )

    for req, result in zip(requests, results, strict=True):
        np.testing.assert_array_equal(result["y"], req.inputs["x"] * 2)
    # Every request's rows went through the backend exactly once, in arrival order per shape.
    for inner in (2, 3):
        ran = [b for b in backend.batches if b.shape[1] == inner]
        sent = [r.inputs["x"] for r in requests if r.key == (inner,)]
        if sent:
            np.testing.assert_array_equal(np.concatenate(ran), np.concatenate(sent))
    for batch in backend.batches:
        single = any(
            batch.shape[0] == r.rows and np.array_equal(batch, r.inputs["x"]) for r in requests
        )
        assert batch.shape[0] <= max_batch_size or single


def test_requests_with_different_inner_shapes_never_share_a_batch() -> None:
    backend = Doubler()
    requests = [request(1, inner=2 + i % 2, base=i) for i in range(20)]
    run(serve_all(backend, requests, max_batch_size=32, max_delay_ms=20))
    assert len(backend.batches) == 2
    assert sorted(b.shape for b in backend.batches) == [(10, 2), (10, 3)]


def test_a_batch_closes_when_it_is_full_without_waiting_for_the_delay() -> None:
    backend = Doubler()

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await serve_all(
            backend, [request(1) for _ in range(8)], max_batch_size=8, max_delay_ms=10_000
        )
        return loop.time() - started

    assert run(scenario()) < 5  # far below the 10 s delay
    assert [b.shape[0] for b in backend.batches] == [8]


def test_a_batch_closes_after_the_delay_when_not_full() -> None:
    backend = Doubler()

    async def scenario() -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await serve_all(
            backend, [request(1) for _ in range(3)], max_batch_size=32, max_delay_ms=200
        )
        return loop.time() - started

    assert run(scenario()) >= 0.19
    assert [b.shape[0] for b in backend.batches] == [3]


def test_requests_bigger_than_the_batch_run_alone_and_whole() -> None:
    backend = Doubler()
    run(serve_all(backend, [request(1), request(40), request(1)], max_batch_size=8, max_delay_ms=0))
    assert 40 in [b.shape[0] for b in backend.batches]
    assert sum(b.shape[0] for b in backend.batches) == 42


def test_max_batch_size_one_runs_each_request_alone() -> None:
    backend = Doubler()
    run(
        serve_all(
            backend, [request(1, base=i) for i in range(10)], max_batch_size=1, max_delay_ms=50
        )
    )
    assert [b.shape[0] for b in backend.batches] == [1] * 10


def test_the_next_batch_gathers_while_one_runs() -> None:
    backend = Doubler(delay=0.2)

    async def scenario() -> None:
        batcher = Batcher(backend, asyncio.get_running_loop(), max_batch_size=32, max_delay_ms=0)
        batcher.start()
        first = batcher.submit(request(1))
        await asyncio.sleep(0.05)  # the first batch is running now
        rest = [batcher.submit(request(1)) for _ in range(5)]
        await asyncio.gather(first, *rest)
        batcher.stop()

    run(scenario())
    assert [b.shape[0] for b in backend.batches] == [1, 5]


def test_a_full_queue_refuses_at_once() -> None:
    backend = Doubler()
    backend.gate.clear()  # the backend holds the first batch

    async def scenario() -> None:
        batcher = Batcher(backend, asyncio.get_running_loop(), max_batch_size=1, max_queue_size=3)
        batcher.start()
        running = batcher.submit(request(1))
        await asyncio.sleep(0.05)
        queued = [batcher.submit(request(1)) for _ in range(3)]
        with pytest.raises(QueueFull, match="queue is full"):
            batcher.submit(request(1))
        backend.gate.set()
        await asyncio.gather(running, *queued)
        batcher.stop()

    run(scenario())
    assert len(backend.batches) == 4


def test_a_request_whose_deadline_passes_in_the_queue_gets_504_and_no_inference() -> None:
    backend = Doubler()
    backend.gate.clear()

    async def scenario() -> None:
        batcher = Batcher(backend, asyncio.get_running_loop(), max_batch_size=1)
        batcher.start()
        running = batcher.submit(request(1, base=1))
        await asyncio.sleep(0.05)
        late = batcher.submit(request(1, base=2), timeout=0.05)
        with pytest.raises(DeadlineExceeded, match="no inference ran"):
            await late
        backend.gate.set()
        await running
        batcher.stop()

    run(scenario())
    assert [float(b[0, 0]) for b in backend.batches] == [1.0]


def test_a_backend_exception_fails_only_the_requests_of_that_batch() -> None:
    backend = Doubler()
    backend.fail_when_first_value = 500.0

    async def scenario() -> list[Any]:
        batcher = Batcher(backend, asyncio.get_running_loop(), max_batch_size=2, max_delay_ms=50)
        batcher.start()
        futures = [batcher.submit(request(1, base=b)) for b in (500.0, 1.0, 2.0, 3.0)]
        results = await asyncio.gather(*futures, return_exceptions=True)
        batcher.stop()
        return results

    results = run(scenario())
    assert isinstance(results[0], BackendFailed)
    assert isinstance(results[1], BackendFailed)
    assert "RuntimeError: the model refused this batch" in str(results[0])
    for result, base in zip(results[2:], (2.0, 3.0), strict=True):
        np.testing.assert_array_equal(result["y"], request(1, base=base).inputs["x"] * 2)


def test_an_output_that_does_not_split_fails_the_batch_with_a_reason() -> None:
    class Summing(Doubler):
        def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            return {"y": inputs["x"].sum(keepdims=True)}

    async def scenario() -> list[Any]:
        batcher = Batcher(Summing(), asyncio.get_running_loop(), max_batch_size=8, max_delay_ms=50)
        batcher.start()
        futures = [batcher.submit(request(1)), batcher.submit(request(1))]
        results = await asyncio.gather(*futures, return_exceptions=True)
        batcher.stop()
        return results

    results = run(scenario())
    assert all(isinstance(r, BackendFailed) for r in results)
    assert "does not split into a batch of 2 rows" in str(results[0])


def test_stop_finishes_what_is_queued_first() -> None:
    backend = Doubler()

    async def scenario() -> list[dict[str, np.ndarray]]:
        batcher = Batcher(
            backend, asyncio.get_running_loop(), max_batch_size=4, max_delay_ms=10_000
        )
        batcher.start()
        futures = [batcher.submit(request(1, base=i)) for i in range(3)]
        await asyncio.sleep(0.02)
        await asyncio.get_running_loop().run_in_executor(None, batcher.stop)
        return list(await asyncio.gather(*futures))

    results = run(scenario())
    assert len(results) == 3
