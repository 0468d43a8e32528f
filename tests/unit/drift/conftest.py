from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sextant_runtime.drift.samples import Pair, categorical_side, numerical_side
from sextant_runtime.drift.types import Kind


def numerical_pair(reference: np.ndarray | list[float], current: np.ndarray | list[float]) -> Pair:
    return Pair(
        Kind.NUMERICAL,
        numerical_side(pa.array(np.asarray(reference, dtype=np.float64))),
        numerical_side(pa.array(np.asarray(current, dtype=np.float64))),
    )


def categorical_pair(reference: list[str], current: list[str]) -> Pair:
    return Pair(
        Kind.CATEGORICAL, categorical_side(pa.array(reference)), categorical_side(pa.array(current))
    )


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)
