"""Every canary transition, one reconcile at a time, with a fake clock (see rollouts.py)."""

from sextant_operator.api.modeldeployment import ModelDeploymentSpec
from sextant_operator.rollout import Tokens, VersionState
from tests.unit.operator.rollouts import Cluster, canary_spec, running

STEPS = (
    {"setWeight": 10},
    {"pause": {"duration": "10m"}},
    {"setWeight": 50},
    {"pause": {}},
)
SPEC = canary_spec(*STEPS, replicas=10)


def moved_to_8(spec=SPEC) -> Cluster:  # type: ignore[no-untyped-def]
    cluster = running(spec)
    cluster.target = "8"
    return cluster


def test_first_version_becomes_stable_without_steps() -> None:
    cluster = Cluster(SPEC)
    decision = cluster.step()
    assert cluster.counts == {"7": 10}
    assert cluster.stable_version() == "7"
    assert cluster.state == "Idle"
    assert decision.canary is None


def test_new_version_gets_one_pod_in_ten_and_stable_shrinks_after_it_is_ready() -> None:
    cluster = moved_to_8()
    decision = cluster.step()
    assert cluster.counts == {"7": 10, "8": 1}  # stable keeps 10 until the canary is ready
    assert cluster.state == "Progressing"
    assert [e.reason for e in decision.events] == ["RolloutStarted"]
    cluster.ready_all()
    cluster.step()
    assert cluster.counts == {"7": 9, "8": 1}
    cluster.ready_all()
    decision = cluster.step()
    assert cluster.step_index == 1
    assert cluster.state == "Paused"
    assert decision.canary is not None
    assert decision.canary.weight == 10
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert cluster.status.rollout.pause_start_time == cluster.now


def test_three_replicas_at_fifty_percent_run_two_canary_pods_and_one_stable() -> None:
    cluster = moved_to_8(canary_spec({"setWeight": 50}, {"pause": {}}, replicas=3))
    cluster.settle()
    assert cluster.counts == {"7": 1, "8": 2}
    assert cluster.state == "Paused"


def test_pause_with_duration_ends_on_time_and_asks_to_be_woken_then() -> None:
    cluster = moved_to_8()
    decision = cluster.settle()
    assert decision.requeue_after == 600
    cluster.later(599)
    assert cluster.step().requeue_after == 1
    cluster.later(1)
    cluster.step()
    assert cluster.step_index == 2
    assert cluster.counts == {"7": 9, "8": 5}


def test_pause_resumes_from_status_after_an_operator_restart() -> None:
    cluster = moved_to_8()
    cluster.settle()
    saved = cluster.status
    cluster.later(240)  # operator down from T to T+4m: nothing but status survives
    restarted = Cluster(SPEC, target="8", now=cluster.now, status=saved, pods=dict(cluster.pods))
    decision = restarted.step()
    assert restarted.counts == cluster.counts  # no flapping
    assert restarted.step_index == 1
    assert decision.requeue_after == 360
    assert decision.events == ()


def test_reconciling_again_changes_nothing() -> None:
    cluster = moved_to_8()
    cluster.settle()
    before = (cluster.counts, cluster.status)
    decision = cluster.step()
    assert (cluster.counts, cluster.status) == before
    assert decision.events == ()


def test_pause_timer_starts_only_once_the_canary_is_ready() -> None:
    cluster = moved_to_8()
    cluster.step()
    cluster.later(500)  # a slow model load, inside the 600s progress deadline
    cluster.step()
    assert cluster.step_index == 0
    cluster.ready_all()
    cluster.step()
    cluster.ready_all()
    decision = cluster.step()
    assert cluster.step_index == 1
    assert decision.requeue_after == 600


def test_pause_without_duration_waits_for_promote() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.later(600)
    cluster.settle()
    assert (cluster.step_index, cluster.state) == (3, "Paused")
    cluster.later(86400)
    cluster.step()
    assert cluster.step_index == 3
    decision = cluster.step(Tokens(promote=True))
    assert decision.consumed.promote
    cluster.settle()
    assert cluster.counts == {"8": 10}
    assert cluster.stable_version() == "8"
    assert cluster.state == "Succeeded"
    assert cluster.status is not None
    assert cluster.status.canary is None


def test_promote_advances_exactly_one_step() -> None:
    cluster = moved_to_8()
    cluster.settle()
    decision = cluster.step(Tokens(promote=True))
    assert cluster.step_index == 2
    assert [e.reason for e in decision.events] == ["Promoted"]
    assert cluster.counts == {"7": 9, "8": 5}  # 50% asked, stable waits for ready pods


def test_promote_full_skips_steps_but_traffic_still_follows_readiness() -> None:
    cluster = moved_to_8()
    cluster.settle()
    decision = cluster.step(Tokens(promote=True, full=True))
    assert decision.consumed == Tokens(promote=True, full=True)
    assert cluster.counts == {"7": 9, "8": 10}  # stable keeps what the canary cannot serve yet
    assert cluster.state == "Progressing"
    cluster.ready_all()
    cluster.step()
    assert cluster.counts in ({"8": 10}, {"7": 0, "8": 10})
    cluster.ready_all()
    cluster.step()
    assert cluster.stable_version() == "8"
    assert cluster.state == "Succeeded"


def test_abort_sends_all_traffic_to_stable_at_once_and_stays_ready() -> None:
    cluster = moved_to_8()
    cluster.settle()
    decision = cluster.step(Tokens(abort=True))
    assert decision.consumed.abort
    assert cluster.counts == {"7": 10}  # canary removed at once, stable back to 10
    assert cluster.state == "Aborted"
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert cluster.status.rollout.aborted_version == "8"
    assert [e.reason for e in decision.events] == ["RolloutAborted"]


def test_aborted_version_reapplied_does_not_restart() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.step(Tokens(abort=True))
    cluster.later(3600)
    decision = cluster.settle()
    assert cluster.counts == {"7": 10}
    assert cluster.state == "Aborted"
    assert decision.events == ()


def test_a_newer_version_after_an_abort_starts_at_step_zero() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.step(Tokens(abort=True))
    cluster.target = "9"
    cluster.step()
    assert cluster.state == "Progressing"
    assert cluster.step_index == 0
    assert cluster.counts == {"7": 10, "9": 1}


def test_alias_back_to_stable_after_an_abort_is_idle() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.step(Tokens(abort=True))
    cluster.target = "7"
    cluster.step()
    assert cluster.state == "Idle"
    assert cluster.counts == {"7": 10}


def test_retry_restarts_the_aborted_version_at_step_zero() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.step(Tokens(abort=True))
    decision = cluster.step(Tokens(retry=True))
    assert decision.consumed.retry
    assert [e.reason for e in decision.events] == ["RolloutRetried", "RolloutStarted"]
    assert (cluster.state, cluster.step_index) == ("Progressing", 0)
    assert cluster.counts == {"7": 10, "8": 1}


def test_canary_that_never_gets_ready_is_aborted_at_the_progress_deadline() -> None:
    cluster = moved_to_8(canary_spec(*STEPS, replicas=10, progressDeadlineSeconds=300))
    decision = cluster.step()
    assert decision.requeue_after == 300
    cluster.later(301)
    decision = cluster.step()
    assert cluster.state == "Aborted"
    assert cluster.counts == {"7": 10}
    assert [e.reason for e in decision.events] == ["ProgressDeadlineExceeded"]


def test_pauses_do_not_count_against_the_progress_deadline() -> None:
    cluster = moved_to_8(
        canary_spec({"setWeight": 10}, {"pause": {}}, {"setWeight": 20}, progressDeadlineSeconds=60)
    )
    cluster.settle()
    cluster.later(3600)
    cluster.step(Tokens(promote=True))
    assert cluster.state == "Progressing"
    cluster.settle()
    assert cluster.stable_version() == "8"


def test_new_version_mid_rollout_drains_the_old_canary_and_starts_at_step_zero() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.later(600)
    cluster.settle()
    assert cluster.counts == {"7": 5, "8": 5}
    cluster.target = "9"
    decision = cluster.step()
    assert [e.reason for e in decision.events] == ["RolloutRestarted"]
    assert cluster.step_index == 0
    assert cluster.counts == {"7": 10, "8": 5, "9": 1}  # 8 keeps serving until stable is back
    cluster.ready_all()
    cluster.step()
    assert "8" not in cluster.counts


def test_change_back_to_stable_mid_rollout_is_a_fast_rollback_without_steps() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.later(600)
    cluster.settle()
    cluster.target = "7"
    decision = cluster.step()
    assert [e.reason for e in decision.events] == ["RolledBack"]
    assert cluster.counts == {"7": 10, "8": 5}
    assert cluster.state == "Idle"
    cluster.ready_all()
    cluster.step()
    assert cluster.counts == {"7": 10}


def test_changed_steps_restart_the_rollout_at_step_zero() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.later(600)
    cluster.settle()
    cluster.spec = canary_spec({"setWeight": 20}, {"pause": {}}, replicas=10)
    decision = cluster.step()
    assert [e.reason for e in decision.events] == ["RolloutRestarted"]
    assert cluster.step_index == 0


def test_analysis_step_without_a_judge_pauses_and_never_passes() -> None:
    spec = canary_spec(
        {"setWeight": 10},
        {"analysis": {}},
        {"setWeight": 50},
        analysis={"maxErrorRate": 0.01},
    )
    cluster = moved_to_8(spec)
    cluster.settle()
    cluster.later(86400)
    cluster.settle()
    assert (cluster.state, cluster.step_index) == ("Paused", 1)
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert "analysis judge" in (cluster.status.rollout.message or "")
    cluster.step(Tokens(promote=True))
    assert cluster.step_index == 2


def test_analysis_verdicts_from_the_judge_pass_pause_or_abort() -> None:
    spec = canary_spec({"setWeight": 10}, {"analysis": {}}, analysis={"maxErrorRate": 0.01})
    passed = moved_to_8(spec)
    passed.analysis = "Successful"
    passed.settle()
    assert passed.stable_version() == "8"

    inconclusive = moved_to_8(spec)
    inconclusive.analysis = "NoData"
    inconclusive.settle()
    assert inconclusive.state == "Paused"
    assert inconclusive.status is not None
    assert inconclusive.status.rollout is not None
    assert "no data" in (inconclusive.status.rollout.message or "")

    failed = moved_to_8(spec)
    failed.analysis = "Failed"
    failed.settle()
    assert failed.state == "Aborted"
    assert failed.counts == {"7": 10}


def test_full_rollout_ends_with_only_the_new_version() -> None:
    cluster = moved_to_8()
    cluster.settle()
    cluster.later(600)
    cluster.settle()
    cluster.step(Tokens(promote=True))
    decision = cluster.settle()
    assert cluster.counts == {"8": 10}
    assert cluster.status is not None
    assert cluster.status.stable is not None
    assert (cluster.status.stable.version, cluster.status.stable.uri) == ("8", "models:/fraud/8")
    assert decision.requeue_after is None


def test_weight_never_exceeds_the_share_of_ready_canary_pods() -> None:
    cluster = moved_to_8()
    for _ in range(4):
        before = dict(cluster.pods)
        decision = cluster.step()
        canary, stable = cluster.pods["8"], cluster.pods["7"]
        assert stable.ready + canary.ready >= 10  # capacity never drops
        canary, stable = before.get("8", canary), before["7"]
        assert decision.canary is not None
        assert decision.canary.weight == round(100 * canary.ready / (canary.ready + stable.ready))
        cluster.ready_all()


def gateway_spec(*steps: dict[str, object], replicas: int = 10) -> ModelDeploymentSpec:
    return ModelDeploymentSpec.model_validate(
        {
            **SPEC.model_dump(by_alias=True, exclude_none=True),
            "replicas": replicas,
            "rollout": {
                "strategy": "Canary",
                "canary": {
                    "steps": list(steps),
                    "trafficRouting": {"type": "GatewayAPI", "gatewayAPI": {"httpRoute": "r"}},
                },
            },
        }
    )


def on_route(spec: ModelDeploymentSpec) -> Cluster:
    cluster = running(spec)
    cluster.route = 0
    cluster.settle()
    cluster.target = "8"
    return cluster


def test_gateway_weight_reaches_the_route_only_once_ceil_weight_pods_are_ready() -> None:
    cluster = on_route(gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=10))

    decision = cluster.step()
    assert cluster.counts == {"7": 10, "8": 3}  # ceil(0.3 x 10); the stable keeps all 10
    assert (cluster.route, decision.route_weight, decision.active) == (0, 0, "7")
    cluster.pods["8"] = VersionState(3, 3, 2)  # two of three ready: the weight holds
    cluster.step()
    assert cluster.route == 0
    cluster.ready_all()
    cluster.step()
    assert cluster.route == 30
    assert cluster.state != "Paused"  # the pause starts once the route carries the weight
    cluster.step()
    assert (cluster.state, cluster.step_index, cluster.counts) == ("Paused", 1, {"7": 10, "8": 3})


def test_gateway_weight_follows_the_canarys_ready_capacity_down() -> None:
    cluster = on_route(gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=10))
    cluster.settle()
    assert cluster.route == 30
    cluster.pods["8"] = VersionState(3, 3, 1)  # two canary pods fail their probes

    cluster.step()

    assert cluster.route == 10  # one ready pod of ten: never more than its share


def test_gateway_route_without_both_backends_holds_on_stable() -> None:
    cluster = running(gateway_spec(*STEPS))
    cluster.target = "8"  # route stays None: no rule holds both Services
    cluster.settle()
    assert (cluster.counts["7"], cluster.counts.get("8", 0)) == (10, 0)
    assert cluster.state == "Paused"
    assert cluster.status is not None
    assert cluster.status.rollout is not None
    assert "HTTPRoute r" in (cluster.status.rollout.message or "")


def test_gateway_promote_full_moves_every_request_then_takes_the_weight_back() -> None:
    cluster = on_route(gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=4))
    cluster.settle()
    cluster.step(Tokens(promote=True, full=True))
    assert cluster.counts == {"7": 4, "8": 4}
    assert cluster.route == 30  # 100% waits for the four canary pods
    cluster.ready_all()
    cluster.step()
    assert cluster.route == 100
    decision = cluster.step()
    assert cluster.state == "Succeeded"
    assert (cluster.stable_version(), decision.active, cluster.route) == ("8", "8", 0)
    assert cluster.counts == {"8": 4}


def test_gateway_abort_takes_the_weight_off_the_canary_at_once() -> None:
    cluster = on_route(gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=10))
    cluster.settle()
    assert cluster.route == 30

    decision = cluster.step(Tokens(abort=True))

    assert (cluster.state, cluster.route, decision.active) == ("Aborted", 0, "7")
    assert cluster.counts == {"7": 10, "8": 3}  # kept, without traffic, for the abort delay


def test_gateway_aborted_canary_keeps_its_pods_for_the_abort_delay() -> None:
    cluster = on_route(gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=10))
    cluster.settle()

    decision = cluster.step(Tokens(abort=True))

    assert decision.requeue_after == 30  # abortScaleDownDelaySeconds defaults to 30
    assert decision.canary is None  # status and the canary Service are back on stable
    assert [v.role for v in decision.versions] == ["stable", "draining"]
    cluster.later(30)
    decision = cluster.step()
    assert cluster.counts == {"7": 10}
    assert decision.requeue_after is None


def test_gateway_abort_delay_zero_removes_the_canary_at_once() -> None:
    spec = gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=10)
    assert spec.rollout.canary is not None
    spec.rollout.canary.abort_scale_down_delay_seconds = 0
    cluster = on_route(spec)
    cluster.settle()

    cluster.step(Tokens(abort=True))

    assert (cluster.state, cluster.counts) == ("Aborted", {"7": 10})


def test_gateway_progress_deadline_abort_also_waits_the_abort_delay() -> None:
    cluster = on_route(gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=10))
    cluster.step()
    cluster.later(601)  # the canary never got ready

    decision = cluster.step()

    assert cluster.state == "Aborted"
    assert cluster.counts == {"7": 10, "8": 3}
    assert decision.requeue_after == 30
    cluster.later(30)
    cluster.step()
    assert cluster.counts == {"7": 10}


def test_a_second_abort_gets_its_own_abort_delay() -> None:
    cluster = on_route(gateway_spec({"setWeight": 30}, {"pause": {}}, replicas=10))
    cluster.settle()
    cluster.step(Tokens(abort=True))
    cluster.later(10)
    cluster.target = "9"  # 8's delay would end at T+30; 9's abort must not inherit it
    cluster.settle()
    cluster.step(Tokens(abort=True))
    cluster.later(25)
    cluster.step()
    assert cluster.counts == {"7": 10, "9": 3}
    cluster.later(5)
    cluster.step()
    assert cluster.counts == {"7": 10}
