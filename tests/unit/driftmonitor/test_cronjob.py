"""The drift check CronJob: `sextant drift check` with the spec's options, in the runtime image."""

from __future__ import annotations

from typing import Any

import pytest

from sextant_operator.driftmonitor import contract
from sextant_operator.driftmonitor.cronjob import (
    UnsupportedReference,
    reference_location,
    render_cronjob,
)
from tests.unit.driftmonitor.builders import drift_monitor
from tests.unit.operator.builders import SETTINGS

REDIS = "redis://redis.data:6379/0"


def render(spec: dict[str, Any] | None = None) -> dict[str, Any]:
    return render_cronjob(drift_monitor(spec), SETTINGS, REDIS)


def container(cronjob: dict[str, Any]) -> dict[str, Any]:
    [one] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    found: dict[str, Any] = one
    return found


def option(args: list[str], name: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == name]


def test_cronjob_runs_drift_check_on_the_targets_prediction_log_on_schedule() -> None:
    cronjob = render({"schedule": "*/5 * * * *", "window": {"size": 2000}})
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    main = container(cronjob)
    assert main["image"] == SETTINGS.runtime_image
    args = main["args"]
    assert args[:2] == ["drift", "check"]
    assert option(args, "--model") == ["ml/fraud"]  # NAMESPACE/NAME: the runtime's key scope
    assert option(args, "--redis-url") == [REDIS]
    assert option(args, "--window") == ["2000"]
    assert option(args, "--reference") == ["https://data.example/train.parquet"]
    assert option(args, "--feature") == ["amount:numerical", "country:categorical"]


def test_tests_threshold_and_drift_share_are_passed_on() -> None:
    spec = {"tests": {"numerical": "wasserstein", "categorical": "psi", "threshold": 0.2},
            "driftShare": 0.3}  # fmt: skip
    args = container(render(spec))["args"]
    assert option(args, "--numerical-test") == ["wasserstein"]
    assert option(args, "--categorical-test") == ["psi"]
    assert option(args, "--threshold") == ["0.2"]
    assert option(args, "--drift-share") == ["0.3"]


def test_no_threshold_leaves_each_tests_own_default() -> None:
    assert "--threshold" not in container(render())["args"]


def test_the_result_goes_to_a_key_named_after_monitor_and_job() -> None:
    main = container(render())
    [key] = option(main["args"], "--result-key")
    assert key == contract.result_key("ml", "fraud-drift", f"$({contract.JOB_NAME_ENV})")
    [env] = main["env"]
    assert env["name"] == contract.JOB_NAME_ENV
    assert contract.JOB_NAME_LABEL in env["valueFrom"]["fieldRef"]["fieldPath"]


def test_pvc_reference_is_mounted_read_only_and_read_from_the_mount() -> None:
    cronjob = render({"reference": {"uri": "pvc://data/sets/train.csv", "format": "csv"}})
    main = container(cronjob)
    assert option(main["args"], "--reference") == ["/mnt/reference/data/sets/train.csv"]
    assert option(main["args"], "--format") == ["csv"]
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    claims = [v["persistentVolumeClaim"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [{"claimName": "data", "readOnly": True}]
    assert {"name": "reference", "mountPath": "/mnt/reference/data", "readOnly": True} in main[
        "volumeMounts"
    ]


def test_s3_reference_is_read_in_place_with_its_endpoint_and_secret_keys() -> None:
    cronjob = render({
        "reference": {
            "uri": "s3://sets/train.parquet",
            "s3": {"endpoint": "http://minio.storage:9000", "credentialsSecret": "s3-keys"},
        }
    })  # fmt: skip
    main = container(cronjob)
    assert option(main["args"], "--reference") == ["s3://sets/train.parquet"]
    env = {e["name"]: e for e in main["env"]}
    assert env["AWS_ENDPOINT_URL_S3"]["value"] == "http://minio.storage:9000"
    key = env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
    assert key == {"name": "s3-keys", "key": "AWS_SECRET_ACCESS_KEY"}
    assert "persistentVolumeClaim" not in str(cronjob)


def test_a_reference_the_job_cannot_read_is_refused_naming_the_field() -> None:
    # The CRD's URI pattern stops these at admission; this guards objects it did not see.
    with pytest.raises(UnsupportedReference, match=r"spec\.reference\.uri: pvc://data"):
        reference_location("pvc://data")
    with pytest.raises(UnsupportedReference, match=r"gs:// references are not read"):
        reference_location("gs://bucket/train.parquet")


def test_job_pod_is_restricted_and_reports_failures_in_its_termination_message() -> None:
    cronjob = render()
    job = cronjob["spec"]["jobTemplate"]
    pod = job["spec"]["template"]["spec"]
    main = container(cronjob)
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["terminationMessagePolicy"] == "FallbackToLogsOnError"
    assert job["spec"]["backoffLimit"] == 0
    assert job["metadata"]["labels"][contract.DRIFT_MONITOR] == "fraud-drift"


def test_cronjob_is_controlled_by_its_drift_monitor() -> None:
    [owner] = render()["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "DriftMonitor",
        "fraud-drift",
        "uid-9",
        True,
    )


def test_predictions_and_performance_settings_are_passed_on() -> None:
    args = container(render())["args"]  # the builder's spec: predictions false
    assert "--no-predictions" in args
    assert "--predictions" not in args
    assert "--task" not in args
    assert "--prediction" not in args
    spec = {"predictions": True, "performance": {"task": "regression", "prediction": "price"}}
    args = container(render(spec))["args"]
    assert "--predictions" in args
    assert "--no-predictions" not in args
    assert option(args, "--task") == ["regression"]
    assert option(args, "--prediction") == ["price"]
