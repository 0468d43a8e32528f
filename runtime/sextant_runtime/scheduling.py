"""How the kernel schedules the runtime's threads (`sextant serve --cpu-scheduling`).

A request passes between threads: granian's I/O thread, the event loop and the inference
thread. Under Linux's default policy a thread that wakes another on the same core is
often preempted by it at once, so on a pod pinned to one or two cores much of a
request's CPU went to context switches (a third of it in bench/README.md's profile).
SCHED_BATCH, which needs no privilege, keeps the waker running until it blocks: each
thread handles all the work that is ready before the next one runs, and requests
gather into fewer wake-ups. bench/cpu_scheduling.py measures both policies.

"batch" moves every thread that runs under the default policy to SCHED_BATCH (threads
started later inherit it); a policy someone chose on purpose (`chrt`, a realtime class)
is left alone. "normal" changes nothing. "auto", the default, is "batch" when the backend
runs one intra-op thread and "normal" otherwise: with a pool of two onnxruntime threads
on two cores, one request at a time ran 7-17% slower under SCHED_BATCH (bench/README.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from sextant.serving import CPU_SCHEDULINGS


def thread_ids() -> list[int]:
    """Every thread of this process (Linux)."""
    return [int(entry.name) for entry in Path("/proc/self/task").iterdir()]


def resolve(policy: str, threads: int) -> str:
    """The policy to apply, batch or normal, for a backend with `threads` intra-op threads
    (0: the backend chooses, a pool)."""
    if policy not in CPU_SCHEDULINGS:
        raise ValueError(f"cpu_scheduling must be one of {', '.join(CPU_SCHEDULINGS)}: {policy!r}")
    if policy == "auto":
        return "batch" if threads == 1 else "normal"
    return policy


def apply(policy: str) -> str | None:
    """Put this process's threads under `policy` ("batch" or "normal"); why it could not,
    or None."""
    if policy not in ("batch", "normal"):
        raise ValueError(f"apply() takes batch or normal, not {policy!r}: resolve() it first")
    if policy == "normal":
        return None
    if not hasattr(os, "SCHED_BATCH"):
        return "SCHED_BATCH is Linux only; the threads keep the default policy"
    for tid in thread_ids():
        try:
            if os.sched_getscheduler(tid) == os.SCHED_OTHER:
                os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
        except ProcessLookupError:  # the thread ended meanwhile
            continue
        except OSError as err:  # a seccomp profile that forbids it: serve anyway
            return f"could not set SCHED_BATCH: {err}"
    return None
