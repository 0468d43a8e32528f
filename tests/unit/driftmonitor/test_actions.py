"""Actions of a drifting check: Alert, AbortRollout (only a rollout in progress), Webhook."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sextant_operator.api import ModelDeployment
from sextant_operator.driftmonitor.actions import Effects, rollout_in_progress, run_actions
from sextant_operator.driftmonitor.results import to_last_check
from tests.unit.driftmonitor.builders import drift_monitor, result

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RESULT = result({"amount": True, "country": True}, dataset_drift=True)
CHECK = to_last_check(RESULT, T0)


def target(strategy: str, state: str | None) -> ModelDeployment:
    rollout: dict[str, Any] = {"strategy": strategy}
    if strategy == "Canary":
        rollout["canary"] = {"steps": [{"setWeight": 50}, {"pause": {}}]}
    body: dict[str, Any] = {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": "ml"},
        "spec": {"model": {"uri": "file:///m.onnx"}, "rollout": rollout},
    }
    if state is not None:
        body["status"] = {"rollout": {"state": state}}
    return ModelDeployment.from_cluster(body)


class Recorder:
    def __init__(self, webhook_problem: str | None = None) -> None:
        self.aborted: list[tuple[str, str]] = []
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self.events: list[tuple[str, str, str]] = []
        self.webhook_problem = webhook_problem

    def effects(self) -> Effects:
        def post(url: str, payload: dict[str, Any]) -> str | None:
            self.posted.append((url, payload))
            return self.webhook_problem

        return Effects(abort=lambda ns, name: self.aborted.append((ns, name)), post=post)

    def emit(self, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))


def run(
    actions: list[dict[str, Any]], md: ModelDeployment | None, rec: Recorder
) -> tuple[str, ...]:
    dm = drift_monitor({"actions": actions})
    return run_actions(dm, CHECK, RESULT, md, effects=rec.effects(), emit=rec.emit)


def test_alert_posts_a_warning_event_naming_the_drifted_features() -> None:
    rec = Recorder()
    assert run([{"type": "Alert"}], None, rec) == ()
    [(type_, reason, message)] = rec.events
    assert (type_, reason) == ("Warning", "DriftDetected")
    assert "amount, country" in message


def test_abort_rollout_sets_the_abort_token_only_during_a_rollout() -> None:
    rec = Recorder()
    run([{"type": "AbortRollout"}], target("Canary", "Paused"), rec)
    assert rec.aborted == [("ml", "fraud")]
    idle = Recorder()
    run([{"type": "AbortRollout"}], target("Canary", "Succeeded"), idle)
    assert idle.aborted == []
    assert idle.events[0][1] == "NoRolloutToAbort"


def test_rolling_update_has_no_rollout_to_abort() -> None:
    assert not rollout_in_progress(target("RollingUpdate", "Progressing"))
    assert rollout_in_progress(target("Canary", "Progressing"))
    assert not rollout_in_progress(None)


def test_a_failing_abort_is_reported_not_raised() -> None:
    rec = Recorder()

    def broken(namespace: str, name: str) -> None:
        raise RuntimeError("403 forbidden")

    dm = drift_monitor({"actions": [{"type": "AbortRollout"}]})
    effects = Effects(abort=broken, post=rec.effects().post)
    failures = run_actions(dm, CHECK, RESULT, target("Canary", "Paused"), effects=effects,
                           emit=rec.emit)  # fmt: skip
    assert failures == ("aborting the rollout of fraud: 403 forbidden",)


def test_webhook_gets_the_result_and_its_failure_is_returned() -> None:
    rec = Recorder(webhook_problem="webhook http://hook: HTTP 500 (after 3 attempts)")
    failures = run([{"type": "Webhook", "url": "http://hook/retrain"}], None, rec)
    [(url, payload)] = rec.posted
    assert url == "http://hook/retrain"
    assert payload["result"] == RESULT
    assert payload["driftMonitor"] == {"namespace": "ml", "name": "fraud-drift"}
    assert failures == ("webhook http://hook: HTTP 500 (after 3 attempts)",)
    assert ("Warning", "WebhookFailed") in {(t, r) for t, r, _ in rec.events}
