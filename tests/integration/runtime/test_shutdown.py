"""SIGTERM under load: readiness turns 503 at once, every accepted request succeeds, exit 0."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import httpx

from tests.integration.runtime.conftest import Serve
from tests.unit.runtime import model_files

BODY = {
    "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 4.0]}]
}


def test_sigterm_under_load_loses_no_request(serve: Serve, tmp_path: Path) -> None:
    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    server = serve(path, "--drain-seconds", "5", "--max-delay-ms", "20", "--max-batch-size", "8")
    stop_sending = threading.Event()  # what a load balancer does once readiness is 503
    sigterm_at: list[float] = []
    not_ready_at: list[float] = []
    results: list[tuple[float, int, str]] = []  # (finished at, status, connection header)
    errors: list[str] = []
    lock = threading.Lock()

    def client() -> None:
        with httpx.Client(timeout=30) as http:
            while not stop_sending.is_set():
                try:
                    response = http.post(server.infer_url, json=BODY)
                except httpx.HTTPError as err:
                    with lock:
                        errors.append(repr(err))
                    return
                with lock:
                    results.append(
                        (
                            time.monotonic(),
                            response.status_code,
                            response.headers.get("connection", ""),
                        )
                    )

    def watch_readiness() -> None:
        with httpx.Client(timeout=5) as http:
            while True:
                if http.get(f"{server.url}/v2/health/ready").status_code == 503:
                    not_ready_at.append(time.monotonic())
                    time.sleep(0.3)  # endpoints take a moment to update
                    stop_sending.set()
                    return
                time.sleep(0.01)

    clients = [threading.Thread(target=client) for _ in range(16)]
    for thread in clients:
        thread.start()
    time.sleep(2.0)  # under load
    watcher = threading.Thread(target=watch_readiness)
    watcher.start()
    sigterm_at.append(time.monotonic())
    os.kill(server.process.pid, signal.SIGTERM)
    watcher.join(timeout=30)
    for thread in clients:
        thread.join(timeout=60)

    deadline = time.monotonic() + 60
    while server.process.exited() is None and time.monotonic() < deadline:
        time.sleep(0.05)

    assert errors == []
    assert len(results) > 50
    assert {status for _, status, _ in results} == {200}
    after_term = [r for r in results if r[0] > sigterm_at[0]]
    assert after_term, "requests were still served after SIGTERM"
    assert not_ready_at, "readiness never turned 503"
    # Readiness said 503 while inference still answered 200, telling clients to reconnect.
    assert any(conn == "close" for t, _, conn in after_term if t > not_ready_at[0])
    assert server.process.exited() == 0
    log = server.log()
    assert "draining: readiness is 503, still serving" in log
    assert '"message":"stopped"' in log
