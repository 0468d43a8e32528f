"""One drift check: every feature's tests, data quality and report data in one pass.

Features run in a thread pool: the heavy parts (sorting, searchsorted, Arrow's value
counts) release the GIL, so features proceed in parallel on every core. A feature that
cannot be tested (missing or mistyped column, nothing finite left, a failing test) gets
its own result with a status and a message; the check as a whole does not fail.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from sextant_runtime.drift.auto import auto_test
from sextant_runtime.drift.quality import counted_quality, pair_quality
from sextant_runtime.drift.samples import (
    CategoricalSide,
    NumericalSide,
    Pair,
    categorical_side,
    infer_kind,
    is_numeric_type,
    numerical_side,
)
from sextant_runtime.drift.stattests import TESTS, histogram_sorted
from sextant_runtime.drift.streaks import WindowStreaks
from sextant_runtime.drift.types import (
    Distribution,
    DriftOptions,
    DriftResult,
    Feature,
    FeatureResult,
    Kind,
    Quality,
    Status,
)
from sextant_runtime.drift.verdict import dataset_verdict

log = logging.getLogger(__name__)

REPORT_CATEGORIES = 20


def check_drift(
    reference: pa.Table,
    current: pa.Table,
    features: Sequence[Feature] | None = None,
    options: DriftOptions | None = None,
    streaks: WindowStreaks | None = None,
) -> DriftResult:
    """Test every feature of `current` against `reference`.

    `features` defaults to every reference column whose type is numerical or categorical
    (inferred from the Arrow type). Raises ValueError only for a usage error: a named
    feature that the reference lacks, or a numerical feature whose reference is not numbers.
    """
    options = options or DriftOptions()
    resolved = resolve_features(reference, features)
    workers = options.workers or os.cpu_count() or 1

    def one(feature: Feature) -> FeatureResult:
        column = current.column(feature.name) if feature.name in current.column_names else None
        return check_feature(feature, reference.column(feature.name), column, options)

    if workers == 1 or len(resolved) < 2:
        results = [one(feature) for feature in resolved]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift") as pool:
            results = list(pool.map(one, resolved))
    return dataset_verdict(
        results,
        options,
        sample_size=current.num_rows,
        reference_size=reference.num_rows,
        streaks=streaks,
    )


def resolve_features(reference: pa.Table, features: Sequence[Feature] | None) -> list[Feature]:
    if features is None:
        return [
            Feature(field.name, kind)
            for field in reference.schema
            if (kind := infer_kind(field.type)) is not None
        ]
    resolved = []
    for feature in features:
        if feature.name not in reference.column_names:
            raise ValueError(f"feature {feature.name!r} is not a column of the reference")
        data_type = reference.schema.field(feature.name).type
        kind = feature.kind or infer_kind(data_type)
        if kind is None:
            raise ValueError(f"feature {feature.name!r}: cannot test a {data_type} column")
        if kind is Kind.NUMERICAL and not (
            is_numeric_type(data_type) or pa.types.is_null(data_type)
        ):
            raise ValueError(
                f"feature {feature.name!r} is numerical but the reference holds {data_type}"
            )
        resolved.append(Feature(feature.name, kind))
    return resolved


def check_feature(
    feature: Feature,
    reference: pa.ChunkedArray,
    current: pa.ChunkedArray | None,
    options: DriftOptions,
) -> FeatureResult:
    kind = feature.kind or Kind.NUMERICAL
    result = FeatureResult(feature.name, kind)
    if current is None:
        result.status = Status.MISSING_COLUMN
        result.quality = Quality(schema="missing from the current data")
        result.message = "the current data has no such column"
        return result
    if kind is Kind.NUMERICAL and not (
        is_numeric_type(current.type) or pa.types.is_null(current.type)
    ):
        result.status = Status.TYPE_MISMATCH
        result.quality = Quality(schema=f"expected numbers, got {current.type}")
        result.message = f"the current data holds {current.type}, the reference numbers"
        return result
    try:
        _test_feature(result, Pair(kind, *_sides(kind, reference, current)), options)
    except Exception as err:  # one broken feature must not lose the others' results
        log.exception("drift test of feature %s failed", feature.name)
        result.status = Status.ERROR
        result.drifted = False
        result.message = f"{type(err).__name__}: {err}"
    return result


def _sides(
    kind: Kind, reference: pa.ChunkedArray, current: pa.ChunkedArray
) -> tuple[NumericalSide, NumericalSide] | tuple[CategoricalSide, CategoricalSide]:
    if kind is Kind.NUMERICAL:
        return numerical_side(reference), numerical_side(current)
    return categorical_side(reference), categorical_side(current)


def _test_feature(result: FeatureResult, pair: Pair, options: DriftOptions) -> None:
    result.reference_size, result.current_size = pair.n_reference, pair.n_current
    if pair.n_reference == 0 or pair.n_current == 0:
        result.quality = counted_quality(pair.reference.counted, pair.current.counted)
        empty = "reference" if pair.n_reference == 0 else "current data"
        result.status = Status.EMPTY_REFERENCE if pair.n_reference == 0 else Status.EMPTY_CURRENT
        result.message = f"no finite, non-missing value in the {empty}: not tested"
        return
    result.quality = pair_quality(pair)
    chosen = options.numerical_test if pair.kind is Kind.NUMERICAL else options.categorical_test
    test = TESTS[auto_test(pair) if chosen == "auto" else chosen]
    outcome = test.run(pair)
    result.test = test.name
    result.threshold = (
        options.threshold if options.threshold is not None else test.default_threshold
    )
    result.statistic, result.p_value = outcome.statistic, outcome.p_value
    result.effect_size = outcome.effect_size
    result.drifted = test.drifted(outcome, result.threshold)
    if not np.isfinite(outcome.statistic) and result.quality.new_category_count:
        result.message = "categories absent from the reference: the statistic is infinite"
    result.distribution = distribution(pair, options.bins)


def distribution(pair: Pair, bins: int) -> Distribution:
    """Shares per equal-width bin (numerical) or per category, for the report."""
    ref, cur = pair.reference, pair.current
    if isinstance(ref, NumericalSide) and isinstance(cur, NumericalSide):
        first = float(min(ref.values[0], cur.values[0]))
        last = float(max(ref.values[-1], cur.values[-1]))
        if first == last:
            first, last = first - 0.5, last + 0.5
        edges = np.linspace(first, last, bins + 1)
        ref_shares = histogram_sorted(ref.values, edges) / len(ref.values)
        cur_shares = histogram_sorted(cur.values, edges) / len(cur.values)
        labels = [f"{a:.4g} to {b:.4g}" for a, b in itertools.pairwise(edges)]
        return Distribution(labels, ref_shares.tolist(), cur_shares.tolist(), edges.tolist())
    keys, ref_counts, cur_counts = pair.counts
    ref_shares = ref_counts / max(int(ref_counts.sum()), 1)
    cur_shares = cur_counts / max(int(cur_counts.sum()), 1)
    order = np.argsort(-(ref_shares + cur_shares), kind="stable")
    top, rest = order[:REPORT_CATEGORIES], order[REPORT_CATEGORIES:]
    labels = [keys[i] for i in top]
    ref_list, cur_list = ref_shares[top].tolist(), cur_shares[top].tolist()
    if len(rest):
        labels.append(f"({len(rest)} others)")
        ref_list.append(float(ref_shares[rest].sum()))
        cur_list.append(float(cur_shares[rest].sum()))
    return Distribution(labels, ref_list, cur_list)
