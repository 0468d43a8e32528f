"""Online enrichment benchmark: what reading 20 features from Redis adds to a request.

    .venv/bin/python -m bench.feature_enrichment            # about 4 minutes
    .venv/bin/python -m bench.feature_enrichment --quick    # 3 s runs

A real Redis (LocalRedis) is seeded by `materialize` from a parquet file of 100k users x
20 float64 features. The model takes the 20 features as FP32 [-1, 1] inputs and returns
them side by side (onnx Concat), so the model itself costs next to nothing and what is
measured is the request path.

1. Added latency, in process: the runtime's own Enricher (coalesced, pipelined HMGET on
   its lookup thread) enriches one decoded single-entity request at a time against the real
   Redis; p50/p99/p99.9 of that step alone, over many requests with random users.
2. End to end, same run: two `sextant serve` processes of the same model, one with
   --features (requests carry only user_id, a random one per request, from a wrk Lua
   script) and one without (requests carry the 20 features inline). Each is pinned to
   CPU 0 with one backend thread; wrk is pinned to CPU 1; inline and enriched runs
   alternate (3 rounds each, medians). At concurrency 1 the p50/p99 difference is the
   added latency as a client sees it; at 16 and 64 the req/s ratio is the throughput
   cost. Results also go to bench/results/feature_enrichment.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import redis
import uvloop

from bench.runtime import SERVER_CPU, wrk
from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from sextant_runtime.backends import load_backend
from sextant_runtime.features import Column, View, materialize
from sextant_runtime.features.enrich import Enricher
from sextant_runtime.features.online import OnlineFeatures
from sextant_runtime.protocol import Codec
from tests.integration.features.feature_model import concat_model

ROOT = Path(__file__).resolve().parent.parent
USERS = 100_000
FEATURES = [f"f{i:02d}" for i in range(20)]


@dataclass
class Latency:
    requests: int
    p50_us: float
    p99_us: float
    p999_us: float
    cpu_us: float  # CPU time of the whole process per enrichment (all threads)


@dataclass
class Cell:
    concurrency: int
    inline_rps: float
    enriched_rps: float
    throughput_cost: float
    inline_p50_ms: float
    enriched_p50_ms: float
    inline_p99_ms: float
    enriched_p99_ms: float
    errors: int


def seed(work: Path, client: redis.Redis, url: str) -> OnlineFeatures:
    rng = np.random.default_rng(0)
    now = datetime.now(UTC)
    table = {
        "user_id": [f"u{i}" for i in range(USERS)],
        "event_timestamp": pa.array([now - timedelta(seconds=i % 3600) for i in range(USERS)]),
        **{name: rng.standard_normal(USERS) for name in FEATURES},
    }
    source = work / "users.parquet"
    pq.write_table(pa.table(table), source)
    view = View(
        name="users",
        namespace="bench",
        entities=(Column("user_id", "string"),),
        features=tuple(Column(name, "float64") for name in FEATURES),
        source_uri=str(source),
        ttl=timedelta(days=1),
    )
    started = time.monotonic()
    summary = materialize(view, client, until=now)
    print(f"materialized {summary.entities} users in {time.monotonic() - started:.1f} s")
    return OnlineFeatures(
        namespace=view.namespace,
        view=view.name,
        redis_url=url,
        entity_input="user_id",
        entity=view.entities[0],
        features=view.features,
    )


def in_process(model: Path, online: OnlineFeatures, requests: int) -> Latency:
    """The enrichment step alone, one request at a time, as the server runs it."""
    backend = load_backend(model, device="cpu", threads=1)
    enricher = Enricher(online, backend.signature)
    codec = Codec("m", "1", enricher.request_signature)
    rng = np.random.default_rng(1)
    bodies = [
        orjson.dumps(
            {"inputs": [{"name": "user_id", "shape": [1], "datatype": "BYTES", "data": [f"u{i}"]}]}
        )
        for i in rng.integers(0, USERS, requests)
    ]

    async def run() -> tuple[list[float], float]:
        times = []
        for body in bodies[:200]:  # connect and warm up
            await enricher.enrich(codec.decode(body))
        cpu = 0.0
        for body in bodies:
            request = codec.decode(body)
            started, cpu_started = time.perf_counter(), time.process_time()
            await enricher.enrich(request)
            times.append(time.perf_counter() - started)
            cpu += time.process_time() - cpu_started
        enricher.close()
        return times, cpu

    wall, cpu = uvloop.run(run())
    times = np.array(wall) * 1e6
    return Latency(
        cpu_us=cpu / len(wall) * 1e6,
        requests=len(times),
        p50_us=float(np.percentile(times, 50)),
        p99_us=float(np.percentile(times, 99)),
        p999_us=float(np.percentile(times, 99.9)),
    )


def lua_enriched(path: Path) -> Path:
    """A random user per request (wrk's request() builds each body)."""
    head = '{"inputs":[{"name":"user_id","shape":[1],"datatype":"BYTES","data":["u'
    path.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        "math.randomseed(7)\n"
        "request = function()\n"
        f"  local body = '{head}' .. math.random(0, {USERS - 1}) .. '\"]}}]}}'\n"
        "  return wrk.format(nil, nil, nil, body)\n"
        "end\n"
    )
    return path


def lua_inline(path: Path) -> Path:
    values = np.random.default_rng(2).standard_normal(len(FEATURES)).astype(np.float32)
    inputs = [
        {"name": name, "shape": [1, 1], "datatype": "FP32", "data": [float(v)]}
        for name, v in zip(FEATURES, values, strict=True)
    ]
    body = json.dumps({"inputs": inputs})
    path.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = [[{body}]]\n"
    )
    return path


class Server:
    def __init__(self, model: Path, work: Path, features: str | None) -> None:
        self.port = free_port()
        sextant = Path(sys.executable).parent / "sextant"
        argv = ["taskset", "-c", SERVER_CPU, str(sextant), "serve", str(model), "--name", "m"]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--threads", "1"]
        argv += ["--max-batch-size", "32", "--max-delay-ms", "0", "--drain-seconds", "0"]
        env = {**os.environ, **({"SEXTANT_FEATURES": features} if features else {})}
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = work / f"serve-{self.port}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; see {self.log}")
            time.sleep(0.2)
        raise RuntimeError(f"server not ready; see {self.log}")

    @property
    def infer_url(self) -> str:
        return f"{self.url}/v2/models/m/infer"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def _medians(runs: list[tuple[float, float, float, int]]) -> tuple[float, float, float, int]:
    """Median req/s, p50 and p99 of wrk runs, and all their errors."""
    rps, p50, p99 = (statistics.median(run[i] for run in runs) for i in range(3))
    return rps, p50, p99, sum(run[3] for run in runs)


def end_to_end(
    model: Path,
    online: OnlineFeatures,
    work: Path,
    seconds: float,
    *,
    concurrency: list[int],
    rounds: int,
) -> list[Cell]:
    """Inline and enriched runs interleaved, `rounds` of each per concurrency; medians
    (the load of a shared machine drifts: interleaving keeps the comparison fair)."""
    inline = Server(model, work, None)
    enriched = Server(model, work, online.to_json())
    scripts = (lua_inline(work / "inline.lua"), lua_enriched(work / "enriched.lua"))
    cells = []
    try:
        for server, script in zip((inline, enriched), scripts, strict=True):
            wrk(server.infer_url, script, 8, 2)  # warm up
        for connections in concurrency:
            runs_a, runs_b = [], []
            for _ in range(rounds):
                runs_a.append(wrk(inline.infer_url, scripts[0], connections, seconds))
                runs_b.append(wrk(enriched.infer_url, scripts[1], connections, seconds))
            a, b = _medians(runs_a), _medians(runs_b)
            cells.append(
                Cell(
                    concurrency=connections,
                    inline_rps=a[0],
                    enriched_rps=b[0],
                    throughput_cost=1 - b[0] / a[0],
                    inline_p50_ms=a[1],
                    enriched_p50_ms=b[1],
                    inline_p99_ms=a[2],
                    enriched_p99_ms=b[2],
                    errors=int(a[3] + b[3]),
                )
            )
    finally:
        inline.stop()
        enriched.stop()
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s wrk runs instead of 5 s")
    parser.add_argument("--requests", type=int, default=20_000, help="in-process lookups")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--rounds", type=int, default=3, help="wrk runs per cell; medians")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("needs wrk and taskset (make setup installs wrk)")
    seconds = 3 if args.quick else 5
    work = Path(tempfile.mkdtemp(prefix="sextant-bench-features-"))
    model = concat_model(work / "features.onnx", FEATURES)
    with LocalRedis(work / "redis") as store, redis.Redis.from_url(store.url) as client:
        online = seed(work, client, store.url)
        latency = in_process(model, online, args.requests)
        print(
            f"enrichment step, 1 entity x {len(FEATURES)} features, {latency.requests} requests: "
            f"p50 {latency.p50_us:.0f} us, p99 {latency.p99_us:.0f} us, "
            f"p99.9 {latency.p999_us:.0f} us; CPU {latency.cpu_us:.0f} us per lookup"
        )
        cells = end_to_end(
            model,
            online,
            work,
            seconds,
            concurrency=[int(c) for c in args.concurrency.split(",")],
            rounds=args.rounds,
        )
    print("| concurrency | inline req/s | enriched req/s | throughput cost | inline p50 ms "
          "| enriched p50 ms | inline p99 ms | enriched p99 ms | errors |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for c in cells:
        print(
            f"| {c.concurrency} | {c.inline_rps:,.0f} | {c.enriched_rps:,.0f} | "
            f"{c.throughput_cost:.0%} | {c.inline_p50_ms:.2f} | {c.enriched_p50_ms:.2f} | "
            f"{c.inline_p99_ms:.2f} | {c.enriched_p99_ms:.2f} | {c.errors} |"
        )
    out = ROOT / "bench" / "results" / "feature_enrichment.json"
    out.write_text(
        json.dumps({"latency": asdict(latency), "end_to_end": [asdict(c) for c in cells]}, indent=2)
        + "\n"
    )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
