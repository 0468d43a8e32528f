"""Multiple-testing correction of p-values across the features of one check.

With 50 features tested at 0.05, about 2.5 drift by chance in every window. Bonferroni
controls the chance of any false alarm (p * m); Benjamini-Hochberg the expected share of
false alarms among the flagged features, and keeps more power. Both return adjusted
p-values, compared with the usual threshold.
"""

from __future__ import annotations

import numpy as np

from sextant_runtime.drift.types import Correction


def adjust(p_values: np.ndarray, method: Correction) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64)
    m = len(p)
    if method == "none" or m == 0:
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    if method == "bh":
        order = np.argsort(p, kind="stable")
        ranked = p[order] * m / np.arange(1, m + 1)
        # Step-up: each adjusted value is the smallest of those at its rank and above.
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        adjusted = np.empty(m)
        adjusted[order] = np.minimum(ranked, 1.0)
        return adjusted
    raise ValueError(f"unknown correction {method!r}")
