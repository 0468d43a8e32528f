"""`sextant serve --response-cache-url` on a real Redis: hits skip the batcher, entries
never cross model versions, expire with the TTL, hits are in the prediction log, and
Redis down never fails a request."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import redis

from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from tests.integration.runtime.conftest import RuntimeServer, Serve
from tests.polling import wait_for
from tests.unit.runtime import model_files

ROW = [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1.0, 2.0, 3.0, 4.0]}]
OTHER = [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [4.0, 3.0, 2.0, 1.0]}]


def metric(server: RuntimeServer, name: str, labels: str = "") -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    match = re.search(rf"^{name}{{[^}}]*{labels}[^}}]*}} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


def cached(server: RuntimeServer, result: str) -> float:
    return metric(server, "sextant_response_cache_requests_total", f'result="{result}"')


def test_a_repeated_request_is_a_hit_that_skips_the_batcher(
    serve: Serve, tmp_path: Path, redis_server: LocalRedis
) -> None:
    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    server = serve(
        path,
        "--response-cache-url",
        redis_server.url,
        "--response-cache-ttl-seconds",
        "60",
        name="cached",
    )
    client = redis.Redis.from_url(redis_server.url)
    first = server.infer(ROW)
    # The entry is written after the response, off the request path.
    wait_for(lambda: client.keys("sextant:cache:cached:1:*"), timeout=5, what="the entry")
    second = server.infer(ROW)
    assert first.status_code == second.status_code == 200
    assert second.json()["outputs"] == first.json()["outputs"]
    assert (cached(server, "miss"), cached(server, "hit")) == (1, 1)
    assert metric(server, "sextant_inference_batch_size_count") == 1  # the hit ran no batch
    assert metric(server, "sextant_inference_requests_total", 'code="200"') == 2

    # One entry serves other encodings of the same inputs (binary outputs here).
    binary = server.infer(ROW, parameters={"binary_data_output": True})
    assert binary.status_code == 200
    assert binary.headers["content-type"] == "application/octet-stream"
    assert cached(server, "hit") == 2
    assert server.infer(OTHER).json()["outputs"] != first.json()["outputs"]
    assert cached(server, "miss") == 2

    keys = client.keys("sextant:cache:cached:1:*")
    assert len(keys) == 2
    assert 0 < client.pttl(keys[0]) <= 60_000


def test_entries_never_cross_model_versions_and_expire(
    serve: Serve, tmp_path: Path, redis_server: LocalRedis
) -> None:
    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    v1 = serve(path, "--response-cache-url", redis_server.url, name="versioned")
    assert v1.infer(ROW).status_code == 200
    v2 = serve(
        model_files.onnx_linear(tmp_path / "linear2.onnx", seed=1),
        "--response-cache-url",
        redis_server.url,
        "--model-version",
        "2",
        "--response-cache-ttl-seconds",
        "0.5",
        name="versioned",
    )
    answer = v2.infer(ROW)
    assert answer.json()["model_version"] == "2"
    assert answer.json()["outputs"] != v1.infer(ROW).json()["outputs"]  # v2's own model
    assert (cached(v2, "miss"), cached(v2, "hit")) == (1, 0)
    assert v2.infer(ROW).status_code == 200
    assert cached(v2, "hit") == 1
    time.sleep(1.0)  # past v2's TTL
    assert v2.infer(ROW).status_code == 200
    assert (cached(v2, "miss"), cached(v2, "hit")) == (2, 1)


def test_redis_down_serves_every_request_and_counts_errors(serve: Serve, tmp_path: Path) -> None:
    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    server = serve(path, "--response-cache-url", nowhere, name="no-redis")
    started = time.monotonic()
    codes = [server.infer(ROW).status_code for _ in range(20)]
    assert codes == [200] * 20
    assert time.monotonic() - started < 10
    assert cached(server, "error") == 20
    assert cached(server, "hit") == 0
    assert "response cache unavailable" in server.log()


def test_hits_are_in_the_prediction_log_like_any_served_request(
    serve: Serve, tmp_path: Path, redis_server: LocalRedis
) -> None:
    path = model_files.onnx_linear(tmp_path / "linear.onnx")
    server = serve(
        path,
        "--response-cache-url",
        redis_server.url,
        "--prediction-log-url",
        redis_server.url,
        "--prediction-log-sample-rate",
        "1.0",
        name="logged-cache",
    )
    client = redis.Redis.from_url(redis_server.url)
    miss = server.infer(ROW)
    wait_for(lambda: client.keys("sextant:cache:logged-cache:1:*"), timeout=5, what="the entry")
    hit = server.infer(ROW)
    assert (cached(server, "miss"), cached(server, "hit")) == (1, 1)
    ids = [miss.headers["sextant-request-id"], hit.headers["sextant-request-id"]]
    assert ids[0] != ids[1]

    def logged() -> list[bytes] | None:
        entries = client.xrange("sextant:predictions:logged-cache")
        found = [fields[b"id"] for _, fields in entries]
        return found if len(found) == 2 else None

    assert wait_for(logged, timeout=10, what="both requests in the log") == [
        i.encode() for i in ids
    ]
