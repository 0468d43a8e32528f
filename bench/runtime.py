"""Runtime benchmark: `sextant serve` under wrk against the in-process onnxruntime ceiling.

    .venv/bin/python -m bench.runtime            # the full table (a few minutes)
    .venv/bin/python -m bench.runtime --quick    # 3 s runs, for a smoke check

For each model (small MLP 64-256-256-10, compute-bound MLP 512-2048-2048-1000, both built
here from seeded random weights) and each concurrency (1, 16, 64), it starts the server
pinned to CPU 0 with one backend thread, drives single-row JSON requests with wrk pinned
to CPU 1, and reads the mean batch size from the server's own metrics. The ceiling is
onnxruntime in-process on CPU 0 with the same thread count at the server's max batch size,
measured in the same run (before and after the server runs; the mean is used), so the
"share of ceiling" column stays meaningful on a machine whose speed varies. The HTTP floor
is the same listener answering the model server's own response bytes with no model at all
(bench/floor.py), measured at each concurrency alternating with the model's server; from
it comes the "one-core bound": the share of the ceiling a server reaches when each request
costs the floor's CPU on top of its row's inference on the same core. The table goes to
stdout and to bench/results/runtime.json.
"""

from __future__ import annotations

import argparse
import contextlib
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
import numpy as np

from bench.models import COMPUTE_BOUND, SMALL, save_mlp

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU, LOAD_CPU = "0", "1"
MAX_BATCH = 32
BINARY = "application/octet-stream"


@dataclass
class Row:
    model: str
    max_delay_ms: float
    concurrency: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    mean_batch: float
    errors: int
    ceiling_rows_per_s: float
    share_of_ceiling: float
    inprocess_batch1_p50_ms: float
    # The same listener answering the same bytes with no model (bench/floor.py).
    floor_requests_per_s: float
    share_of_floor: float
    # The share of ceiling a server reaches if each request costs the floor's CPU on top of
    # its row's inference, all on one core: floor / (floor + ceiling).
    one_core_bound: float
    # Server process CPU (every thread) per request over the measured window.
    cpu_us_per_request: float
    floor_cpu_us_per_request: float


def ceiling(model: Path, seconds: float) -> tuple[float, float]:
    """(rows/s at batch MAX_BATCH, p50 ms at batch 1) of onnxruntime in a process on SERVER_CPU."""
    code = f"""
import time, numpy as np, onnxruntime as ort
o = ort.SessionOptions(); o.intra_op_num_threads = 1; o.inter_op_num_threads = 1
o.add_session_config_entry("session.intra_op.allow_spinning", "0")
s = ort.InferenceSession({str(model)!r}, o, providers=["CPUExecutionProvider"])
width = s.get_inputs()[0].shape[1]
x = np.random.default_rng(0).standard_normal(({MAX_BATCH}, width)).astype(np.float32)
for _ in range(20): s.run(None, {{"x": x}})
n, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < {seconds}:
    s.run(None, {{"x": x}}); n += 1
rows = n * {MAX_BATCH} / (time.perf_counter() - t0)
one = x[:1].copy(); lat = []
t0 = time.perf_counter()
while time.perf_counter() - t0 < {seconds} / 2:
    a = time.perf_counter(); s.run(None, {{"x": one}}); lat.append(time.perf_counter() - a)
lat.sort()
print(rows, lat[len(lat) // 2] * 1000)
"""
    out = subprocess.run(
        ["taskset", "-c", SERVER_CPU, sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[0]), float(out[1])


def request_body(width: int, encoding: str = "json") -> tuple[bytes, int | None]:
    """One single-row request: JSON tensors, or the binary tensor data extension (input
    and output as raw float32 after a JSON header, as tritonclient sends them). Returns
    the body and, for binary, its JSON header's length."""
    values = np.random.default_rng(1).random(width).astype(np.float32)
    tensor = {"name": "x", "shape": [1, width], "datatype": "FP32"}
    if encoding == "json":
        body = {"inputs": [{**tensor, "data": values.tolist()}]}
        return json.dumps(body).encode(), None
    header = json.dumps(
        {
            "inputs": [{**tensor, "parameters": {"binary_data_size": values.nbytes}}],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    return header + values.tobytes(), len(header)


def lua_script(path: Path, width: int, encoding: str = "json") -> Path:
    """A wrk script posting `request_body(width, encoding)`."""
    body, header_length = request_body(width, encoding)
    body_path = path.with_suffix(".body")
    body_path.write_bytes(body)
    content_type = "application/json" if header_length is None else "application/octet-stream"
    lines = ['wrk.method = "POST"', f'wrk.headers["Content-Type"] = "{content_type}"']
    if header_length is not None:
        lines.append(f'wrk.headers["Inference-Header-Content-Length"] = "{header_length}"')
    lines += [f'local f = io.open("{body_path}", "rb")', 'wrk.body = f:read("*all")', "f:close()"]
    path.write_text("\n".join(lines) + "\n")
    return path


def serve_argv(model: Path, port: int, max_delay_ms: float) -> list[str]:
    sextant = Path(sys.executable).parent / "sextant"
    argv = [str(sextant), "serve", str(model), "--name", "mlp"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    argv += ["--max-batch-size", str(MAX_BATCH), "--max-delay-ms", str(max_delay_ms)]
    return [*argv, "--drain-seconds", "0", "--log-format", "text"]


def floor_argv(response: Path, port: int, header_length: str | None) -> list[str]:
    """bench/floor.py answering `response`'s bytes (what the model's server answered)."""
    argv = [sys.executable, "-m", "bench.floor", "--port", str(port), "--response", str(response)]
    if header_length is not None:
        argv += ["--content-type", "application/octet-stream", "--header-length", header_length]
    return argv


class Server:
    def __init__(self, argv: list[str], port: int, log: Path, cpus: str = SERVER_CPU) -> None:
        argv = ["taskset", "-c", cpus, *argv]
        self.url = f"http://127.0.0.1:{port}"
        self._log = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/v2/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited; see {log}")
            time.sleep(0.2)
        raise RuntimeError(f"server not ready; see {log}")

    def batches(self) -> tuple[float, float]:
        text = httpx.get(f"{self.url}/metrics", timeout=5).text
        total = re.search(r"^sextant_inference_batch_size_sum\{.*\} (\S+)$", text, re.M)
        count = re.search(r"^sextant_inference_batch_size_count\{.*\} (\S+)$", text, re.M)
        if total is None or count is None:
            raise RuntimeError(f"no batch metrics at {self.url}/metrics")
        return float(total[1]), float(count[1])

    def cpu_seconds(self) -> float:
        """User + system CPU of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def context_switches(self) -> int:
        """Voluntary and involuntary context switches of the server's threads so far."""
        total = 0
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                for line in (task / "status").read_text().splitlines():
                    if "ctxt_switches:" in line:
                        total += int(line.split()[1])
        return total

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)
        self._log.close()


def wrk(
    url: str, script: Path, connections: int, seconds: float
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, errors) from one wrk run pinned to LOAD_CPU."""
    out = subprocess.run(
        ["taskset", "-c", LOAD_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout  # fmt: skip
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M)[1])  # type: ignore[index]
    errors = 0
    for pattern in (
        r"Non-2xx or 3xx responses: (\d+)",
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
    ):
        match = re.search(pattern, out)
        if match:
            errors += sum(int(g) for g in match.groups())
    return rps, p50, p99, errors


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def measure(
    argv: list[str],
    port: int,
    script: Path,
    *,
    connections: int,
    seconds: float,
    work: Path,
    cpus: str = SERVER_CPU,
) -> tuple[float, ...]:
    """One fresh server, a 2 s warm-up, one measured wrk run: (req/s, p50, p99, batch,
    errors, server CPU µs per request, context switches per request). The mean batch is 0
    for the floor (no metrics)."""
    server = Server(argv, port, work / f"serve-{port}.log", cpus)
    url = f"{server.url}/v2/models/mlp/infer"
    model = argv[0] != sys.executable
    try:
        wrk(url, script, connections, 2)
        total0, count0 = server.batches() if model else (0.0, 0.0)
        cpu0, switches0 = server.cpu_seconds(), server.context_switches()
        rps, p50, p99, errors = wrk(url, script, connections, seconds)
        cpu1, switches1 = server.cpu_seconds(), server.context_switches()
        total1, count1 = server.batches() if model else (0.0, 0.0)
    finally:
        server.stop()
    requests = max(rps * seconds, 1)
    cpu_us = (cpu1 - cpu0) / requests * 1e6
    batch = (total1 - total0) / max(count1 - count0, 1)
    return rps, p50, p99, batch, errors, cpu_us, (switches1 - switches0) / requests


def canned_response(model: Path, width: int, port: int, encoding: str, work: Path) -> list[str]:
    """The model server's answer to the bench request, saved for the floor to replay;
    returns the floor's argv."""
    body, header_length = request_body(width, encoding)
    headers = {"content-type": "application/json" if header_length is None else BINARY}
    if header_length is not None:
        headers["inference-header-content-length"] = str(header_length)
    server = Server(serve_argv(model, port, 0), port, work / f"serve-{port}.log")
    try:
        answer = httpx.post(f"{server.url}/v2/models/mlp/infer", content=body, headers=headers)
        answer.raise_for_status()
    finally:
        server.stop()
    saved = work / f"{width}-{encoding}.response"
    saved.write_bytes(answer.content)
    return floor_argv(saved, port, answer.headers.get("inference-header-content-length"))


def median_of(runs: list[tuple[float, ...]]) -> tuple[float, ...]:
    """Median req/s, p50, p99, batch and CPU per request over the rounds; errors summed."""
    median = [statistics.median(r[i] for r in runs) for i in range(len(runs[0]))]
    median[4] = sum(r[4] for r in runs)
    return tuple(median)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="3 s runs instead of 10 s")
    parser.add_argument(
        "--delays", default="0,5", help="max-delay-ms values to run (comma-separated)"
    )
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--encoding", choices=["json", "binary"], default="json")
    parser.add_argument("--models", default="small,compute")
    parser.add_argument("--rounds", type=int, default=1, help="runs per cell; the median is kept")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("needs wrk and taskset (make setup installs wrk)")
    seconds = 3 if args.quick else 10
    work = Path(tempfile.mkdtemp(prefix="sextant-bench-"))
    rows: list[Row] = []
    ports = iter(range(18701, 19700))
    models = {
        "small": ("small 64-256-256-10", SMALL),
        "compute": ("compute 512-2048-2048-1000", COMPUTE_BOUND),
    }
    concurrencies = [int(c) for c in args.concurrency.split(",")]
    for name, layers in (models[m] for m in args.models.split(",")):
        label = f"{name} ({args.encoding})" if args.encoding != "json" else name
        model = save_mlp(work / f"{layers[0]}.onnx", layers)
        script = lua_script(work / f"{layers[0]}.lua", layers[0], args.encoding)
        floor = canned_response(model, layers[0], next(ports), args.encoding, work)
        before = ceiling(model, seconds / 2)
        results = []
        floors: dict[int, tuple[float, float]] = {}  # req/s, CPU µs per request
        for delay in [float(d) for d in args.delays.split(",")]:
            for connections in concurrencies:
                # The model's server and the floor alternate round by round, so that a
                # busy moment of the machine hurts both alike.
                runs: list[tuple[float, ...]] = []
                floor_runs: list[tuple[float, ...]] = []
                for _ in range(args.rounds):
                    port = next(ports)
                    served = serve_argv(model, port, delay)
                    runs.append(measure(served, port, script, connections=connections,
                                        seconds=seconds, work=work))  # fmt: skip
                    if connections not in floors:
                        port = next(ports)
                        floor[floor.index("--port") + 1] = str(port)
                        floor_runs.append(measure(floor, port, script, connections=connections,
                                                  seconds=seconds, work=work))  # fmt: skip
                if floor_runs:
                    floor_median = median_of(floor_runs)
                    floors[connections] = (floor_median[0], floor_median[5])
                rps, p50, p99, mean_batch, errors, cpu_us, _ = median_of(runs)
                results.append((delay, connections, rps, p50, p99, mean_batch, int(errors), cpu_us))
                print(
                    f"{label} delay={delay} c={connections}: {rps:.0f} req/s p50 {p50:.2f} ms "
                    f"p99 {p99:.2f} ms batch {mean_batch:.1f} errors {errors} "
                    f"CPU {cpu_us:.0f} us/request (median of {len(runs)}); "
                    "HTTP floor {:.0f} req/s, {:.0f} us".format(*floors[connections]),
                    file=sys.stderr,
                )
        after = ceiling(model, seconds / 2)
        rows_per_s = statistics.mean([before[0], after[0]])
        batch1 = statistics.mean([before[1], after[1]])
        print(f"{label}: ceiling {before[0]:.0f} / {after[0]:.0f} rows/s", file=sys.stderr)
        for delay, connections, rps, p50, p99, mean_batch, errors, cpu_us in results:
            floor_rps, floor_cpu_us = floors[connections]
            rows.append(Row(label, delay, connections, round(rps, 1), round(p50, 3), round(p99, 3),
                            round(mean_batch, 2), errors, round(rows_per_s, 1),
                            round(rps / rows_per_s, 3), round(batch1, 3), round(floor_rps, 1),
                            round(rps / floor_rps, 3),
                            round(floor_rps / (floor_rps + rows_per_s), 3),
                            round(cpu_us, 1), round(floor_cpu_us, 1)))  # fmt: skip
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (
        out / ("runtime.json" if args.encoding == "json" else f"runtime-{args.encoding}.json")
    ).write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
    print(table(rows))
    shutil.rmtree(work, ignore_errors=True)


def table(rows: list[Row]) -> str:
    lines = [
        "| model | max-delay-ms | concurrency | req/s | p50 ms | p99 ms | mean batch | errors "
        "| ceiling rows/s | share of ceiling | in-process batch-1 p50 ms | HTTP floor req/s "
        "| share of floor | one-core bound | CPU µs/request | floor CPU µs/request |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.max_delay_ms:g} | {r.concurrency} | {r.requests_per_s:,.0f} "
            f"| {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.mean_batch:.1f} | {r.errors} "
            f"| {r.ceiling_rows_per_s:,.0f} | {r.share_of_ceiling:.0%} "
            f"| {r.inprocess_batch1_p50_ms:.3f} | {r.floor_requests_per_s:,.0f} "
            f"| {r.share_of_floor:.0%} | {r.one_core_bound:.0%} | {r.cpu_us_per_request:.0f} "
            f"| {r.floor_cpu_us_per_request:.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
