"""Every error path against the real server: the request fails clearly, the server goes on."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.runtime.conftest import RuntimeServer, Serve
from tests.unit.runtime import model_files


def sleep_input(seconds: float, rows: int = 1) -> list[dict[str, Any]]:
    return [{"name": "input_0", "shape": [rows, 1], "datatype": "FP32", "data": [seconds] * rows}]


@pytest.fixture(scope="module")
def sleeper(serve_module: Serve, tmp_path_factory: pytest.TempPathFactory) -> RuntimeServer:
    path = model_files.mlflow_sleeper(tmp_path_factory.mktemp("sleeper") / "sleeper")
    return serve_module(
        path,
        "--max-batch-size", "1",
        "--max-queue-size", "2",
        "--max-request-bytes", "4096",
        name="sleeper",
    )  # fmt: skip


def batches_run(server: RuntimeServer) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    match = re.search(r"^sextant_inference_batch_size_count\{[^}]*\} (\S+)$", text, re.M)
    assert match is not None
    return float(match[1])


def in_background(server: RuntimeServer, seconds: float) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []

    def call() -> None:
        codes.append(server.infer(sleep_input(seconds)).status_code)

    thread = threading.Thread(target=call)
    thread.start()
    return thread, codes


def wait_running(server: RuntimeServer, inflight: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = httpx.get(f"{server.url}/metrics", timeout=5).text
        match = re.search(r"^sextant_inference_inflight_requests\{[^}]*\} (\S+)$", text, re.M)
        if match and float(match[1]) >= inflight:
            return
        time.sleep(0.02)
    raise AssertionError(f"never saw {inflight} requests in flight")


def test_a_full_queue_answers_429_at_once(sleeper: RuntimeServer) -> None:
    running, running_codes = in_background(sleeper, 4.0)
    wait_running(sleeper, 1)
    time.sleep(0.3)  # the first request is inside the backend now
    queued = [in_background(sleeper, 0.0) for _ in range(2)]
    wait_running(sleeper, 3)
    refused = sleeper.infer(sleep_input(0.0))
    assert refused.status_code == 429
    assert "queue is full (2 requests waiting)" in refused.json()["error"]
    assert running.is_alive()  # answered at once, not after the running batch
    for thread, _ in [(running, running_codes), *queued]:
        thread.join()
    assert running_codes == [200]
    assert [codes for _, codes in queued] == [[200], [200]]


def test_a_request_past_its_deadline_gets_504_and_costs_no_inference(
    sleeper: RuntimeServer,
) -> None:
    running, codes = in_background(sleeper, 3.0)
    wait_running(sleeper, 1)
    time.sleep(0.3)
    before = batches_run(sleeper)
    late = sleeper.infer(sleep_input(0.0), parameters={"timeout": 100_000})  # 100 ms, in µs
    assert late.status_code == 504
    assert "deadline passed" in late.json()["error"]
    assert "no inference ran" in late.json()["error"]
    header = httpx.post(
        sleeper.infer_url,
        json={"inputs": sleep_input(0.0)},
        headers={"Sextant-Timeout-Ms": "100"},
        timeout=10,
    )
    assert header.status_code == 504
    running.join()
    assert codes == [200]
    assert batches_run(sleeper) == before + 1  # only the running request's batch


def test_a_backend_exception_is_500_with_the_reason_and_the_server_goes_on(
    sleeper: RuntimeServer,
) -> None:
    failed = sleeper.infer(sleep_input(-1.0))
    assert failed.status_code == 500
    assert "negative sleep requested" in failed.json()["error"]
    assert sleeper.infer(sleep_input(0.0)).status_code == 200


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (b'{"inputs": [', {}, "not valid JSON"),
        (b'{"inputs": [{"name": "nope", "shape": [1, 1], "datatype": "FP32", "data": [1]}]}', {}, "unknown input 'nope'"),  # noqa: E501
        (b'{"inputs": [{"name": "input_0", "shape": [1, 1], "datatype": "FP64", "data": [1]}]}', {}, "datatype 'FP64' but the model expects FP32"),  # noqa: E501
        (b'{"inputs": [{"name": "input_0", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}', {}, "shape [1, 2] but the model expects [-1, 1]"),  # noqa: E501
        (b'{"inputs": [{"name": "input_0", "shape": [2, 1], "datatype": "FP32", "data": [1]}]}', {}, "'data' has 1 elements but shape [2, 1] needs 2"),  # noqa: E501
        (b"[" + b"0," * 4000 + b"0]", {}, "over the 4096-byte limit"),
        (b"{}", {"Inference-Header-Content-Length": "99"}, "Inference-Header-Content-Length is 99"),
    ],
)  # fmt: skip
def test_bad_requests_are_400_naming_the_input_and_what_was_expected(
    sleeper: RuntimeServer, content: bytes, headers: dict[str, str], message: str
) -> None:
    response = httpx.post(sleeper.infer_url, content=content, headers=headers, timeout=10)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert sleeper.infer(sleep_input(0.0)).status_code == 200


def test_an_unknown_model_is_404(sleeper: RuntimeServer) -> None:
    response = httpx.post(f"{sleeper.url}/v2/models/other/infer", json={}, timeout=10)
    assert response.status_code == 404
    assert response.json() == {
        "error": "model 'other' is not served here; this server serves 'sleeper'"
    }


def test_a_model_that_cannot_load_exits_non_zero_with_the_reason(
    serve: Serve, tmp_path: Path
) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a model")
    server = serve(junk, wait=False)
    deadline = time.monotonic() + 60
    while server.process.exited() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.process.exited() == 1
    assert "cannot tell the format" in server.log()
