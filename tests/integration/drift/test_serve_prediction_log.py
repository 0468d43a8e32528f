"""`sextant serve --prediction-log-url`: a real runtime logs to a real Redis, returns the
request id in a header, and keeps answering when Redis is gone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import redis

from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from sextant_runtime.logentries import decode
from sextant_runtime.predictionlog import stream_key
from tests.integration.runtime.conftest import RuntimeServer
from tests.polling import wait_for

IRIS = Path(__file__).resolve().parents[3] / "examples" / "models" / "iris.onnx"
ROW = [{"name": "measurements", "shape": [1, 4], "datatype": "FP32", "data": [5.1, 3.5, 1.4, 0.2]}]


@pytest.fixture
def started(tmp_path: Path) -> Iterator[list[RuntimeServer]]:
    servers: list[RuntimeServer] = []
    yield servers
    for server in servers:
        server.stop()


def _serve(tmp_path: Path, started: list[RuntimeServer], name: str, url: str) -> RuntimeServer:
    args = ["--prediction-log-url", url, "--prediction-log-sample-rate", "1.0"]
    server = RuntimeServer(tmp_path, IRIS, name, [*args, "--track", "canary"], None)
    started.append(server)
    server.start()
    return server


def _metric(server: RuntimeServer, pattern: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    match = re.search(pattern + r" (\S+)", text)
    return float(match.group(1)) if match else 0.0


def test_a_logged_request_is_found_by_the_id_in_its_header(
    redis_server: LocalRedis, tmp_path: Path, started: list[RuntimeServer]
) -> None:
    server = _serve(tmp_path, started, "iris-logged", redis_server.url)
    response = server.infer(ROW)
    assert response.status_code == 200
    request_id = response.headers["sextant-request-id"]
    client = redis.Redis.from_url(redis_server.url)

    def logged() -> dict[bytes, bytes] | None:
        for _, fields in client.xrange(stream_key("iris-logged")):
            if fields[b"id"] == request_id.encode():
                return fields
        return None

    fields = wait_for(logged, timeout=10, what="the request in the prediction log")
    assert fields[b"track"] == b"canary"
    inputs = decode(fields, "inputs")
    np.testing.assert_allclose(inputs["measurements"], [[5.1, 3.5, 1.4, 0.2]], rtol=1e-6)
    assert decode(fields, "outputs")["probabilities"].shape == (1, 3)
    assert _metric(server, r"sextant_prediction_log_entries_total\{[^}]*\}") >= 1


def test_requests_succeed_and_drops_are_counted_when_redis_is_down(
    tmp_path: Path, started: list[RuntimeServer]
) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    server = _serve(tmp_path, started, "iris-unlogged", down)
    codes = [server.infer(ROW).status_code for _ in range(20)]
    assert codes == [200] * 20
    dropped = r'sextant_prediction_log_dropped_total\{[^}]*reason="redis_error"\}'
    wait_for(lambda: _metric(server, dropped) > 0, timeout=15, what="dropped entries counted")
