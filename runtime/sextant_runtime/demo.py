"""Serve the example model and send it one request: the runtime's part of `sextant demo`.

    from sextant_runtime.demo import serve_example_and_ask
    serve_example_and_ask(print)

starts `sextant serve examples/models/iris.onnx --name iris` on a free loopback port,
waits for readiness, posts one OIP v2 request, hands each line of the story to `echo`,
and stops the server (SIGTERM, graceful). Returns the response body.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

from sextant.devenv.process import ManagedProcess, free_port

EXAMPLE_MODEL = Path(__file__).resolve().parents[2] / "examples" / "models" / "iris.onnx"
SPECIES = ("setosa", "versicolor", "virginica")
# Two flowers: sepal length, sepal width, petal length, petal width (cm).
FLOWERS = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]


def example_request() -> dict[str, Any]:
    return {
        "id": "demo-1",
        "inputs": [
            {
                "name": "measurements",
                "shape": [len(FLOWERS), 4],
                "datatype": "FP32",
                "data": [v for row in FLOWERS for v in row],
            }
        ],
    }


def serve_example_and_ask(
    echo: Callable[[str], None] = print, model: Path = EXAMPLE_MODEL, timeout: float = 120.0
) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "sextant", "serve", str(model), "--name", "iris"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--drain-seconds", "0"]
    with tempfile.TemporaryDirectory(prefix="sextant-serve-") as tmp:
        process = ManagedProcess("sextant-serve", argv, log_path=Path(tmp) / "serve.log")
        echo(f"$ sextant serve {model} --name iris --port {port}")
        with process:
            process.wait_until(
                lambda: httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200,
                timeout,
                what="ready",
            )
            body = example_request()
            echo(f"$ curl -s {url}/v2/models/iris/infer -d '{orjson.dumps(body).decode()}'")
            response = httpx.post(f"{url}/v2/models/iris/infer", json=body, timeout=30)
            response.raise_for_status()
            result: dict[str, Any] = response.json()
            echo(orjson.dumps(result).decode())
            probabilities = result["outputs"][0]["data"]
            for i, flower in enumerate(FLOWERS):
                row = probabilities[i * 3 : i * 3 + 3]
                best = max(range(3), key=row.__getitem__)
                echo(f"flower {flower} -> {SPECIES[best]} ({row[best]:.2f})")
    return result


if __name__ == "__main__":
    serve_example_and_ask()
