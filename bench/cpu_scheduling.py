"""CPU scheduling: `sextant serve --cpu-scheduling batch` (the default) against `normal`.

    .venv/bin/python -m bench.cpu_scheduling                  # 4 rounds of 6 s per cell
    .venv/bin/python -m bench.cpu_scheduling --rounds 2 --seconds 3 --models small

For each model (the runtime benchmark's small and compute-bound MLPs, as ONNX or with
`--backend torchscript` the same weights in TorchScript) and concurrency, a fresh server
per run is pinned to CPU 0 (`--server-cpus`) with one backend thread (`--threads`) and
max-delay-ms 0; wrk on CPU 1 posts single-row JSON requests (as bench/runtime.py). The
two policies alternate run by run (normal, batch, batch, normal, ...), so a change in the
machine's load hits both; each cell reports the ratio of the medians and the median of
each round's own ratio, with the server's CPU time and context switches per request
(/proc, all threads). The table goes to stdout and to bench/results/cpu_scheduling*.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.alternating import order, paired_ratio, side_median
from bench.models import COMPUTE_BOUND, SMALL, save_mlp, save_torchscript_mlp
from bench.runtime import ROOT, SERVER_CPU, lua_script, measure, serve_argv

POLICIES = ("normal", "batch")
MODELS = {"small": ("small 64-256-256-10", SMALL), "compute": ("compute 512-2048-2048-1000",
                                                                  COMPUTE_BOUND)}  # fmt: skip


@dataclass
class Run:
    policy: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    mean_batch: float
    errors: int
    cpu_us_per_request: float
    switches_per_request: float

    @property
    def side(self) -> str:
        return self.policy


@dataclass
class Cell:
    model: str
    concurrency: int
    normal_rps: float
    batch_rps: float
    ratio: float  # batch over normal, of the medians
    paired_ratio: float  # the median of each round's batch / normal
    normal_p99_ms: float
    batch_p99_ms: float
    normal_cpu_us: float
    batch_cpu_us: float
    normal_switches: float
    batch_switches: float
    errors: int
    runs: list[Run]


def run_cell(
    model: Path, script: Path, connections: int, *, args: argparse.Namespace, ports: list[int],
    work: Path,
) -> list[Run]:  # fmt: skip
    runs: list[Run] = []
    for round_ in range(args.rounds):
        for policy in order(POLICIES, round_):
            port = ports.pop()
            argv = [*serve_argv(model, port, 0), "--cpu-scheduling", policy]
            argv[argv.index("--threads") + 1] = str(args.threads)
            rps, p50, p99, batch, errors, cpu_us, switches = measure(
                argv, port, script, connections=connections, seconds=args.seconds, work=work,
                cpus=args.server_cpus,
            )  # fmt: skip
            runs.append(Run(policy, rps, p50, p99, batch, int(errors), cpu_us, switches))
            print(
                f"c={connections} round {round_ + 1} {policy:>6}: {rps:,.0f} req/s "
                f"p99 {p99:.2f} ms batch {batch:.1f} cpu {cpu_us:.1f} us "
                f"switches {switches:.2f} per request",
                file=sys.stderr,
                flush=True,
            )
    return runs


def summarize(label: str, connections: int, runs: list[Run]) -> Cell:
    def median(policy: str, field: str) -> float:
        return side_median(runs, policy, field)

    paired = paired_ratio(runs, "batch", "normal")
    normal, batch = median("normal", "requests_per_s"), median("batch", "requests_per_s")
    return Cell(
        label, connections, round(normal, 1), round(batch, 1), round(batch / normal, 3),
        round(paired, 3), median("normal", "p99_ms"), median("batch", "p99_ms"),
        round(median("normal", "cpu_us_per_request"), 1),
        round(median("batch", "cpu_us_per_request"), 1),
        round(median("normal", "switches_per_request"), 2),
        round(median("batch", "switches_per_request"), 2),
        sum(r.errors for r in runs), runs,
    )  # fmt: skip


def table(cells: list[Cell]) -> str:
    lines = [
        "| model | concurrency | normal req/s | batch req/s | ratio of medians "
        "| median paired ratio | p99 ms normal → batch | CPU µs/request normal → batch "
        "| context switches/request normal → batch | errors |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c.model} | {c.concurrency} | {c.normal_rps:,.0f} | {c.batch_rps:,.0f} "
            f"| {c.ratio:.2f} | {c.paired_ratio:.2f} | {c.normal_p99_ms:.2f} → "
            f"{c.batch_p99_ms:.2f} | {c.normal_cpu_us:.0f} → {c.batch_cpu_us:.0f} "
            f"| {c.normal_switches:.2f} → {c.batch_switches:.2f} | {c.errors} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=4, help="runs per policy, alternating")
    parser.add_argument("--seconds", type=int, default=6, help="measured seconds per run")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--models", default="small,compute")
    parser.add_argument("--backend", choices=["onnx", "torchscript"], default="onnx")
    parser.add_argument("--threads", type=int, default=1, help="the server's backend threads")
    parser.add_argument("--server-cpus", default=SERVER_CPU, help="taskset list for the server")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("needs wrk and taskset (make setup installs wrk)")
    work = Path(tempfile.mkdtemp(prefix="sextant-bench-sched-"))
    ports = list(range(19700, 18700, -1))
    cells: list[Cell] = []
    variant = "" if args.backend == "onnx" else f" ({args.backend})"
    if args.threads != 1 or args.server_cpus != SERVER_CPU:
        variant += f", {args.threads} threads on CPUs {args.server_cpus}"
    for name, layers in (MODELS[m] for m in args.models.split(",")):
        label = name + variant
        if args.backend == "onnx":
            model = save_mlp(work / f"{layers[0]}.onnx", layers)
        else:
            model = save_torchscript_mlp(work / f"{layers[0]}.pt", layers)
        script = lua_script(work / f"{layers[0]}.lua", layers[0])
        for connections in (int(c) for c in args.concurrency.split(",")):
            runs = run_cell(model, script, connections, args=args, ports=ports, work=work)
            cells.append(summarize(label, connections, runs))
    suffix = "" if args.backend == "onnx" else f"-{args.backend}"
    suffix += "" if args.threads == 1 else f"-{args.threads}threads"
    out = ROOT / "bench" / "results" / f"cpu_scheduling{suffix}.json"
    out.write_text(json.dumps([asdict(c) for c in cells], indent=2) + "\n")
    print(table(cells))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
