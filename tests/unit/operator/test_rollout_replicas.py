import pytest

from sextant_operator.rollout.replicas import observed_weight, split, weight_counts
from sextant_operator.rollout.types import VersionState


@pytest.mark.parametrize(
    ("weight", "replicas", "expected"),
    [
        (10, 10, (1, 9)),  # acceptance 1
        (50, 3, (2, 1)),  # acceptance 2: a tie rounds the canary up
        (1, 3, (1, 2)),  # never 0 at 1-99%
        (99, 3, (2, 1)),  # ... on either side
        (25, 2, (1, 1)),
        (50, 1, (1, 1)),  # one replica: one pod each while 1-99%
        (0, 5, (0, 5)),
        (100, 5, (5, 0)),
        (30, 0, (0, 0)),
        (15, 10, (2, 8)),  # 1.5 -> 2
        (14, 10, (1, 9)),
    ],
)
def test_canary_gets_the_count_closest_to_weight_times_replicas(
    weight: int, replicas: int, expected: tuple[int, int]
) -> None:
    assert weight_counts(weight, replicas) == expected


def test_stable_shrinks_only_for_canary_pods_that_are_ready() -> None:
    stable = VersionState(replicas=10, total=10, ready=10)
    not_ready = split(50, 10, VersionState(replicas=5, total=5, ready=0), stable)
    assert (not_ready.canary, not_ready.stable, not_ready.reached) == (5, 10, False)
    two_ready = split(50, 10, VersionState(replicas=5, total=5, ready=2), stable)
    assert (two_ready.stable, two_ready.reached) == (8, False)
    all_ready = split(50, 10, VersionState(5, 5, 5), VersionState(5, 5, 5))
    assert (all_ready.stable, all_ready.reached) == (5, True)


def test_weight_is_reached_only_once_surplus_stable_pods_are_gone() -> None:
    still_ten = split(50, 10, VersionState(5, 5, 5), VersionState(5, 10, 10))
    assert not still_ten.reached


def test_observed_weight_is_the_share_of_ready_pods() -> None:
    assert observed_weight(VersionState(2, 2, 2), VersionState(1, 1, 1)) == 67
    assert observed_weight(VersionState(5, 5, 0), VersionState(10, 10, 10)) == 0
    assert observed_weight(VersionState(0, 0, 0), VersionState(0, 0, 0)) == 0
