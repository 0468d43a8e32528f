"""Data quality of one feature, from the same prepared samples as the drift tests."""

from __future__ import annotations

import numpy as np

from sextant_runtime.drift.samples import CategoricalSide, Counted, NumericalSide, Pair
from sextant_runtime.drift.types import Quality

NEW_CATEGORIES_LISTED = 10


def counted_quality(reference: Counted, current: Counted) -> Quality:
    return Quality(
        missing_share=_share(current.missing, current.rows),
        reference_missing_share=_share(reference.missing, reference.rows),
        infinite_share=_share(current.infinite, current.rows),
    )


def pair_quality(pair: Pair) -> Quality:
    quality = counted_quality(pair.reference.counted, pair.current.counted)
    ref, cur = pair.reference, pair.current
    if isinstance(ref, NumericalSide) and isinstance(cur, NumericalSide):
        if len(ref.values) and len(cur.values):
            below = int(np.searchsorted(cur.values, ref.values[0], "left"))
            above = len(cur.values) - int(np.searchsorted(cur.values, ref.values[-1], "right"))
            quality.out_of_range_share = (below + above) / len(cur.values)
    elif isinstance(ref, CategoricalSide) and isinstance(cur, CategoricalSide):
        keys, ref_counts, cur_counts = pair.counts
        new = (ref_counts == 0) & (cur_counts > 0)
        quality.new_category_count = int(np.count_nonzero(new))
        quality.new_categories = sorted(k for k, n in zip(keys, new, strict=True) if n)[
            :NEW_CATEGORIES_LISTED
        ]
        total = int(cur_counts.sum())
        quality.new_category_share = _share(int(cur_counts[new].sum()), total)
    return quality


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 0.0
