"""`--cpu-scheduling`: which threads move to SCHED_BATCH, and which are left alone.

Each case runs in a child interpreter, so the test process keeps its own policy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from sextant_runtime import scheduling
from sextant_runtime.config import ServeConfig

# Prints "BEFORE LATER CHOSEN" policies after apply(POLICY): a thread started before
# apply, one started after it, and one that asked for SCHED_IDLE itself.
CHILD = """
import os, sys, threading
from sextant_runtime import scheduling

def policy_of_new_thread(setup=None):
    seen, go = [], threading.Event()
    def body():
        if setup: setup()
        seen.append(os.sched_getscheduler(0)); go.wait()
        seen.append(os.sched_getscheduler(0))
    thread = threading.Thread(target=body); thread.start()
    return seen, go, thread

idle = lambda: os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
before, go_before, t1 = policy_of_new_thread()
chosen, go_chosen, t3 = policy_of_new_thread(idle)
while len(before) < 1 or len(chosen) < 1: pass
problem = scheduling.apply(sys.argv[1])
later, go_later, t2 = policy_of_new_thread()
for go in (go_before, go_later, go_chosen): go.set()
for t in (t1, t2, t3): t.join()
print(problem, before[-1], later[-1], chosen[-1], os.sched_getscheduler(0))
"""


def _run_child(policy: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), policy],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


def test_batch_moves_every_default_thread_and_later_threads_inherit_it() -> None:
    problem, before, later, chosen, main = _run_child("batch")
    assert problem == "None"
    assert int(before) == int(later) == int(main) == os.SCHED_BATCH
    assert int(chosen) == os.SCHED_IDLE  # a policy chosen on purpose is kept


def test_normal_changes_nothing() -> None:
    problem, before, later, chosen, main = _run_child("normal")
    assert problem == "None"
    assert int(before) == int(later) == int(main) == os.sched_getscheduler(0)  # as launched
    assert int(chosen) == os.SCHED_IDLE


@pytest.mark.parametrize(
    ("policy", "threads", "resolved"),
    [("auto", 1, "batch"), ("auto", 0, "normal"), ("auto", 4, "normal"),
     ("batch", 4, "batch"), ("normal", 1, "normal")],
)  # fmt: skip
def test_auto_is_batch_only_for_a_one_thread_backend(
    policy: str, threads: int, resolved: str
) -> None:
    assert scheduling.resolve(policy, threads) == resolved


def test_an_unknown_policy_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="must be one of auto, batch, normal: 'fifo'"):
        scheduling.resolve("fifo", 1)
    with pytest.raises(ValueError, match="resolve"):
        scheduling.apply("auto")
    with pytest.raises(ValueError, match="cpu_scheduling must be one of auto, batch, normal"):
        ServeConfig(source="m.onnx", name="m", cpu_scheduling="fifo")
