"""`sextant serve` takes every option from SEXTANT_* variables, as the operator sets them."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx

from tests.integration.runtime.conftest import Serve
from tests.unit.runtime import model_files


def test_options_come_from_the_environment_and_batching_batches(
    serve: Serve, tmp_path: Path
) -> None:
    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    server = serve(
        path,
        name="from-env",
        env={
            "SEXTANT_MAX_BATCH_SIZE": "16",
            "SEXTANT_MAX_DELAY_MS": "50",
            "SEXTANT_MODEL_VERSION": "12",
            "SEXTANT_TRACK": "canary",
            "SEXTANT_LOG_FORMAT": "json",
        },
    )
    meta = httpx.get(f"{server.url}/v2/models/from-env", timeout=5).json()
    assert meta["versions"] == ["12"]

    barrier = threading.Barrier(8)
    codes: list[int] = []

    def one() -> None:
        barrier.wait()
        response = server.infer(
            [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
        )
        codes.append(response.status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 8

    metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    labels = 'model="from-env",version="12",track="canary"'
    assert f'sextant_inference_requests_total{{{labels},code="200"}} 8' in metrics
    count = float(metrics.split(f"sextant_inference_batch_size_count{{{labels}}} ")[1].split()[0])
    assert count < 8  # concurrent requests shared batches (a 50 ms window)
    assert '"track":"canary"' in server.log()


def _thread_policies(pid: int) -> set[int]:
    return {os.sched_getscheduler(int(tid.name)) for tid in Path(f"/proc/{pid}/task").iterdir()}


def test_every_server_thread_runs_under_the_cpu_scheduling_policy(
    serve: Serve, tmp_path: Path
) -> None:
    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    row = [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
    # The default, auto: SCHED_BATCH for a one-thread backend, the launch policy when the
    # backend sizes its own pool (--threads 0, the default of --threads).
    batch = serve(path, "--threads", "1", name="batch")
    normal = serve(path, name="normal")
    for server in (batch, normal):
        assert server.infer(row).status_code == 200  # the inference thread has run
    # The listener's, the loop's and the inference thread all started after the policy.
    assert len(list(Path(f"/proc/{batch.process.pid}/task").iterdir())) >= 3
    assert _thread_policies(batch.process.pid) == {os.SCHED_BATCH}
    # normal leaves the policy the server was launched with: this test's own.
    assert _thread_policies(normal.process.pid) == {os.sched_getscheduler(0)}
    assert '"cpu_scheduling":"batch"' in batch.log()
    assert '"cpu_scheduling":"normal"' in normal.log()
