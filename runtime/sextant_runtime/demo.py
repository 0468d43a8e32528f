"""Serve the example model and send it one request: the runtime's part of `sextant demo`.

    from sextant_runtime.demo import serve_example_and_ask
    serve_example_and_ask(print)

starts `sextant serve examples/models/iris.onnx --name iris` on a free loopback port,
waits for readiness, posts one OIP v2 request, hands each line of the story to `echo`,
and stops the server (SIGTERM, graceful). Returns the response body.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
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


@contextlib.contextmanager
def serving(
    source: str,
    name: str,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 120.0,
) -> Iterator[str]:
    """`sextant serve SOURCE --name NAME` on a free loopback port, ready; yields its URL."""
    port = free_port()
    argv = [sys.executable, "-m", "sextant", "serve", source, "--name", name]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--drain-seconds", "0"]
    argv += ["--device", "cpu", "--log-format", "text", "--cache-dir", str(log_dir / "cache")]
    process = ManagedProcess(
        "sextant-serve", argv, log_path=log_dir / "serve.log", env={**os.environ, **(env or {})}
    )
    url = f"http://127.0.0.1:{port}"
    with process:
        process.wait_http_ok(f"{url}/v2/health/ready", timeout)
        yield url


def species_answers(result: dict[str, Any]) -> list[str]:
    """`FLOWER -> SPECIES (PROBABILITY)` for each flower of example_request()'s answer."""
    probabilities = result["outputs"][0]["data"]
    width = len(SPECIES)
    answers = []
    for i, flower in enumerate(FLOWERS):
        row = probabilities[i * width : (i + 1) * width]
        best = max(range(width), key=row.__getitem__)
        answers.append(f"{flower} -> {SPECIES[best]} ({row[best]:.2f})")
    return answers


def serve_example_and_ask(
    echo: Callable[[str], None] = print, model: Path = EXAMPLE_MODEL, timeout: float = 120.0
) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix="sextant-serve-") as tmp,
        serving(str(model), "iris", Path(tmp), timeout=timeout) as url,
    ):
        echo(f"$ sextant serve {model} --name iris --port {url.rsplit(':', 1)[1]}")
        body = example_request()
        echo(f"$ curl -s {url}/v2/models/iris/infer -d '{orjson.dumps(body).decode()}'")
        response = httpx.post(f"{url}/v2/models/iris/infer", json=body, timeout=30)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        echo(orjson.dumps(result).decode())
        for answer in species_answers(result):
            echo(f"flower {answer}")
    return result


if __name__ == "__main__":
    serve_example_and_ask()
