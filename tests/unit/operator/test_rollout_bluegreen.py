"""Blue-green transitions: preview, analysis gate, promotion, scale-down delay, abort."""

from datetime import timedelta

from sextant_operator.rollout import Tokens
from tests.unit.operator.rollouts import Cluster, blue_green_spec, running


def moved_to_8(**settings: object) -> Cluster:
    cluster = running(blue_green_spec(replicas=3, **settings))
    cluster.target = "8"
    return cluster


def test_steady_state_points_active_and_preview_at_stable() -> None:
    cluster = running(blue_green_spec())
    assert cluster.last is not None
    assert (cluster.last.active, cluster.last.preview) == ("7", "7")
    assert cluster.counts == {"7": 3}


def test_preview_gets_every_replica_while_active_stays_on_stable() -> None:
    cluster = moved_to_8(autoPromotion=False)
    decision = cluster.step()
    assert (decision.active, decision.preview) == ("7", "8")
    assert cluster.counts == {"7": 3, "8": 3}
    assert cluster.state == "Progressing"
    cluster.ready_all()
    decision = cluster.step()
    assert cluster.state == "Paused"
    assert decision.active == "7"


def test_auto_promotion_switches_once_the_preview_is_ready_and_keeps_old_pods() -> None:
    cluster = moved_to_8(scaleDownDelaySeconds=30)
    cluster.step()
    cluster.ready_all()
    decision = cluster.step()
    assert decision.active == "8"
    assert [e.reason for e in decision.events] == ["Switched"]
    assert cluster.state == "Promoting"
    assert cluster.counts == {"7": 3, "8": 3}
    assert decision.requeue_after == 30
    cluster.later(30)
    decision = cluster.step()
    assert cluster.counts == {"8": 3}
    assert cluster.state == "Succeeded"
    assert cluster.stable_version() == "8"
    assert (decision.active, decision.preview) == ("8", "8")


def test_promote_switches_a_preview_that_waits_for_it() -> None:
    cluster = moved_to_8(autoPromotion=False)
    cluster.settle()
    decision = cluster.step(Tokens(promote=True))
    assert decision.consumed.promote
    assert decision.active == "8"


def test_promote_before_the_preview_is_ready_is_kept_for_later() -> None:
    cluster = moved_to_8(autoPromotion=False)
    decision = cluster.step(Tokens(promote=True))
    assert not decision.consumed.promote
    assert decision.active == "7"


def test_abort_after_the_switch_points_active_back_at_stable_at_once() -> None:
    cluster = moved_to_8(scaleDownDelaySeconds=300, abortScaleDownDelaySeconds=0)
    cluster.step()
    cluster.ready_all()
    cluster.step()
    cluster.later(60)
    decision = cluster.step(Tokens(abort=True))
    assert decision.active == "7"
    assert cluster.counts == {"7": 3}
    assert cluster.state == "Aborted"
    assert cluster.stable_version() == "7"


def test_abort_before_the_switch_scales_the_preview_down() -> None:
    cluster = moved_to_8(autoPromotion=False, abortScaleDownDelaySeconds=0)
    cluster.settle()
    decision = cluster.step(Tokens(abort=True))
    assert (decision.active, cluster.counts) == ("7", {"7": 3})


def test_aborted_preview_keeps_its_pods_for_the_abort_delay_then_goes() -> None:
    cluster = moved_to_8(autoPromotion=False)  # abortScaleDownDelaySeconds: 30 by default
    cluster.settle()
    decision = cluster.step(Tokens(abort=True))
    assert (decision.active, decision.preview) == ("7", "7")  # no traffic reaches 8
    assert cluster.counts == {"7": 3, "8": 3}
    assert decision.requeue_after == 30
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert cluster.status.rollout.abort_scale_down_time == cluster.now + timedelta(seconds=30)
    cluster.later(29)
    assert cluster.step().requeue_after == 1
    assert cluster.counts == {"7": 3, "8": 3}
    cluster.later(1)
    decision = cluster.step()
    assert cluster.counts == {"7": 3}
    assert (cluster.state, decision.requeue_after) == ("Aborted", None)


def test_abort_delay_survives_an_operator_restart() -> None:
    cluster = moved_to_8(autoPromotion=False, abortScaleDownDelaySeconds=120)
    cluster.settle()
    cluster.step(Tokens(abort=True))
    cluster.later(100)  # operator down meanwhile: only status and the pods survive
    restarted = Cluster(
        cluster.spec, target="8", now=cluster.now, status=cluster.status, pods=dict(cluster.pods)
    )
    decision = restarted.step()
    assert restarted.counts == {"7": 3, "8": 3}
    assert decision.requeue_after == 20
    restarted.later(20)
    restarted.step()
    assert restarted.counts == {"7": 3}


def test_pre_promotion_analysis_without_a_judge_holds_the_switch() -> None:
    cluster = moved_to_8(prePromotionAnalysis=True)
    decision = cluster.settle()
    assert cluster.state == "Paused"
    assert decision.active == "7"
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert "analysis judge" in (cluster.status.rollout.message or "")


def test_pre_promotion_analysis_failure_aborts_and_success_waits_for_promote() -> None:
    failed = moved_to_8(
        prePromotionAnalysis=True, autoPromotion=False, abortScaleDownDelaySeconds=0
    )
    failed.analysis = "Failed"
    failed.settle()
    assert failed.state == "Aborted"
    assert failed.counts == {"7": 3}

    passed = moved_to_8(prePromotionAnalysis=True, autoPromotion=False)
    passed.analysis = "Successful"
    decision = passed.settle()
    assert passed.state == "Paused"
    assert decision.active == "7"
    assert passed.step(Tokens(promote=True)).active == "8"


def test_preview_that_never_gets_ready_is_aborted_at_the_progress_deadline() -> None:
    cluster = moved_to_8(abortScaleDownDelaySeconds=0)
    cluster.step()
    cluster.later(601)
    decision = cluster.step()
    assert cluster.state == "Aborted"
    assert [e.reason for e in decision.events] == ["ProgressDeadlineExceeded"]
    assert cluster.counts == {"7": 3}
