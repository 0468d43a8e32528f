from datetime import UTC, datetime, timedelta

from sextant.registry import ModelNotFound, RegistryUnavailable
from sextant_operator.api.modeldeployment import ModelDeployment
from sextant_operator.conditions import set_condition
from sextant_operator.render.context import ModelArtifact
from sextant_operator.status import DeploymentProgress, Observation, compute_status
from tests.unit.operator.builders import model_deployment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARTIFACT = ModelArtifact("models:/fraud/7", "7")
MD = model_deployment({"model": {"registry": {"name": "fraud", "alias": "champion"}}})


def progress(
    desired: int = 2, updated: int = 2, available: int = 2, total: int = 2
) -> DeploymentProgress:
    return DeploymentProgress(
        desired=desired,
        updated=updated,
        ready=available,
        available=available,
        total=total,
        observed_current=True,
    )


def observe(**changes: object) -> Observation:
    base: dict[str, object] = {
        "desired_replicas": 2,
        "artifact": ARTIFACT,
        "resolution_error": None,
        "stable": progress(),
        "unschedulable": None,
        "url": "http://fraud.ml.svc/v2/models/fraud",
    }
    return Observation(**{**base, **changes})  # type: ignore[arg-type]


def conditions(
    md: ModelDeployment, seen: Observation, now: datetime = T0
) -> dict[str, tuple[str, str]]:
    status = compute_status(md, seen, now)
    return {c.type: (c.status, c.reason) for c in status.conditions}


def test_all_pods_updated_and_available_is_ready() -> None:
    status = compute_status(MD, observe(), T0)
    assert status.phase == "Ready"
    assert {c.type: c.status for c in status.conditions} == {
        "ModelResolved": "True",
        "Progressing": "False",
        "Ready": "True",
    }
    assert status.observed_generation == 3
    assert all(c.observed_generation == 3 for c in status.conditions)
    assert (status.replicas, status.ready_replicas, status.ready) == (2, 2, "2/2")
    assert status.selector == "sextant.dev/model-deployment=fraud"


def test_old_pods_still_running_is_progressing_not_ready() -> None:
    seen = observe(stable=progress(updated=1, available=2, total=3))
    assert conditions(MD, seen) == {
        "ModelResolved": ("True", "Resolved"),
        "Progressing": ("True", "RollingOut"),
        "Ready": ("False", "RolloutInProgress"),
    }
    assert compute_status(MD, seen, T0).phase == "Progressing"


def test_deployment_controller_behind_the_spec_is_not_ready() -> None:
    stale = DeploymentProgress(2, 2, 2, 2, 2, observed_current=False)
    assert conditions(MD, observe(stable=stale))["Ready"] == ("False", "RolloutInProgress")


def test_unschedulable_pod_surfaces_the_schedulers_message() -> None:
    message = "pod fraud-abc: 0/5 nodes are available: 5 Insufficient nvidia.com/gpu."
    seen = observe(stable=progress(available=0), unschedulable=message)
    status = compute_status(MD, seen, T0)
    ready = status.condition("Ready")
    assert ready is not None
    assert (ready.status, ready.reason, ready.message) == ("False", "Unschedulable", message)
    assert status.phase == "Pending"


def test_registry_down_while_serving_is_degraded_and_keeps_the_version() -> None:
    error = RegistryUnavailable("MLflow at http://mlflow:5000 unreachable: connection refused")
    status = compute_status(MD, observe(resolution_error=error), T0)
    assert status.phase == "Degraded"
    assert conditions(MD, observe(resolution_error=error))["Ready"] == (
        "False",
        "RegistryUnavailable",
    )
    assert status.stable is not None
    assert status.stable.version == "7"
    ready = status.condition("Ready")
    assert ready is not None
    assert "still serving version 7" in ready.message


def test_model_not_found_with_nothing_serving_has_failed() -> None:
    error = ModelNotFound("MLflow registry has no model for name=fraud, alias=champion")
    seen = observe(resolution_error=error, artifact=None, stable=None)
    status = compute_status(MD, seen, T0)
    assert status.phase == "Failed"
    assert conditions(MD, seen)["ModelResolved"] == ("False", "ModelNotFound")


def test_transition_time_moves_only_when_a_condition_changes_status() -> None:
    first = compute_status(MD, observe(), T0)
    later = T0 + timedelta(minutes=5)
    again = compute_status(MD.model_copy(update={"status": first}), observe(), later)
    ready_again = again.condition("Ready")
    assert ready_again is not None
    assert ready_again.last_transition_time == T0

    seen = observe(stable=progress(updated=1, total=3))
    flipped = compute_status(MD.model_copy(update={"status": again}), seen, later)
    ready_flipped = flipped.condition("Ready")
    assert ready_flipped is not None
    assert ready_flipped.last_transition_time == later


def test_registry_down_with_nothing_serving_claims_no_success() -> None:
    error = RegistryUnavailable("MLflow at http://mlflow:5000 unreachable: connection refused")
    seen = observe(resolution_error=error, artifact=None, stable=None)
    status = compute_status(MD, seen, T0)
    assert conditions(MD, seen)["Progressing"] == ("False", "RegistryUnavailable")
    assert status.rollout is not None
    assert status.rollout.state == "Progressing"
    assert status.phase == "Pending"


def test_no_deployment_yet_is_progressing_not_complete() -> None:
    seen = observe(stable=None)
    assert conditions(MD, seen)["Progressing"] == ("True", "RollingOut")
    status = compute_status(MD, seen, T0)
    assert status.rollout is not None
    assert status.rollout.state == "Progressing"


def test_implemented_fields_clear_a_not_implemented_condition_left_by_older_versions() -> None:
    md = model_deployment(
        {
            "model": {"registry": {"name": "fraud", "alias": "champion"}},
            "predictionLog": {"sampleRate": 0.1, "maxLength": 1000},
            "features": {"featureView": "user-features", "entityInput": "user_id"},
        }
    )
    old = md.model_copy(update={"status": compute_status(md, observe(), T0)})
    assert old.status is not None
    old.status.conditions = set_condition(
        old.status.conditions,
        "NotImplemented",
        status=True,
        reason="FieldsHaveNoEffect",
        message="spec.features: accepted, but ...",
        generation=1,
        now=T0,
    )
    status = compute_status(old, observe(), T0)
    by_type = {c.type: c for c in status.conditions}
    assert by_type["Ready"].status == "True"
    # spec.features is implemented (see tests/unit/operator/test_features.py).
    assert "NotImplemented" not in by_type
