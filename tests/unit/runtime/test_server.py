"""The OIP routes in-process through the ASGI adapter (same code the RSGI app runs)."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import numpy as np
import orjson
import pytest

from sextant_runtime.batcher import Batcher
from sextant_runtime.config import ServeConfig
from sextant_runtime.metrics import Metrics
from sextant_runtime.protocol import Codec
from sextant_runtime.server import AsgiApp, InferenceServer
from tests.unit.runtime.backends import Doubler

Scenario = Callable[[httpx.AsyncClient, InferenceServer], Coroutine[Any, Any, None]]

ROW = [1.0, 2.0, 3.0]


def body(rows: list[list[float]] | None = None, **extra: Any) -> bytes:
    rows = rows or [ROW]
    data = [v for row in rows for v in row]
    return orjson.dumps(
        {
            "inputs": [{"name": "x", "shape": [len(rows), 3], "datatype": "FP32", "data": data}],
            **extra,
        }
    )


def run_with_server(scenario: Scenario, *, attach: bool = True, **config: Any) -> None:
    async def main() -> None:
        server = InferenceServer(ServeConfig(source="-", name="doubler", version="3", **config))
        batcher = Batcher(
            Doubler(inner=3), asyncio.get_running_loop(), max_batch_size=8, max_delay_ms=1
        )
        if attach:
            batcher.start()
            codec = Codec("doubler", "3", batcher.backend.signature)
            server.attach(codec, batcher, Metrics("doubler", "3", "stable"), "test")
        transport = httpx.ASGITransport(app=AsgiApp(server))
        async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
            try:
                await scenario(client, server)
            finally:
                if attach:
                    batcher.stop()

    asyncio.run(main())


def test_health_metadata_and_inference_over_json() -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:
        assert (await client.get("/v2/health/live")).json() == {"live": True}
        assert (await client.get("/v2/health/ready")).json() == {"ready": True}
        assert (await client.get("/v2/models/doubler/ready")).json() == {
            "name": "doubler",
            "ready": True,
        }
        meta = (await client.get("/v2/models/doubler")).json()
        assert meta == {
            "name": "doubler",
            "versions": ["3"],
            "platform": "test",
            "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
            "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 3]}],
        }
        assert (await client.get("/v2/models/doubler/versions/3")).json() == meta
        server_meta = (await client.get("/v2")).json()
        assert server_meta["extensions"] == ["binary_tensor_data"]
        for path in ("/v2/models/doubler/infer", "/v2/models/doubler/versions/3/infer"):
            response = await client.post(path, content=body(id="req-1"))
            assert response.status_code == 200
            out = response.json()
            assert out["id"] == "req-1"
            assert out["outputs"] == [
                {"name": "y", "datatype": "FP32", "shape": [1, 3], "data": [2.0, 4.0, 6.0]}
            ]

    run_with_server(scenario)


def test_binary_request_and_response() -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        header = orjson.dumps(
            {
                "inputs": [
                    {
                        "name": "x",
                        "shape": [2, 3],
                        "datatype": "FP32",
                        "parameters": {"binary_data_size": 24},
                    }
                ],
                "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
            }
        )
        response = await client.post(
            "/v2/models/doubler/infer",
            content=header + x.tobytes(),
            headers={"Inference-Header-Content-Length": str(len(header))},
        )
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/octet-stream"
        length = int(response.headers["inference-header-content-length"])
        meta = orjson.loads(response.content[:length])
        assert meta["outputs"][0]["parameters"] == {"binary_data_size": 24}
        got = np.frombuffer(response.content[length:], dtype=np.float32).reshape(2, 3)
        np.testing.assert_array_equal(got, x * 2)

    run_with_server(scenario)


def test_gzip_and_deflate_request_bodies_are_accepted() -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:

        for encoding, data in (("gzip", gzip.compress(body())), ("deflate", zlib.compress(body()))):
            response = await client.post(
                "/v2/models/doubler/infer", content=data, headers={"Content-Encoding": encoding}
            )
            assert response.status_code == 200, response.text
        bad = await client.post(
            "/v2/models/doubler/infer", content=body(), headers={"Content-Encoding": "br"}
        )
        assert bad.status_code == 400
        assert "Content-Encoding 'br' is not supported" in bad.json()["error"]

    run_with_server(scenario)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/v2/models/other/infer",
            "model 'other' is not served here; this server serves 'doubler'",
        ),
        (
            "/v2/models/doubler/versions/9/infer",
            "model 'doubler' has no version '9'; serving version '3'",
        ),
        ("/v2/models/other", "model 'other' is not served here; this server serves 'doubler'"),
        ("/nowhere", "no route /nowhere"),
    ],
)
def test_unknown_models_versions_and_routes_are_404_with_a_reason(path: str, message: str) -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:
        response = await client.post(path, content=body())
        assert response.status_code == 404
        assert response.json() == {"error": message}

    run_with_server(scenario)


def test_wrong_methods_are_405() -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:
        assert (await client.get("/v2/models/doubler/infer")).status_code == 405
        assert (await client.post("/v2/health/ready")).status_code == 405

    run_with_server(scenario)


def test_bad_requests_are_400_and_the_server_keeps_serving() -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:
        cases = [
            (b"{", {}, "not valid JSON"),
            (body(rows=[[1.0, 2.0]]), {}, "needs 3"),
            (body(), {"Inference-Header-Content-Length": "abc"}, "is not an integer"),
            (body(), {"Sextant-Timeout-Ms": "soon"}, "is not a number of milliseconds"),
            (body(parameters={"timeout": -5}), {}, "parameters.timeout must be a positive integer"),
            (b"x" * 2000, {}, "over the 1000-byte limit"),
        ]
        for content, headers, message in cases:
            response = await client.post(
                "/v2/models/doubler/infer", content=content, headers=headers
            )
            assert response.status_code == 400, content[:40]
            assert message in response.json()["error"]
        ok = await client.post("/v2/models/doubler/infer", content=body())
        assert ok.status_code == 200
        metrics = (await client.get("/metrics")).text
        assert (
            'sextant_inference_requests_total{model="doubler",version="3",track="stable",code="400"} 6'  # noqa: E501
            in metrics
        )
        assert 'code="200"} 1' in metrics

    run_with_server(scenario, max_request_bytes=1000)


def test_before_the_model_is_loaded_live_is_200_and_the_rest_503() -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:
        assert (await client.get("/v2/health/live")).status_code == 200
        ready = await client.get("/v2/health/ready")
        assert (ready.status_code, ready.json()["error"]) == (503, "model is loading")
        infer = await client.post("/v2/models/doubler/infer", content=body())
        assert infer.status_code == 503
        assert "not ready: model is loading" in infer.json()["error"]
        assert (await client.get("/v2/models/doubler")).status_code == 503

    run_with_server(scenario, attach=False)


def test_draining_turns_readiness_503_but_still_serves_and_closes_connections() -> None:
    async def scenario(client: httpx.AsyncClient, server: InferenceServer) -> None:
        server.drain()
        ready = await client.get("/v2/health/ready")
        assert (ready.status_code, ready.json()["error"]) == (503, "server is shutting down")
        infer = await client.post("/v2/models/doubler/infer", content=body())
        assert infer.status_code == 200
        assert infer.headers["connection"] == "close"

    run_with_server(scenario)


def test_a_bug_in_one_request_is_a_500_counted_in_the_metrics_and_the_next_is_served() -> None:
    class ListReturning(Doubler):
        """Returns a list instead of an array for one input value: a backend bug."""

        def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, Any]:  # type: ignore[override]
            if inputs["x"][0, 0] == 13.0:
                return {"y": [1, 2, 3]}
            return super().predict(inputs)

    async def main() -> None:
        server = InferenceServer(ServeConfig(source="-", name="doubler", version="3"))
        backend = ListReturning(inner=3)
        batcher = Batcher(backend, asyncio.get_running_loop(), max_batch_size=1)
        batcher.start()
        metrics = Metrics("d", "3", "s")
        server.attach(Codec("doubler", "3", backend.signature), batcher, metrics, "t")
        transport = httpx.ASGITransport(app=AsgiApp(server))
        async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
            bad = await client.post("/v2/models/doubler/infer", content=body([[13.0, 0.0, 0.0]]))
            good = await client.post("/v2/models/doubler/infer", content=body())
        batcher.stop()
        assert bad.status_code == 500
        assert bad.json()["error"].startswith("internal error: AttributeError")
        assert good.status_code == 200
        # The error rate an analysis reads counts every 5xx answered, bugs included.
        assert metrics.requests == {500: 1, 200: 1}
        assert metrics.request_duration.count == 2
        assert metrics.inflight == 0

    asyncio.run(main())


class ThreadKiller(BaseException):
    """Not an Exception: what a batch cannot catch (as a C extension's abort might be)."""


def test_when_the_inference_thread_dies_liveness_fails_and_requests_get_503_at_once() -> None:
    class Fatal(Doubler):
        def predict(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
            if inputs["x"][0, 0] == 66.0:
                raise ThreadKiller("the backend took the thread down")
            return super().predict(inputs)

    async def main() -> None:
        server = InferenceServer(ServeConfig(source="-", name="doubler", version="3"))
        backend = Fatal(inner=3)
        batcher = Batcher(backend, asyncio.get_running_loop(), max_batch_size=1)
        batcher.start()
        metrics = Metrics("d", "3", "s")
        server.attach(Codec("doubler", "3", backend.signature), batcher, metrics, "t")
        transport = httpx.ASGITransport(app=AsgiApp(server))
        async with httpx.AsyncClient(transport=transport, base_url="http://runtime") as client:
            assert (await client.get("/v2/health/live")).status_code == 200
            fatal = await asyncio.wait_for(
                client.post("/v2/models/doubler/infer", content=body([[66.0, 0.0, 0.0]])), 5
            )
            live = await client.get("/v2/health/live")
            ready = await client.get("/v2/health/ready")
            after = await asyncio.wait_for(
                client.post("/v2/models/doubler/infer", content=body()), 5
            )
        assert fatal.status_code == 503  # answered, not left hanging
        assert "inference thread died: ThreadKiller" in fatal.json()["error"]
        assert (live.status_code, live.json()["live"]) == (503, False)
        assert "the backend took the thread down" in live.json()["error"]
        assert ready.status_code == 503
        assert after.status_code == 503
        assert metrics.requests == {503: 2}

    asyncio.run(main())
