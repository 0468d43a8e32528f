"""Prediction log overhead: `sextant serve` throughput with logging at sample rate 1.0
against logging off, in the same run, on a real Redis.

    .venv/bin/python -m bench.prediction_log               # 6 rounds of 8 s per arm
    .venv/bin/python -m bench.prediction_log --rounds 2 --seconds 3   # a smoke check

The small MLP (64-256-256-10, where a request costs least, so logging weighs most; or
`--model compute`, 512-2048-2048-1000, 6 KB in and 4 KB out a request) is served by a
fresh server per measurement, pinned to CPU 0 with one backend thread; wrk and Redis
share CPU 1, so the server's CPU 0 carries the whole cost of logging (the
inference thread's enqueue and the writer thread's encoding and pipelining). The two
arms alternate (off, on, off, on, ...) so a change in the machine's load hits both; the
figures are the ratio of the medians and the median of each round's own ratio (its two
runs are seconds apart, so a slow drift in the machine's load cancels). On a shared
machine throughput moves with other load, so each run also records the server's CPU time
per request (/proc, all threads), which is what logging costs. Every logged run also
checks that the entries reached Redis (`sextant_prediction_log_entries_total`) and counts
drops. The result goes to stdout and to bench/results/prediction_log-MODEL.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

from bench.models import COMPUTE_BOUND, SMALL, save_mlp
from bench.runtime import LOAD_CPU, MAX_BATCH, SERVER_CPU, lua_script, wrk
from sextant.devenv.redis import LocalRedis

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    logging: bool
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    written: float  # entries the server wrote to Redis during the measured run
    dropped: float  # sampled entries it dropped (buffer full or Redis error)
    cpu_us_per_request: float  # the server process's CPU time (user + system) per request


def _counter(text: str, name: str) -> float:
    return sum(float(m[1]) for m in re.finditer(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.M))


def _counters(url: str) -> tuple[float, float, float]:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return (
        _counter(text, "sextant_prediction_log_entries_total"),
        _counter(text, "sextant_prediction_log_dropped_total"),
        _counter(text, "sextant_inference_requests_total"),
    )


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    model: Path, script: Path, port: int, log_url: str | None, *, args: argparse.Namespace
) -> Run:
    log = Path(script.parent / f"serve-{port}.log")
    sextant = Path(sys.executable).parent / "sextant"
    argv = ["taskset", "-c", SERVER_CPU, str(sextant), "serve", str(model), "--name", "mlp",
            "--host", "127.0.0.1", "--port", str(port), "--threads", "1",
            "--max-batch-size", str(MAX_BATCH), "--max-delay-ms", "0",
            "--drain-seconds", "0", "--log-format", "text"]  # fmt: skip
    if log_url is not None:
        argv += ["--prediction-log-url", log_url, "--prediction-log-max-length", "100000",
                 "--prediction-log-sample-rate", str(args.sample_rate)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        try:
            _wait_ready(url, proc, log)
            infer = f"{url}/v2/models/mlp/infer"
            wrk(infer, script, args.concurrency, 2)  # warm-up
            written0, dropped0, requests0 = _counters(url)
            cpu0 = _cpu_seconds(proc.pid)
            rps, p50, p99, errors = wrk(infer, script, args.concurrency, args.seconds)
            time.sleep(0.5)  # let the writer flush what the run left in its buffer
            cpu1 = _cpu_seconds(proc.pid)
            written1, dropped1, requests1 = _counters(url)
        finally:
            proc.terminate()
            proc.wait(timeout=60)
    cpu = (cpu1 - cpu0) / max(requests1 - requests0, 1) * 1e6
    return Run(
        log_url is not None, rps, p50, p99, errors, written1 - written0, dropped1 - dropped0, cpu
    )


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"server exited; see {log}")
        time.sleep(0.2)
    raise RuntimeError(f"server not ready; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6, help="runs per arm, alternating")
    parser.add_argument("--seconds", type=int, default=8, help="measured seconds per run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sample-rate", type=float, default=1.0, help="of the logged arm")
    parser.add_argument("--model", choices=["small", "compute"], default="small")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("needs wrk and taskset (make setup installs wrk)")
    work = Path(tempfile.mkdtemp(prefix="sextant-bench-log-"))
    layers = SMALL if args.model == "small" else COMPUTE_BOUND
    model = save_mlp(work / f"{args.model}.onnx", layers)
    script = lua_script(work / f"{args.model}.lua", layers[0])
    redis = LocalRedis(work / "redis")
    redis.start()
    os.sched_setaffinity(redis.process.pid, {int(LOAD_CPU)})  # with wrk, off the server's CPU
    runs: list[Run] = []
    port = 18900
    try:
        for round_ in range(args.rounds):
            for log_url in (None, redis.url) if round_ % 2 == 0 else (redis.url, None):
                port += 1
                run = measure(model, script, port, log_url, args=args)
                runs.append(run)
                print(
                    f"round {round_ + 1} logging {'on ' if run.logging else 'off'}: "
                    f"{run.requests_per_s:,.0f} req/s p50 {run.p50_ms:.2f} ms "
                    f"p99 {run.p99_ms:.2f} ms errors {run.errors} "
                    f"written {run.written:,.0f} dropped {run.dropped:,.0f} "
                    f"cpu {run.cpu_us_per_request:.1f} us/request",
                    flush=True,
                )
    finally:
        redis.stop()
    off = statistics.median(r.requests_per_s for r in runs if not r.logging)
    on = statistics.median(r.requests_per_s for r in runs if r.logging)
    logged = [r for r in runs if r.logging]
    cpu_off = statistics.median(r.cpu_us_per_request for r in runs if not r.logging)
    pairs = [(a, b) if a.logging else (b, a) for a, b in zip(runs[::2], runs[1::2], strict=True)]
    paired = statistics.median(on_run.requests_per_s / off_run.requests_per_s
                               for on_run, off_run in pairs)  # fmt: skip
    paired_cpu = statistics.median(on_run.cpu_us_per_request / off_run.cpu_us_per_request
                                   for on_run, off_run in pairs)  # fmt: skip
    cpu_on = statistics.median(r.cpu_us_per_request for r in logged)
    summary = {
        "model": "-".join(map(str, layers)),
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "rounds": args.rounds,
        "sample_rate": args.sample_rate,
        "median_rps_off": off,
        "median_rps_on": on,
        "ratio_on_off": on / off,
        "median_cpu_us_per_request_off": cpu_off,
        "median_cpu_us_per_request_on": cpu_on,
        "cpu_ratio_on_off": cpu_on / cpu_off,
        "median_paired_ratio_on_off": paired,
        "median_paired_cpu_ratio_on_off": paired_cpu,
        "logged_share": sum(r.written for r in logged)
        / max(sum(r.written + r.dropped for r in logged), 1),
        "runs": [asdict(r) for r in runs],
    }
    print(
        f"logging off {off:,.0f} req/s, on (sample rate {args.sample_rate}) {on:,.0f} req/s: "
        f"ratio {on / off:.3f} ({(on / off - 1) * 100:+.1f}%); server CPU per request "
        f"{cpu_off:.1f} -> {cpu_on:.1f} us ({(cpu_on / cpu_off - 1) * 100:+.1f}%); "
        f"entries written {summary['logged_share']:.1%} of sampled"
    )
    print(
        f"median of per-round ratios: throughput {paired:.3f} ({(paired - 1) * 100:+.1f}%), "
        f"CPU per request {paired_cpu:.3f} ({(paired_cpu - 1) * 100:+.1f}%)"
    )
    out = ROOT / "bench" / "results" / f"prediction_log-{args.model}.json"
    out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
