"""Which HTTP server to run the runtime under: the same app, small MLP, wrk at 1/16/64.

    .venv/bin/python -m bench.http_stacks

Runs sextant's own request path (codec, batcher, onnxruntime) under granian (RSGI and
ASGI) and uvicorn (httptools + uvloop, ASGI), each pinned to CPU 0 with wrk on CPU 1,
interleaving the stacks round by round so a busy machine hurts them alike. Prints the
median of the rounds per stack and concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.models import COMPUTE_BOUND, SMALL, save_mlp
from bench.runtime import LOAD_CPU, SERVER_CPU, lua_script, wrk

MODEL_ENV = "SEXTANT_BENCH_MODEL"


def _server() -> Any:
    """InferenceServer over the bench model; its batcher starts on the first request's loop."""
    from sextant_runtime.backends import load_backend  # noqa: PLC0415
    from sextant_runtime.batcher import Batcher  # noqa: PLC0415
    from sextant_runtime.config import ServeConfig  # noqa: PLC0415
    from sextant_runtime.metrics import Metrics  # noqa: PLC0415
    from sextant_runtime.protocol import Codec  # noqa: PLC0415
    from sextant_runtime.server import InferenceServer  # noqa: PLC0415

    backend = load_backend(Path(os.environ[MODEL_ENV]), threads=1)
    server = InferenceServer(ServeConfig(source="-", name="mlp"))
    original = server.handle

    async def handle(*args: Any) -> Any:
        if server.batcher is None:
            batcher = Batcher(
                backend, asyncio.get_running_loop(), max_batch_size=32, max_delay_ms=0
            )
            batcher.start()
            codec = Codec("mlp", "1", backend.signature)
            server.attach(codec, batcher, Metrics("mlp", "1", "stable"), backend.platform)
        return await original(*args)

    server.handle = handle  # type: ignore[method-assign]
    return server


def asgi() -> Any:
    from sextant_runtime.server import AsgiApp  # noqa: PLC0415

    return AsgiApp(_server())


def rsgi() -> Any:
    from sextant_runtime.server import RsgiApp  # noqa: PLC0415

    return RsgiApp(_server())


STACKS = {
    "granian-rsgi": ["granian", "--interface", "rsgi", "--loop", "uvloop", "--no-ws", "--factory",
                     "bench.http_stacks:rsgi"],
    "granian-asgi": ["granian", "--interface", "asginl", "--loop", "uvloop", "--no-ws", "--factory",
                     "bench.http_stacks:asgi"],
    "uvicorn-httptools": ["uvicorn", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
                          "--lifespan", "off", "--factory", "bench.http_stacks:asgi"],
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--model", choices=["small", "compute"], default="small")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--stacks", default=",".join(STACKS))
    args = parser.parse_args()
    layers = SMALL if args.model == "small" else COMPUTE_BOUND
    work = Path(tempfile.mkdtemp(prefix="sextant-stacks-"))
    model = save_mlp(work / "model.onnx", layers)
    script = lua_script(work / "model.lua", layers[0])
    bin_dir = Path(sys.executable).parent
    results: dict[tuple[str, int], list[tuple[float, float, float]]] = {}
    port = 18800
    for _ in range(args.rounds):
        for name in args.stacks.split(","):
            argv = STACKS[name]
            port += 1
            cmd = [
                "taskset",
                "-c",
                SERVER_CPU,
                str(bin_dir / argv[0]),
                *argv[1:],
                "--port",
                str(port),
            ]
            env = {**os.environ, MODEL_ENV: str(model), "PYTHONPATH": str(Path.cwd())}
            with (work / f"{name}.log").open("ab") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
                url = f"http://127.0.0.1:{port}/v2/models/mlp/infer"
                try:
                    _wait(url, layers[0])
                    wrk(url, script, 16, 2)
                    for connections in [int(c) for c in args.concurrency.split(",")]:
                        rps, p50, p99, _ = wrk(url, script, connections, args.seconds)
                        results.setdefault((name, connections), []).append((rps, p50, p99))
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
    print(f"| stack | concurrency | req/s (median of {args.rounds}) | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for (name, connections), runs in results.items():
        rps = statistics.median(r[0] for r in runs)
        p50 = statistics.median(r[1] for r in runs)
        p99 = statistics.median(r[2] for r in runs)
        print(f"| {name} | {connections} | {rps:,.0f} | {p50:.2f} | {p99:.2f} |")
    print(f"(server on CPU {SERVER_CPU}, wrk on CPU {LOAD_CPU})")


def _wait(url: str, width: int) -> None:
    zeros = ",".join(["0"] * width)
    body = f'{{"inputs":[{{"name":"x","shape":[1,{width}],"datatype":"FP32","data":[{zeros}]}}]}}'
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, content=body.encode(), timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} never answered")


if __name__ == "__main__":
    main()
