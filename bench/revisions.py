"""The runtime at a base git revision against the working tree, end to end under wrk.

    .venv/bin/python -m bench.revisions --base HEAD~1
    .venv/bin/python -m bench.revisions --base a5fc534 --models compute --concurrency 64

The base revision's source is exported (`git archive`) to a scratch folder; each run
starts `sextant serve` from one side (PYTHONPATH at that tree, the same .venv) with
bench/runtime.py's settings: the small or compute-bound MLP, one backend thread pinned to
CPU 0, max-delay-ms 0, single-row requests (`--encoding json` or `binary`) from wrk on
CPU 1. The sides alternate run by run (base, head, head, base, ...), so a change in the
machine's load hits both; each cell reports the ratio of the medians (head over base) and
the median of each round's own ratio, with CPU time per request. Uncommitted changes are
part of the head side. The table goes to stdout and to bench/results/revisions.json.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.alternating import order, paired_ratio, side_median
from bench.cpu_scheduling import MODELS
from bench.models import save_mlp
from bench.runtime import ROOT, lua_script, measure, serve_argv

SIDES = ("base", "head")


@dataclass
class Run:
    side: str
    requests_per_s: float
    p99_ms: float
    mean_batch: float
    errors: int
    cpu_us_per_request: float


@dataclass
class Cell:
    model: str
    concurrency: int
    base_rps: float
    head_rps: float
    ratio: float  # head over base, of the medians
    paired_ratio: float  # the median of each round's head / base
    base_p99_ms: float
    head_p99_ms: float
    base_cpu_us: float
    head_cpu_us: float
    errors: int
    runs: list[Run]


def export(revision: str, into: Path) -> str:
    """The revision's tracked files under `into`; returns its short commit id."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision], cwd=ROOT, check=True, capture_output=True,
        text=True,
    ).stdout.strip()  # fmt: skip
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return commit


def python_path(tree: Path) -> str:
    return os.pathsep.join(str(tree / sub) for sub in ("", "runtime", "operator"))


def run_cell(
    model: Path, script: Path, connections: int, *, trees: dict[str, Path],
    args: argparse.Namespace, ports: list[int], work: Path,
) -> list[Run]:  # fmt: skip
    runs: list[Run] = []
    for round_ in range(args.rounds):
        for side in order(SIDES, round_):
            os.environ["PYTHONPATH"] = python_path(trees[side])  # the server inherits it
            port = ports.pop()
            rps, _, p99, batch, errors, cpu_us, _ = measure(
                serve_argv(model, port, 0), port, script, connections=connections,
                seconds=args.seconds, work=work,
            )  # fmt: skip
            runs.append(Run(side, rps, p99, batch, int(errors), cpu_us))
            print(
                f"c={connections} round {round_ + 1} {side}: {rps:,.0f} req/s p99 {p99:.2f} ms "
                f"batch {batch:.1f} cpu {cpu_us:.1f} us",
                file=sys.stderr,
                flush=True,
            )
    return runs


def summarize(label: str, connections: int, runs: list[Run]) -> Cell:
    def median(side: str, field: str) -> float:
        return side_median(runs, side, field)

    paired = paired_ratio(runs, "head", "base")
    base, head = median("base", "requests_per_s"), median("head", "requests_per_s")
    return Cell(
        label, connections, round(base, 1), round(head, 1), round(head / base, 3),
        round(paired, 3), median("base", "p99_ms"), median("head", "p99_ms"),
        round(median("base", "cpu_us_per_request"), 1),
        round(median("head", "cpu_us_per_request"), 1), sum(r.errors for r in runs), runs,
    )  # fmt: skip


def table(cells: list[Cell]) -> str:
    lines = [
        "| model | concurrency | base req/s | head req/s | ratio of medians "
        "| median paired ratio | p99 ms base → head | CPU µs/request base → head | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cells:
        lines.append(
            f"| {c.model} | {c.concurrency} | {c.base_rps:,.0f} | {c.head_rps:,.0f} "
            f"| {c.ratio:.2f} | {c.paired_ratio:.2f} | {c.base_p99_ms:.2f} → "
            f"{c.head_p99_ms:.2f} | {c.base_cpu_us:.0f} → {c.head_cpu_us:.0f} | {c.errors} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=4, help="runs per side, alternating")
    parser.add_argument("--seconds", type=int, default=6, help="measured seconds per run")
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--models", default="small,compute")
    parser.add_argument("--encoding", choices=["json", "binary"], default="json")
    args = parser.parse_args()
    if shutil.which("wrk") is None or shutil.which("taskset") is None:
        sys.exit("needs wrk and taskset (make setup installs wrk)")
    work = Path(tempfile.mkdtemp(prefix="sextant-bench-revisions-"))
    commit = export(args.base, work / "base")
    trees = {"base": work / "base", "head": ROOT}
    ports = list(range(20700, 19700, -1))
    cells: list[Cell] = []
    for name, layers in (MODELS[m] for m in args.models.split(",")):
        label = f"{name}, {args.encoding}"
        model = save_mlp(work / f"{layers[0]}.onnx", layers)
        script = lua_script(work / f"{layers[0]}.lua", layers[0], args.encoding)
        for connections in (int(c) for c in args.concurrency.split(",")):
            runs = run_cell(
                model, script, connections, trees=trees, args=args, ports=ports, work=work
            )
            cells.append(summarize(label, connections, runs))
    out = ROOT / "bench" / "results" / "revisions.json"
    out.write_text(json.dumps({"base": commit, "cells": [asdict(c) for c in cells]}, indent=2))
    print(f"base {commit} against the working tree\n{table(cells)}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
