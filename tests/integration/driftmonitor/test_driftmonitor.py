"""DriftMonitors reconciled by the real operator on the local control plane, with real Redis.

The CronJob is the operator's; each Job is made from it as `kubectl create job --from`
does, and kwok finishes its pod. The result the check writes is put in Redis by the test.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import redis

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from sextant.devenv.redis import LocalRedis
from sextant_operator.driftmonitor import contract
from tests.integration.operator.kubeobjects import apply_md, condition, get
from tests.polling import wait_for

MODEL_A = "file:///models/a.onnx"
MODEL_B = "file:///models/b.onnx"
CANARY = {"strategy": "Canary", "canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}
LOGGED = {"sampleRate": 1.0, "maxLength": 1000}
CRONJOB = contract.cronjob_name("fraud-drift")


def md_spec(uri: str, **extra: Any) -> dict[str, Any]:
    return {"model": {"uri": uri}, "replicas": 2, "predictionLog": LOGGED, **extra}


def apply_dm(kube: KubeAccess, namespace: str, **spec: Any) -> None:
    manifest = {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "DriftMonitor",
        "metadata": {"name": "fraud-drift", "namespace": namespace},
        "spec": {
            "target": {"modelDeployment": "fraud"},
            "reference": {"uri": "https://data.example/train.parquet"},
            "features": [{"name": "amount", "type": "numerical"}],
            "predictions": False,
            **spec,
        },
    }
    kube.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def result(*, drift: bool) -> dict[str, Any]:
    feature = {"name": "amount", "type": "numerical", "test": "ks", "status": "ok",
               "statistic": 0.41 if drift else 0.02, "pValue": 1e-9 if drift else 0.8,
               "drifted": drift}  # fmt: skip
    return {"sampleSize": 1000, "referenceSize": 500, "datasetDrift": drift,
            "driftShare": 1.0 if drift else 0.0, "features": [feature]}  # fmt: skip


def dm_condition(kube: KubeAccess, namespace: str, type_: str, reason: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        dm = get(kube, namespace, "driftmonitor", "fraud-drift")
        found = condition(dm, type_)
        return dm if found.get("reason") == reason else None

    # 120 s: CI once saw the first reconcile of a DriftMonitor take over 60 s on 2 loaded
    # cores (the same test passed in the runs before and after).
    return wait_for(check, timeout=120, what=f"DriftMonitor {type_} reason {reason}")


def run_check(
    kube: KubeAccess, redis_url: str, namespace: str, job: str, payload: dict[str, Any] | None
) -> None:
    """What one scheduled run does: the check's result in Redis, and the Job finishing."""
    if payload is not None:
        key = contract.result_key(namespace, "fraud-drift", job)
        redis.Redis.from_url(redis_url).set(key, json.dumps(payload), ex=600)
    kube.kubectl("create", "job", job, f"--from=cronjob/{CRONJOB}", "-n", namespace)


class Hook:
    """A retraining pipeline's webhook: records each POSTed body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/retrain"
        # A daemon thread: it ends with the test process.
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_drift_found_by_a_job_reaches_status_events_metrics_and_aborts_a_canary(
    kube: KubeAccess,
    drift_operator: LocalOperator,
    redis_server: LocalRedis,
    metrics_port: int,
    dm_namespace: str,
) -> None:
    ns, hook = dm_namespace, Hook()
    apply_md(kube, ns, "fraud", md_spec(MODEL_A, rollout=CANARY))
    try:
        wait_for(lambda: condition(get(kube, ns, "md", "fraud"), "Ready").get("status") == "True",
                 timeout=90, what="fraud Ready")  # fmt: skip
    except AssertionError:
        print(drift_operator.log(200))  # why the ModelDeployment is not Ready
        print(get(kube, ns, "md", "fraud"))
        raise
    apply_md(kube, ns, "fraud", md_spec(MODEL_B, rollout=CANARY))
    wait_for(
        lambda: (get(kube, ns, "md", "fraud") or {}).get("status", {}).get("rollout", {}).get(
            "state") == "Paused",
        timeout=90, what="the canary paused",
    )  # fmt: skip
    actions = [{"type": "Alert"}, {"type": "AbortRollout"}, {"type": "Webhook", "url": hook.url}]
    apply_dm(kube, ns, actions=actions)
    dm = dm_condition(kube, ns, "Ready", "Scheduled")
    assert condition(dm, "Drifted")["status"] == "Unknown"
    cronjob = get(kube, ns, "cronjob", CRONJOB) or {}
    args = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--model") + 1] == f"{ns}/fraud"  # the runtime's key scope

    run_check(kube, redis_server.url, ns, "check-1", result(drift=True))

    dm = dm_condition(kube, ns, "Drifted", "DatasetDrift")
    assert condition(dm, "Ready")["reason"] == "DriftDetected"
    last = dm["status"]["lastCheck"]
    assert (last["sampleSize"], last["datasetDrift"], last["driftShare"]) == (1000, True, 1.0)
    assert last["features"] == [
        {"name": "amount", "test": "ks", "statistic": 0.41, "pValue": 1e-9, "drifted": True}
    ]
    md = wait_for(
        lambda: (m := get(kube, ns, "md", "fraud")) and m["status"]["rollout"]["state"]
        == "Aborted" and m,
        timeout=60, what="the canary aborted",
    )  # fmt: skip
    assert md["status"]["rollout"]["abortedVersion"]
    [body] = wait_for(lambda: hook.bodies, timeout=30, what="the webhook POST")
    assert body["result"]["datasetDrift"] is True
    assert body["driftMonitor"] == {"namespace": ns, "name": "fraud-drift"}
    assert condition(dm, "ActionsSucceeded")["status"] == "True"
    events = kube.kubectl("get", "events", "-n", ns, "-o", "json").stdout
    reasons = {e["reason"] for e in json.loads(events)["items"]}
    assert {"DriftDetected", "RolloutAbortRequested"} <= reasons
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
    assert f'sextant_drift_dataset_drift{{monitor="fraud-drift",namespace="{ns}"}} 1.0' in text
    assert "sextant_drift_feature_statistic{" in text

    # The next window is fine: Drifted turns False, the actions do not run again.
    time.sleep(1.1)  # a later completion time than the first Job's (seconds)
    run_check(kube, redis_server.url, ns, "check-2", result(drift=False))
    dm = dm_condition(kube, ns, "Drifted", "NoDatasetDrift")
    assert condition(dm, "Ready")["reason"] == "Checked"
    assert len(hook.bodies) == 1


def test_missing_target_unschedules_checks_until_it_logs_predictions(
    kube: KubeAccess, drift_operator: LocalOperator, dm_namespace: str
) -> None:
    ns = dm_namespace
    apply_dm(kube, ns)
    dm = dm_condition(kube, ns, "Ready", "TargetNotFound")
    assert condition(dm, "Ready")["status"] == "False"
    assert get(kube, ns, "cronjob", CRONJOB) is None
    apply_md(kube, ns, "fraud", {"model": {"uri": MODEL_A}})
    dm_condition(kube, ns, "Ready", "PredictionLogDisabled")
    apply_md(kube, ns, "fraud", md_spec(MODEL_A))
    dm_condition(kube, ns, "Ready", "Scheduled")
    assert get(kube, ns, "cronjob", CRONJOB) is not None


def test_an_s3_reference_is_scheduled_with_its_aws_variables(
    kube: KubeAccess, drift_operator: LocalOperator, dm_namespace: str
) -> None:
    ns = dm_namespace
    apply_md(kube, ns, "fraud", md_spec(MODEL_A))
    reference = {"uri": "s3://sets/train.parquet", "s3": {"credentialsSecret": "s3-keys"}}
    apply_dm(kube, ns, reference=reference)
    dm_condition(kube, ns, "Ready", "Scheduled")
    cronjob = get(kube, ns, "cronjob", CRONJOB)
    assert cronjob is not None
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["args"][container["args"].index("--reference") + 1] == reference["uri"]
    aws = [e for e in container["env"] if e["name"].startswith("AWS_")]
    assert [e["valueFrom"]["secretKeyRef"]["name"] for e in aws] == ["s3-keys"] * 3


def test_a_job_without_a_result_and_a_failed_job_make_ready_false(
    kube: KubeAccess, drift_operator: LocalOperator, redis_server: LocalRedis, dm_namespace: str
) -> None:
    ns = dm_namespace
    apply_md(kube, ns, "fraud", md_spec(MODEL_A))
    apply_dm(kube, ns)
    dm_condition(kube, ns, "Ready", "Scheduled")
    run_check(kube, redis_server.url, ns, "check-1", None)
    dm = dm_condition(kube, ns, "Ready", "ResultMissing")
    assert "check-1" in condition(dm, "Ready")["message"]

    # A Job that can never run (no node matches) fails at its deadline.
    time.sleep(1.1)
    cronjob = get(kube, ns, "cronjob", CRONJOB) or {}
    template = cronjob["spec"]["jobTemplate"]
    template["spec"]["activeDeadlineSeconds"] = 1
    template["spec"]["template"]["spec"]["nodeSelector"] = {"nowhere": "true"}
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "check-2", "namespace": ns, **template["metadata"]},
           "spec": template["spec"]}  # fmt: skip
    kube.kubectl("apply", "-f", "-", input=json.dumps(job))
    dm = dm_condition(kube, ns, "Ready", "CheckFailed")
    assert "check-2 failed" in condition(dm, "Ready")["message"]
    assert "DeadlineExceeded" in condition(dm, "Ready")["message"]
