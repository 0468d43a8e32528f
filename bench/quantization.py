"""Dynamic int8 quantization (spec.runtime.optimize.quantize): size, speed and error of the
int8 model against the float model, in the same run, as `sextant serve` loads them.

    .venv/bin/python -m bench.quantization                    # compute-bound MLP, 6 rounds
    .venv/bin/python -m bench.quantization --model small --rounds 2 --seconds 1

Both models are loaded through the runtime's own OnnxBackend (graph optimization all, one
intra-op thread, no spinning: the server's settings), pinned to one CPU. Each round times
the float and the int8 model back to back at batch 1 and at batch 32 (the server's max
batch size) for `--seconds` each, in alternating order; speed is rows per second of the
calling thread's CPU time (with one intra-op thread onnxruntime computes on the caller),
so other load on a shared machine does not count. Figures are medians over rounds, and
the speed-up is the median of each round's own ratio. Error is max |int8 - float| on
1,024 fresh random rows, also as a share of max |float| (the acceptance rule's scale),
and how often the argmax agrees. Results go to stdout and
bench/results/quantization-MODEL.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.models import COMPUTE_BOUND, SMALL, save_mlp
from sextant_runtime.backends.onnx import OnnxBackend
from sextant_runtime.optimize import Optimization

ROOT = Path(__file__).resolve().parent.parent
BATCHES = (1, 32)


def rows_per_cpu_second(backend: OnnxBackend, batch: np.ndarray, seconds: float) -> float:
    """Rows per second of this thread's CPU time (one intra-op thread runs on the caller),
    so time other processes take from the shared CPU does not count against either model."""
    inputs = {"x": batch}
    backend.predict(inputs)  # warm
    runs = 0
    wall, cpu = time.perf_counter(), time.thread_time()
    while time.perf_counter() - wall < seconds:
        backend.predict(inputs)
        runs += 1
    return runs * len(batch) / (time.thread_time() - cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=("compute", "small"), default="compute")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--cpu", type=int, default=0, help="CPU to pin to")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    layers = COMPUTE_BOUND if args.model == "compute" else SMALL
    with tempfile.TemporaryDirectory() as folder:
        path = save_mlp(Path(folder) / "mlp.onnx", layers)
        float_model = OnnxBackend(path, device="cpu", threads=1)
        started = time.perf_counter()
        int8_model = OnnxBackend(
            path, device="cpu", threads=1, optimization=Optimization(quantize="dynamic-int8")
        )
        load_seconds = time.perf_counter() - started
    quantization = int8_model.quantization
    assert quantization is not None
    if not quantization.accepted:
        raise SystemExit(f"int8 was not kept: {quantization.message}")

    rng = np.random.default_rng(1)
    probe = rng.standard_normal((1024, layers[0])).astype(np.float32)
    want = float_model.predict({"x": probe})["y"]
    got = int8_model.predict({"x": probe})["y"]
    error = float(np.max(np.abs(got - want)))
    agree = float(np.mean(np.argmax(got, axis=1) == np.argmax(want, axis=1)))

    speed: dict[int, dict[str, list[float]]] = {
        b: {"float": [], "int8": [], "ratio": []} for b in BATCHES
    }
    for round_ in range(args.rounds):
        for batch_size in BATCHES:
            batch = rng.standard_normal((batch_size, layers[0])).astype(np.float32)
            order = [("float", float_model), ("int8", int8_model)]
            if round_ % 2:
                order.reverse()
            measured = {name: rows_per_cpu_second(m, batch, args.seconds) for name, m in order}
            for name, value in measured.items():
                speed[batch_size][name].append(value)
            speed[batch_size]["ratio"].append(measured["int8"] / measured["float"])

    result: dict[str, Any] = {
        "model": f"{args.model} {'-'.join(map(str, layers))}",
        "rounds": args.rounds,
        "seconds_per_measurement": args.seconds,
        "float_bytes": quantization.float_bytes,
        "int8_bytes": quantization.int8_bytes,
        "size_ratio": round(quantization.int8_bytes / quantization.float_bytes, 3),
        "int8_load_seconds": round(load_seconds, 2),
        "acceptance_sample_max_error": round(quantization.max_error or 0.0, 5),
        "max_abs_error_1024_rows": round(error, 5),
        "max_abs_error_share_of_max_output": round(error / float(np.max(np.abs(want))), 5),
        "argmax_agreement_1024_rows": round(agree, 4),
        "batches": {
            str(b): {
                "float_rows_per_cpu_s": round(statistics.median(v["float"])),
                "int8_rows_per_cpu_s": round(statistics.median(v["int8"])),
                "speedup_median_of_round_ratios": round(statistics.median(v["ratio"]), 3),
                "speedup_rounds": [round(r, 3) for r in v["ratio"]],
            }
            for b, v in speed.items()
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    out = ROOT / "bench" / "results" / f"quantization-{args.model}.json"
    out.write_text(text + "\n")


if __name__ == "__main__":
    main()
