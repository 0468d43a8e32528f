"""`auto`: the test Evidently's default preset picks for a feature.

By the feature's kind, the number of (finite, non-missing) reference values and the
number of distinct values of both samples together:

| reference rows | numerical, <= 5 distinct | numerical, more | categorical |
| --- | --- | --- | --- |
| <= 1000 | chisquare (z when <= 2 distinct) | ks | chisquare (z when <= 2 distinct) |
| > 1000 | jensenshannon | wasserstein | jensenshannon |
"""

from __future__ import annotations

from sextant_runtime.drift.samples import Pair
from sextant_runtime.drift.types import Kind

SMALL_REFERENCE = 1000
FEW_VALUES = 5
BINARY = 2


def auto_test(pair: Pair) -> str:
    distinct = pair.union_unique(at_most=FEW_VALUES)
    if pair.n_reference <= SMALL_REFERENCE:
        if pair.kind is Kind.NUMERICAL and distinct > FEW_VALUES:
            return "ks"
        return "chisquare" if distinct > BINARY else "z"
    if pair.kind is Kind.NUMERICAL and distinct > FEW_VALUES:
        return "wasserstein"
    return "jensenshannon"
