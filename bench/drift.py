"""Drift check benchmark: one check of a wide, long window against a reference.

Builds the data in memory from a seeded generator (nothing is read from disk, so the
figure is the check itself): 40 numerical features (normal, a few shifted, 1% NaN in
some) and 10 categorical ones (strings, 5 to 50 categories), reference and current
window of the same length by default. Times `check_drift` with the default (auto:
wasserstein / jensenshannon at this size) and the sample-size-aware options, best and
median of --rounds, and writes bench/results/drift.json.

    .venv/bin/python -m bench.drift [--rows 1000000] [--features 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from sextant_runtime.drift import DriftOptions, check_drift

RESULTS = Path(__file__).resolve().parent / "results" / "drift.json"


def make_table(rows: int, features: int, *, shifted: bool, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    columns: dict[str, pa.Array] = {}
    categorical = max(1, features // 5)
    for i in range(features - categorical):
        loc = 0.3 if shifted and i % 8 == 0 else 0.0
        values = rng.normal(loc, 1.0 + i / 100, rows)
        if i % 10 == 3:
            values[rng.random(rows) < 0.01] = np.nan
        columns[f"num_{i}"] = pa.array(values)
    for j in range(categorical):
        k = 5 + 5 * j
        names = np.array([f"c{j}_{v}" for v in range(k)])
        weights = np.linspace(1.0, 2.0 if shifted and j % 3 == 0 else 1.0, k)
        codes = rng.choice(k, rows, p=weights / weights.sum())
        columns[f"cat_{j}"] = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(names))
    return pa.table(columns)


def timed(
    reference: pa.Table, current: pa.Table, options: DriftOptions, rounds: int
) -> dict[str, Any]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        result = check_drift(reference, current, options=options)
        times.append(time.perf_counter() - start)
    return {
        "best_s": round(min(times), 3),
        "median_s": round(statistics.median(times), 3),
        "drifted_features": result.drifted_features,
        "tested_features": result.tested_features,
        "tests": sorted({f.test for f in result.features if f.test}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reference-rows", type=int, default=None)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()

    reference = make_table(args.reference_rows or args.rows, args.features, shifted=False, seed=1)
    current = make_table(args.rows, args.features, shifted=True, seed=2)
    runs = {
        "auto": DriftOptions(workers=args.workers),
        "sample_size_aware": DriftOptions(
            workers=args.workers, effect_size_floor=0.1, correction="bh"
        ),
        "ks_and_chisquare": DriftOptions(
            workers=args.workers, numerical_test="ks", categorical_test="chisquare"
        ),
    }
    report: dict[str, Any] = {
        "rows": args.rows,
        "reference_rows": reference.num_rows,
        "features": args.features,
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "runs": {},
    }
    for name, options in runs.items():
        report["runs"][name] = timed(reference, current, options, args.rounds)
        print(name, json.dumps(report["runs"][name]), flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
