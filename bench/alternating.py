"""Shared by the A/B benchmarks whose two sides alternate run by run (cpu_scheduling,
revisions): the order of each round, and the figures taken from the paired runs."""

from __future__ import annotations

import statistics
from typing import Any


def order(sides: tuple[str, str], round_: int) -> tuple[str, str]:
    """A then B in even rounds, B then A in odd ones, so drift in the machine's load
    hits both sides alike."""
    return sides if round_ % 2 == 0 else (sides[1], sides[0])


def side_median(runs: list[Any], side: str, field: str) -> float:
    """The median of `field` over the runs of one side (each run has `side` and the field)."""
    return float(statistics.median(getattr(r, field) for r in runs if r.side == side))


def paired_ratio(runs: list[Any], numerator: str, denominator: str) -> float:
    """The median over rounds of one side's requests/s over the other's in that round."""
    rounds = [runs[i : i + 2] for i in range(0, len(runs), 2)]
    return float(
        statistics.median(
            next(r for r in pair if r.side == numerator).requests_per_s
            / next(r for r in pair if r.side == denominator).requests_per_s
            for pair in rounds
        )
    )
