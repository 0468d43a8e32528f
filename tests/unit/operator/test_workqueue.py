"""The work queue's contract: merge, one worker per key, delayed wake-ups, per-key backoff."""

from __future__ import annotations

import threading
import time

import pytest

from sextant_operator.workqueue import WorkQueue


@pytest.fixture
def queue() -> WorkQueue[str]:
    q: WorkQueue[str] = WorkQueue(base_backoff=0.05, max_backoff=0.2)
    yield q
    q.shutdown()


def test_triggers_before_a_worker_takes_the_key_merge_into_one(queue: WorkQueue[str]) -> None:
    for _ in range(50):
        queue.add("ns/a")
    queue.add("ns/a", resolve=True)
    queue.add("ns/b")
    assert len(queue) == 2
    assert queue.get(timeout=1) == ("ns/a", True)  # the resolve flag merged by OR
    assert queue.get(timeout=1) == ("ns/b", False)
    assert queue.get(timeout=0.05) is None


def test_a_key_being_processed_is_not_handed_to_a_second_worker(queue: WorkQueue[str]) -> None:
    queue.add("ns/a")
    assert queue.get(timeout=1) == ("ns/a", False)
    queue.add("ns/a", resolve=True)  # a trigger while a worker holds it
    assert queue.get(timeout=0.1) is None  # not given out twice at once
    queue.done("ns/a")
    assert queue.get(timeout=1) == ("ns/a", True)  # but never lost


def test_add_after_wakes_the_key_later_and_the_earliest_wake_up_wins(
    queue: WorkQueue[str],
) -> None:
    start = time.monotonic()
    queue.add_after("ns/a", 5.0, resolve=True)
    queue.add_after("ns/a", 0.2)
    item = queue.get(timeout=3)
    waited = time.monotonic() - start
    assert item == ("ns/a", True)  # the later wake-up's flag is kept on the earlier one
    assert 0.2 <= waited < 3
    queue.done("ns/a")
    assert queue.waiting() == 0
    assert queue.get(timeout=0.3) is None  # the 5 s wake-up merged, it does not fire again


def test_backoff_doubles_per_key_and_forget_resets_it(queue: WorkQueue[str]) -> None:
    assert [queue.add_backoff("ns/a") for _ in range(4)] == [0.05, 0.1, 0.2, 0.2]
    assert queue.add_backoff("ns/b") == 0.05  # another key has its own count
    queue.forget("ns/a")
    assert queue.add_backoff("ns/a") == 0.05


def test_drop_forgets_a_deleted_object(queue: WorkQueue[str]) -> None:
    queue.add("ns/a")
    queue.add_after("ns/b", 0.1)
    queue.drop("ns/a")
    queue.drop("ns/b")
    assert queue.get(timeout=0.4) is None


def test_workers_drain_a_burst_with_each_key_once_at_a_time(queue: WorkQueue[str]) -> None:
    running: set[str] = set()
    overlaps: list[str] = []
    processed: list[str] = []
    guard = threading.Lock()

    def worker() -> None:
        while (item := queue.get(timeout=0.5)) is not None:
            key = item[0]
            with guard:
                if key in running:
                    overlaps.append(key)
                running.add(key)
            time.sleep(0.01)
            with guard:
                running.discard(key)
                processed.append(key)
            queue.done(key)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for round_ in range(20):
        for key in ("a", "b", "c"):
            queue.add(f"ns/{key}", resolve=round_ % 2 == 0)
    for thread in threads:
        thread.join()
    assert overlaps == []
    assert set(processed) == {"ns/a", "ns/b", "ns/c"}
    assert len(processed) < 60  # bursts merged


def test_shutdown_releases_waiting_workers(queue: WorkQueue[str]) -> None:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(queue.get()))
    thread.start()
    queue.shutdown()
    thread.join(timeout=2)
    assert result == [None]
