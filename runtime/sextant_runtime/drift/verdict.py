"""From per-feature outcomes to the dataset's verdict.

Order: the multiple-testing correction adjusts the p-values, the effect-size floor then
clears drifts too small to matter, the window streaks (when kept) hold back drift until
it has lasted N windows, and finally the dataset drifts when the share of drifted
features among those tested reaches `drift_share` (Evidently: share >= 0.5).
"""

from __future__ import annotations

import numpy as np

from sextant_runtime.drift.correction import adjust
from sextant_runtime.drift.stattests import TESTS
from sextant_runtime.drift.streaks import WindowStreaks
from sextant_runtime.drift.types import DriftOptions, DriftResult, FeatureResult, Status


def apply_correction(results: list[FeatureResult], options: DriftOptions) -> None:
    if options.correction == "none":
        return
    tested = [r for r in results if r.status is Status.OK and r.p_value is not None]
    adjusted = adjust(np.array([r.p_value for r in tested], dtype=np.float64), options.correction)
    for result, p_value in zip(tested, adjusted, strict=True):
        result.adjusted_p_value = float(p_value)
        if result.test is not None and result.threshold is not None:
            result.drifted = TESTS[result.test].p_drifted(float(p_value), result.threshold)


def apply_effect_size_floor(results: list[FeatureResult], options: DriftOptions) -> None:
    floor = options.effect_size_floor
    if floor is None:
        return
    for result in results:
        if result.drifted and (result.effect_size is None or result.effect_size < floor):
            result.drifted = False
            result.message = (
                f"significant, but the effect size {result.effect_size:.4g} is under "
                f"the floor {floor:g}"
            )


def dataset_verdict(
    results: list[FeatureResult],
    options: DriftOptions,
    *,
    sample_size: int,
    reference_size: int,
    streaks: WindowStreaks | None = None,
) -> DriftResult:
    apply_correction(results, options)
    apply_effect_size_floor(results, options)
    if streaks is not None:
        streaks.advance(results, options.consecutive)
    tested = [r for r in results if r.status is Status.OK]
    drifted = sum(r.drifted for r in tested)
    share = drifted / len(tested) if tested else 0.0
    return DriftResult(
        features=results,
        sample_size=sample_size,
        reference_size=reference_size,
        drift_share=share,
        dataset_drift=bool(tested) and share >= options.drift_share,
        drift_share_threshold=options.drift_share,
        drifted_features=drifted,
        tested_features=len(tested),
        schema_violations=[
            f"{r.name}: {r.quality.schema}" for r in results if r.quality.schema is not None
        ],
        options=options,
    )
