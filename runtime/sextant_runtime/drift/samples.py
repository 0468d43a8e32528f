"""One column of reference and current data, made ready for every test in one pass.

Numerical columns become sorted float64 arrays of their finite values (nulls, NaN and
infinities are counted, then dropped, as Evidently drops them); every numerical test,
histogram and quantile is then a searchsorted or a slice of those arrays. Categorical
columns become counts per category, aligned over the union of both sides' categories.
Categories are compared as strings, so an int64 code in the reference and the same code
in a float64 window still match.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sextant_runtime.drift.types import Kind


@dataclass
class Counted:
    """How many rows a column has, and how many of them are missing or infinite."""

    rows: int
    missing: int  # null or NaN
    infinite: int = 0


@dataclass
class NumericalSide:
    values: np.ndarray  # sorted finite float64 values
    counted: Counted


@dataclass
class CategoricalSide:
    keys: pa.Array  # distinct non-null values, as strings
    counts: np.ndarray  # int64, aligned with keys
    counted: Counted


def numerical_side(column: pa.ChunkedArray | pa.Array) -> NumericalSide:
    rows = len(column)
    if column.null_count or not (
        pa.types.is_integer(column.type) or pa.types.is_floating(column.type)
    ):
        values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    else:
        values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    finite = np.isfinite(values)
    n_finite = int(np.count_nonzero(finite))
    missing = int(np.count_nonzero(np.isnan(values))) if n_finite != rows else 0
    kept = values[finite] if n_finite != rows else values.copy()
    kept.sort()
    return NumericalSide(kept, Counted(rows, missing, rows - n_finite - missing))


def categorical_side(column: pa.ChunkedArray | pa.Array) -> CategoricalSide:
    rows = len(column)
    if pa.types.is_dictionary(column.type):
        column = pc.cast(column, column.type.value_type)
    if pa.types.is_null(column.type):
        column = pc.cast(column, pa.string())
    missing = column.null_count
    if pa.types.is_floating(column.type):
        nan = pc.is_nan(column)
        missing += int(pc.sum(nan).as_py() or 0)
        column = pc.filter(column, pc.invert(pc.fill_null(nan, True)))
    counted = pc.value_counts(column)
    values = counted.field("values")
    counts = counted.field("counts").to_numpy(zero_copy_only=False).astype(np.int64)
    valid = pc.is_valid(values)
    if values.null_count:
        values = pc.filter(values, valid)
        counts = counts[valid.to_numpy(zero_copy_only=False)]
    keys = pc.cast(values, pa.string())
    return CategoricalSide(keys, counts, Counted(rows, missing))


def is_numeric_type(data_type: pa.DataType) -> bool:
    return bool(pa.types.is_integer(data_type) or pa.types.is_floating(data_type)
                or pa.types.is_decimal(data_type))  # fmt: skip


def infer_kind(data_type: pa.DataType) -> Kind | None:
    """Numbers are numerical; strings, booleans and dictionaries are categorical, as in
    Evidently's column mapping; an all-null column is numerical (and reported as empty).
    Anything else (timestamps, lists) is not a feature."""
    if is_numeric_type(data_type) or pa.types.is_null(data_type):
        return Kind.NUMERICAL
    if pa.types.is_dictionary(data_type) or pa.types.is_boolean(data_type):
        return Kind.CATEGORICAL
    if pa.types.is_string(data_type) or pa.types.is_large_string(data_type):
        return Kind.CATEGORICAL
    if pa.types.is_string_view(data_type):
        return Kind.CATEGORICAL
    return None


@dataclass
class Pair:
    """Reference and current values of one feature; what tests read."""

    kind: Kind
    reference: NumericalSide | CategoricalSide
    current: NumericalSide | CategoricalSide

    @property
    def n_reference(self) -> int:
        side = self.reference
        return len(side.values) if isinstance(side, NumericalSide) else int(side.counts.sum())

    @property
    def n_current(self) -> int:
        side = self.current
        return len(side.values) if isinstance(side, NumericalSide) else int(side.counts.sum())

    def sorted_values(self) -> tuple[np.ndarray, np.ndarray]:
        if not (isinstance(self.reference, NumericalSide)
                and isinstance(self.current, NumericalSide)):  # fmt: skip
            raise TypeError("this test needs numerical values")
        return self.reference.values, self.current.values

    @cached_property
    def reference_unique(self) -> int:
        side = self.reference
        if isinstance(side, CategoricalSide):
            return len(side.keys)
        return _n_unique(side.values)

    def union_unique(self, at_most: int) -> int:
        """Distinct values of both sides together, counted up to `at_most + 1`."""
        if self.kind is Kind.CATEGORICAL:
            return len(self.counts[0])
        ref, cur = self.sorted_values()
        if self.reference_unique > at_most or _n_unique(cur) > at_most:
            return at_most + 1
        return len(np.union1d(_unique(ref), _unique(cur)))

    @cached_property
    def counts(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Categories of both sides, with the reference's and the current's count of each."""
        ref, cur = self.reference, self.current
        if isinstance(ref, NumericalSide) and isinstance(cur, NumericalSide):
            ref_keys, ref_counts = _unique_counts(ref.values)
            cur_keys, cur_counts = _unique_counts(cur.values)
            keys = np.union1d(ref_keys, cur_keys)
            ref_aligned = np.zeros(len(keys), dtype=np.int64)
            cur_aligned = np.zeros(len(keys), dtype=np.int64)
            ref_aligned[np.searchsorted(keys, ref_keys)] = ref_counts
            cur_aligned[np.searchsorted(keys, cur_keys)] = cur_counts
            return [_format(k) for k in keys], ref_aligned, cur_aligned
        if not (isinstance(ref, CategoricalSide) and isinstance(cur, CategoricalSide)):
            raise TypeError("reference and current disagree on the feature's kind")
        new = pc.invert(pc.is_in(cur.keys, value_set=ref.keys))
        new_keys = pc.filter(cur.keys, new)
        keys = pa.concat_arrays([ref.keys, new_keys]) if len(new_keys) else ref.keys
        ref_aligned = np.concatenate([ref.counts, np.zeros(len(new_keys), dtype=np.int64)])
        position = pc.index_in(keys, value_set=cur.keys)
        found = pc.is_valid(position).to_numpy(zero_copy_only=False)
        cur_aligned = np.zeros(len(keys), dtype=np.int64)
        index = pc.fill_null(position, 0).to_numpy(zero_copy_only=False)
        cur_aligned[found] = cur.counts[index[found]]
        return [str(k) for k in keys.to_pylist()], ref_aligned, cur_aligned


def _unique(values: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    return values[np.concatenate(([True], values[1:] != values[:-1]))]


def _n_unique(values: np.ndarray) -> int:
    if len(values) == 0:
        return 0
    return 1 + int(np.count_nonzero(values[1:] != values[:-1]))


def _unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if len(values) == 0:
        return values, np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    return values[starts], np.diff(np.append(starts, len(values)))


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
