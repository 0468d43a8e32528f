"""A rollout whose FeatureView is stale pauses short of promotion, with the reason."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from sextant_operator.rollout import Decision, Observations, Tokens
from sextant_operator.rollout import decide as real_decide
from sextant_operator.rollout.progress import PROMOTION_HOLD_RECHECK_SECONDS
from tests.unit.operator import rollouts
from tests.unit.operator.rollouts import Cluster, blue_green_spec, canary_spec, running

STALE = "FeatureView user-features is stale: last materialized 2026-01-01T00:00:00Z"


@pytest.fixture
def hold(monkeypatch: pytest.MonkeyPatch) -> dict[str, str | None]:
    """What the gate says; the test driver passes it to the engine as the operator does."""
    said: dict[str, str | None] = {"reason": STALE}

    def decide(spec: Any, status: Any, seen: Observations, now: Any) -> Decision:
        return real_decide(spec, status, replace(seen, promotion_hold=said["reason"]), now)

    monkeypatch.setattr(rollouts, "decide", decide)
    return said


def canary_at_last_step() -> Cluster:
    said_nothing = running(canary_spec({"setWeight": 50}, replicas=4))
    said_nothing.target = "8"
    return said_nothing


def test_canary_holds_at_its_last_weight_while_features_are_stale(
    hold: dict[str, str | None],
) -> None:
    cluster = canary_at_last_step()
    decision = cluster.settle()
    assert cluster.counts == {"7": 2, "8": 2}  # the last step's 50%, not 100%
    assert cluster.state == "Paused"
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert STALE in (cluster.status.rollout.message or "")
    assert cluster.stable_version() == "7"
    assert decision.events == ()  # the Warning came once, when the hold began
    assert decision.requeue_after == PROMOTION_HOLD_RECHECK_SECONDS  # fresh views send no event


def test_canary_holding_on_features_warns_once_then_promotes_when_they_are_fresh(
    hold: dict[str, str | None],
) -> None:
    cluster = canary_at_last_step()
    reasons: list[str] = []
    for _ in range(6):
        reasons += [e.reason for e in cluster.step().events]
        cluster.ready_all()
    assert reasons.count("PromotionHeld") == 1
    hold["reason"] = None
    cluster.settle()
    assert cluster.state == "Succeeded"
    assert cluster.counts == {"8": 4}


def test_promote_full_promotes_a_canary_held_on_features(hold: dict[str, str | None]) -> None:
    cluster = canary_at_last_step()
    cluster.settle()
    cluster.step(Tokens(promote=True, full=True))
    cluster.settle()
    assert cluster.state == "Succeeded"
    assert cluster.stable_version() == "8"


def test_blue_green_preview_is_not_switched_to_while_features_are_stale(
    hold: dict[str, str | None],
) -> None:
    cluster = running(blue_green_spec(replicas=2))
    cluster.target = "8"
    decision = cluster.settle()
    assert decision.active == "7"
    assert decision.requeue_after == PROMOTION_HOLD_RECHECK_SECONDS
    assert cluster.state == "Paused"
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert STALE in (cluster.status.rollout.message or "")
    decision = cluster.step(Tokens(promote=True))
    assert decision.active == "8"  # a person's promote goes ahead anyway


def test_blue_green_auto_promotion_switches_once_features_are_fresh(
    hold: dict[str, str | None],
) -> None:
    cluster = running(blue_green_spec(replicas=2))
    cluster.target = "8"
    cluster.settle()
    hold["reason"] = None
    decision = cluster.step()
    assert decision.active == "8"
