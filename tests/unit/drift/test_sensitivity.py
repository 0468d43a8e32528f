"""The opt-in sample-size-aware mode: effect-size floor, correction across features, and
drift declared only after N consecutive drifting windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
from scipy import stats

from sextant_runtime.drift import DriftOptions, WindowStreaks, check_drift
from sextant_runtime.drift.correction import adjust


def test_benjamini_hochberg_matches_scipy(rng: np.random.Generator) -> None:
    p = np.concatenate([rng.uniform(0, 0.01, 5), rng.uniform(0, 1, 20)])
    np.testing.assert_allclose(adjust(p, "bh"), stats.false_discovery_control(p, method="bh"))


def test_bonferroni_multiplies_by_the_number_of_tests() -> None:
    np.testing.assert_allclose(adjust(np.array([0.01, 0.2, 0.5]), "bonferroni"), [0.03, 0.6, 1.0])


def test_a_trivial_shift_in_a_huge_window_drifts_only_without_the_floor(
    rng: np.random.Generator,
) -> None:
    ref = pa.table({"x": rng.normal(0, 1, 200_000)})
    cur = pa.table({"x": rng.normal(0.02, 1, 200_000)})
    plain = check_drift(ref, cur, options=DriftOptions(numerical_test="ks")).feature("x")
    floored = check_drift(
        ref, cur, options=DriftOptions(numerical_test="ks", effect_size_floor=0.1)
    ).feature("x")
    assert plain.drifted
    assert plain.p_value is not None
    assert plain.p_value < 1e-6
    assert not floored.drifted
    assert "under the floor" in floored.message


def test_a_real_shift_passes_the_floor(rng: np.random.Generator) -> None:
    ref = pa.table({"x": rng.normal(0, 1, 50_000)})
    cur = pa.table({"x": rng.normal(0.5, 1, 50_000)})
    options = DriftOptions(numerical_test="ks", effect_size_floor=0.1)
    assert check_drift(ref, cur, options=options).feature("x").drifted


def test_correction_clears_drift_found_by_chance_among_many_features(
    rng: np.random.Generator,
) -> None:
    n = 300
    ref = pa.table({f"f{i}": rng.normal(0, 1, n) for i in range(60)})
    cur = pa.table({f"f{i}": rng.normal(0, 1, n) for i in range(60)})
    plain = check_drift(ref, cur)
    corrected = check_drift(ref, cur, options=DriftOptions(correction="bh"))
    assert plain.drifted_features >= 1  # about 3 of 60 at 0.05, by chance
    assert corrected.drifted_features == 0
    assert all(f.adjusted_p_value is not None for f in corrected.features)


def test_correction_keeps_a_real_drift(rng: np.random.Generator) -> None:
    n = 300
    ref = pa.table({f"f{i}": rng.normal(0, 1, n) for i in range(20)})
    cur = pa.table({f"f{i}": rng.normal(1.0 if i == 0 else 0, 1, n) for i in range(20)})
    for method in ("bh", "bonferroni"):
        result = check_drift(ref, cur, options=DriftOptions(correction=method))  # type: ignore[arg-type]
        assert result.feature("f0").drifted


def test_drift_is_declared_after_n_consecutive_drifting_windows(
    rng: np.random.Generator,
) -> None:
    ref = pa.table({"x": rng.normal(0, 1, 500)})
    shifted = pa.table({"x": rng.normal(1, 1, 500)})
    calm = pa.table({"x": rng.normal(0, 1, 500)})
    options = DriftOptions(consecutive=3)
    streaks = WindowStreaks()
    verdicts = []
    for window in (shifted, shifted, calm, shifted, shifted, shifted):
        feature = check_drift(ref, window, options=options, streaks=streaks).feature("x")
        verdicts.append((feature.drifted, feature.streak))
    assert verdicts == [(False, 1), (False, 2), (False, 0), (False, 1), (False, 2), (True, 3)]


def test_streaks_survive_a_restart_through_their_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    WindowStreaks({"x": 2}).save(path)
    assert WindowStreaks.load(path).by_feature == {"x": 2}
    assert WindowStreaks.load(tmp_path / "absent.json").by_feature == {}
