"""Regenerates evidently_goldens.json: Evidently's verdicts on small fixed data sets.

Evidently is not a dependency of Sextant (it pulls some thirty packages, telemetry
among them); run this in a scratch virtual environment when the cases change:

    python3 -m venv /tmp/ev && /tmp/ev/bin/pip install evidently pandas
    /tmp/ev/bin/python tests/unit/drift/make_evidently_goldens.py

The data are stored in the JSON next to the verdicts, so the test needs neither
Evidently nor the random generator that made them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import evidently
import numpy as np
import pandas as pd
from evidently.legacy.metrics import ColumnDriftMetric
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report

OUT = Path(__file__).with_name("evidently_goldens.json")


def cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(12)

    def normal(loc: float, n: int) -> list[float]:
        return [round(float(v), 3) for v in rng.normal(loc, 1.0, n)]

    def choice(values: list[Any], n: int, p: list[float] | None = None) -> list[Any]:
        return [v.item() if hasattr(v, "item") else v for v in rng.choice(values, n, p=p)]

    with_nan = normal(0.0, 300)
    for i in range(0, 300, 17):
        with_nan[i] = math.nan
    small_shift = normal(0.05, 1300)
    return [
        {"name": "ks_shifted", "kind": "numerical", "ref": normal(0, 300), "cur": normal(0.4, 200)},
        {"name": "ks_same", "kind": "numerical", "ref": normal(0, 300), "cur": normal(0, 200)},
        {"name": "ks_nan", "kind": "numerical", "ref": with_nan, "cur": normal(0.3, 250)},
        {"name": "num_few_chisquare", "kind": "numerical",
         "ref": choice([1, 2, 3, 4], 400), "cur": choice([1, 2, 3, 4], 300, [0.4, 0.2, 0.2, 0.2])},
        {"name": "num_binary_z", "kind": "numerical",
         "ref": choice([0, 1], 500, [0.7, 0.3]), "cur": choice([0, 1], 400, [0.6, 0.4])},
        {"name": "cat_chisquare", "kind": "categorical",
         "ref": choice(["a", "b", "c"], 600), "cur": choice(["a", "b", "c"], 500, [0.3, 0.3, 0.4])},
        {"name": "cat_chisquare_same", "kind": "categorical",
         "ref": choice(["a", "b", "c"], 600), "cur": choice(["a", "b", "c"], 500)},
        {"name": "cat_new_category", "kind": "categorical",
         "ref": choice(["a", "b", "c"], 300), "cur": choice(["a", "b", "d"], 200)},
        {"name": "cat_binary_z", "kind": "categorical",
         "ref": choice(["yes", "no"], 800, [0.5, 0.5]),
         "cur": choice(["yes", "no"], 700, [0.45, 0.55])},
        {"name": "wasserstein_small_shift", "kind": "numerical",
         "ref": normal(0, 1500), "cur": small_shift},
        {"name": "wasserstein_shifted", "kind": "numerical",
         "ref": normal(0, 1500), "cur": normal(0.3, 1300)},
        {"name": "num_few_jensenshannon", "kind": "numerical",
         "ref": choice([1, 2, 3], 1500), "cur": choice([1, 2, 3], 1200, [0.5, 0.25, 0.25])},
        {"name": "cat_jensenshannon", "kind": "categorical",
         "ref": choice(["a", "b", "c", "d"], 2000),
         "cur": choice(["a", "b", "c", "d"], 1500, [0.4, 0.2, 0.2, 0.2])},
        {"name": "cat_jensenshannon_same", "kind": "categorical",
         "ref": choice(["a", "b", "c", "d"], 2000), "cur": choice(["a", "b", "c", "d"], 1500)},
        {"name": "psi_numerical", "kind": "numerical", "test": "psi",
         "ref": normal(0, 1500), "cur": normal(0.4, 1300)},
        {"name": "psi_categorical", "kind": "categorical", "test": "psi",
         "ref": choice(["a", "b", "c"], 1500),
         "cur": choice(["a", "b", "c"], 1200, [0.5, 0.3, 0.2])},
        {"name": "jensenshannon_numerical_small", "kind": "numerical", "test": "jensenshannon",
         "ref": normal(0, 500), "cur": normal(0.5, 400)},
        {"name": "wasserstein_explicit_small", "kind": "numerical", "test": "wasserstein",
         "ref": normal(0, 500), "cur": normal(0.05, 400)},
        {"name": "ks_explicit_large", "kind": "numerical", "test": "ks",
         "ref": normal(0, 2000), "cur": normal(0.1, 1500)},
    ]  # fmt: skip


def evidently_verdict(case: dict[str, Any]) -> dict[str, Any]:
    kind = case["kind"]
    ref = pd.DataFrame({"x": case["ref"]})
    cur = pd.DataFrame({"x": case["cur"]})
    mapping = ColumnMapping(
        numerical_features=["x"] if kind == "numerical" else [],
        categorical_features=["x"] if kind == "categorical" else [],
    )
    report = Report(metrics=[ColumnDriftMetric(column_name="x", stattest=case.get("test"))])
    report.run(reference_data=ref, current_data=cur, column_mapping=mapping)
    result = report.as_dict()["metrics"][0]["result"]
    return {
        "test": result["stattest_name"],
        "score": result["drift_score"],
        "drifted": result["drift_detected"],
        "threshold": result["stattest_threshold"],
    }


def main() -> None:
    out = []
    for case in cases():
        case["evidently"] = evidently_verdict(case)
        out.append(case)
    payload = {"evidently": evidently.__version__, "cases": out}
    OUT.write_text(json.dumps(payload, allow_nan=True) + "\n")
    for case in out:
        print(case["name"], case["evidently"])


if __name__ == "__main__":
    main()
