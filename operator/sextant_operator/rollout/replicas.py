"""Replicas routing: weight becomes a share of pods behind the one Service.

As Argo Rollouts' basic canary: the canary gets the count closest to weight x N, ties
rounded up, and for 1-99% neither side is 0. Traffic only reaches ready pods, and the
stable shrinks only as canary pods become ready, so the canary never gets more than the
share its ready pods can serve and serving capacity never drops below N.
"""

from __future__ import annotations

from dataclasses import dataclass

from sextant_operator.rollout.types import VersionState


@dataclass(frozen=True)
class Split:
    canary: int  # pods the canary Deployment asks for
    stable: int  # pods the stable Deployment asks for now
    stable_goal: int  # where the stable ends once the canary pods are ready
    reached: bool  # the weight is in place: canary pods ready, surplus pods on both sides gone


def weight_counts(weight: int, replicas: int) -> tuple[int, int]:
    """(canary, stable) pods for `weight` percent of `replicas`."""
    if replicas <= 0:
        return 0, 0
    if weight <= 0:
        return 0, replicas
    if weight >= 100:
        return replicas, 0
    canary = (2 * weight * replicas + 100) // 200  # round half up, in integers
    canary = max(1, min(canary, replicas - 1)) if replicas > 1 else 1
    return canary, max(replicas - canary, 1)


def split(weight: int, replicas: int, canary: VersionState, stable: VersionState) -> Split:
    canary_goal, stable_goal = weight_counts(weight, replicas)
    # Stable gives up a pod only for a ready canary pod that takes its place.
    stable_now = min(replicas, max(stable_goal, replicas - min(canary.ready, canary_goal)))
    reached = (
        canary.ready >= canary_goal and canary.total <= canary_goal and stable.total <= stable_goal
    )
    return Split(canary_goal, stable_now, stable_goal, reached)


def observed_weight(canary: VersionState, stable: VersionState) -> int:
    """The canary's share of ready pods, in percent: what it really gets."""
    ready = canary.ready + stable.ready
    return 0 if ready == 0 else round(100 * canary.ready / ready)
