"""The HTTP floor: `sextant serve`'s listener answering every request with canned bytes.

    python -m bench.floor --port 18700 --response response.bin [--content-type TYPE]
        [--header-length N]

The same granian listener in the same uvloop loop as `sextant serve`
(`sextant_runtime.main.http_listener`), under the same CPU scheduling policy, the same
RSGI body read, and a response of the same bytes the model's server answered; no decode,
no batching, no inference, no encode.
bench/runtime.py measures it beside the model's server: what the model's server loses
against it is the cost of Sextant's own request path, and its per-request CPU bounds
what any server on this stack can reach on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

import uvloop

from sextant import serving
from sextant_runtime import scheduling
from sextant_runtime.main import http_listener


class CannedApp:
    """Reads the request body like the runtime does, answers the same bytes each time."""

    def __init__(self, body: bytes, headers: list[tuple[str, str]]) -> None:
        self.body = body
        self.headers = headers

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        if scope.method == "POST":
            await proto()
        proto.response_bytes(200, self.headers, self.body)


async def serve(app: CannedApp, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    listener = http_listener(app, "127.0.0.1", port)
    task = loop.create_task(listener.serve())
    await stop.wait()
    listener.stop()  # type: ignore[no-untyped-call]
    await task


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--response", type=Path, required=True)
    parser.add_argument("--content-type", default="application/json")
    parser.add_argument("--header-length", type=int, help="Inference-Header-Content-Length")
    parser.add_argument(
        "--cpu-scheduling",
        choices=serving.CPU_SCHEDULINGS,
        default=serving.CPU_SCHEDULING.default,
        help="as `sextant serve --cpu-scheduling --threads 1`, which bench/runtime.py runs",
    )
    args = parser.parse_args()
    problem = scheduling.apply(scheduling.resolve(args.cpu_scheduling, threads=1))
    if problem is not None:
        raise SystemExit(problem)
    headers = [("content-type", args.content_type)]
    if args.header_length is not None:
        headers.append(("inference-header-content-length", str(args.header_length)))
    uvloop.run(serve(CannedApp(args.response.read_bytes(), headers), args.port))


if __name__ == "__main__":
    main()
