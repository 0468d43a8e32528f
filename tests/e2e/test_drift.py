"""DriftMonitor on the real node: a ModelDeployment logs its predictions to Redis, the
DriftMonitor's CronJob really runs `sextant drift check` in the runtime image, and the
in-cluster operator turns each finished Job's result into status.

Each check is started as `kubectl create job --from=cronjob/...` does, instead of waiting
for the schedule.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.cluster.realnode.config import API_ADDRESS
from sextant.devenv.demo import service_url
from sextant.devenv.process import ManagedProcess, free_port, require_executable
from sextant_operator.driftmonitor import contract
from tests.e2e.conftest import CHART, OPERATOR_NAMESPACE, RELEASE, ModelFiles
from tests.e2e.workloads import apply, cpu_model_deployment, wait_ready

NAMESPACE = "e2e-drift"
NAME = "iris"
MONITOR = "iris-drift"
FEATURES = [f"measurements_{i}" for i in range(4)]
# Iris measurements (cm): per-feature mean and spread of the reference data.
MEANS = np.array([5.8, 3.0, 3.8, 1.2])
SPREADS = np.array([0.8, 0.4, 1.7, 0.7])
WINDOW = 200


@pytest.fixture(scope="module")
def pod_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Redis on the host address that pods (the runtime, the job, the operator) reach."""
    workdir = tmp_path_factory.mktemp("pod-redis")
    port = free_port()
    server = ManagedProcess(
        "pod-redis",
        [require_executable("redis-server", "run `make setup`"), "--bind", API_ADDRESS,
         "--port", str(port), "--protected-mode", "no", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        log_path=workdir / "redis.log",
    )  # fmt: skip
    url = f"redis://{API_ADDRESS}:{port}/0"
    with server:
        server.wait_until(lambda: bool(redis.Redis.from_url(url).ping()), 15, "answering PING")
        yield url


@pytest.fixture(scope="module")
def drift_release(real_kube: KubeAccess, sextant_release: str, pod_redis: str) -> Iterator[str]:
    """The chart's operator, told where Redis is (and back as it was afterwards)."""

    def upgrade(redis_url: str) -> None:
        real_kube.helm(
            "upgrade", RELEASE, str(CHART), "--namespace", OPERATOR_NAMESPACE,
            "--reuse-values", "--set", f"operator.redisUrl={redis_url}",
            "--wait", "--timeout=5m",
        )  # fmt: skip

    upgrade(pod_redis)
    yield pod_redis
    upgrade("")


def flowers(rng: np.random.Generator, rows: int, shift: float = 0.0) -> np.ndarray:
    values: np.ndarray = (MEANS + shift * SPREADS + rng.normal(0, 1, (rows, 4)) * SPREADS).clip(0.1)
    return values


def send(url: str, data: np.ndarray, model: str = NAME) -> None:
    """Ten rows per request: the window fills with exactly these rows."""
    with httpx.Client(trust_env=False, timeout=30) as client:
        for start in range(0, len(data), 10):
            rows = data[start : start + 10]
            body = {"inputs": [{"name": "measurements", "shape": list(rows.shape),
                                "datatype": "FP32", "data": rows.ravel().tolist()}]}  # fmt: skip
            client.post(f"{url}/v2/models/{model}/infer", json=body).raise_for_status()


def wait_logged(redis_url: str, requests: int, model: str = NAME) -> None:
    """Until the model's prediction log holds that many entries (one per logged request):
    the runtime's writer thread sends them in the background."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 30
    while client.xlen(f"sextant:predictions:{NAMESPACE}/{model}") < requests:  # scoped
        assert time.monotonic() < deadline, f"{model}: fewer than {requests} logged requests"
        time.sleep(0.5)


def drift_monitor(
    reference_uri: str, model: str = NAME, monitor: str = MONITOR, action: str = "Alert"
) -> dict[str, Any]:
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "DriftMonitor",
        "metadata": {"name": monitor, "namespace": NAMESPACE},
        "spec": {
            "target": {"modelDeployment": model},
            "reference": {"uri": reference_uri, "format": "parquet"},
            "features": [{"name": f, "type": "numerical"} for f in FEATURES],
            "predictions": False,
            "window": {"size": WINDOW},
            "schedule": "0 0 1 1 *",  # started by hand below
            "actions": [{"type": action}],
        },
    }


def status(kube: KubeAccess, monitor: str = MONITOR) -> dict[str, Any]:
    out = kube.kubectl("get", "driftmonitor", monitor, "-n", NAMESPACE, "-o", "json").stdout
    found: dict[str, Any] = json.loads(out).get("status") or {}
    return found


def condition(found: dict[str, Any], type_: str) -> dict[str, Any]:
    return next((c for c in found.get("conditions") or [] if c["type"] == type_), {})


def run_check(
    kube: KubeAccess, job: str, monitor: str = MONITOR, timeout: float = 240
) -> dict[str, Any]:
    """Start the CronJob's Job and wait until status reflects that Job."""
    before = (status(kube, monitor).get("lastCheck") or {}).get("time")
    kube.kubectl("create", "job", job, f"--from=cronjob/{contract.cronjob_name(monitor)}",
                 "-n", NAMESPACE)  # fmt: skip
    deadline = time.monotonic() + timeout
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = status(kube, monitor)
        check_time = (found.get("lastCheck") or {}).get("time")
        if check_time and check_time != before:
            return found
        ready = condition(found, "Ready")
        if ready.get("reason") == "CheckFailed" and job in ready.get("message", ""):
            raise AssertionError(f"the check failed: {ready['message']}")
        time.sleep(2)
    logs = kube.kubectl("logs", f"job/{job}", "-n", NAMESPACE, check=False)
    raise AssertionError(f"no result of {job}: {found}\n{logs.stdout}{logs.stderr}")


@pytest.fixture(scope="module")
def reference(real_kube: KubeAccess, model_files: ModelFiles) -> str:
    """The reference data on the HTTP server pods reach, and the test namespace."""
    rng = np.random.default_rng(3)
    pq.write_table(
        pa.table({name: flowers(rng, 800)[:, i] for i, name in enumerate(FEATURES)}),
        Path(model_files.folder) / "iris-reference.parquet",
    )
    real_kube.kubectl("create", "namespace", NAMESPACE)
    return model_files.uri("iris-reference.parquet")


def logged_model(name: str, uri: str, **spec: Any) -> dict[str, Any]:
    md = cpu_model_deployment(name, NAMESPACE, uri, replicas=1)
    md["spec"].update(predictionLog={"sampleRate": 1.0, "maxLength": 10000}, **spec)
    return md


def test_drift_monitor_job_really_runs_and_status_shows_drift_after_traffic_shifts(
    real_kube: KubeAccess, drift_release: str, model_files: ModelFiles, reference: str
) -> None:
    kube, rng = real_kube, np.random.default_rng(7)
    apply(kube, logged_model(NAME, model_files.uri("iris-v1.onnx")))
    wait_ready(kube, NAME, NAMESPACE)
    apply(kube, drift_monitor(reference))
    url = service_url(kube, NAME, NAMESPACE)

    send(url, flowers(rng, WINDOW))
    wait_logged(drift_release, WINDOW // 10)
    steady = run_check(kube, "check-steady")
    assert steady["lastCheck"]["datasetDrift"] is False, steady
    assert steady["lastCheck"]["sampleSize"] == WINDOW
    assert condition(steady, "Drifted")["status"] == "False"
    assert condition(steady, "Ready")["status"] == "True"

    send(url, flowers(rng, WINDOW, shift=1.5))  # every measurement moves 1.5 spreads
    wait_logged(drift_release, 2 * WINDOW // 10)
    shifted = run_check(kube, "check-shifted")
    last = shifted["lastCheck"]
    assert last["datasetDrift"] is True, shifted
    assert {f["name"] for f in last["features"] if f["drifted"]} == set(FEATURES)
    assert condition(shifted, "Drifted")["status"] == "True"
    assert condition(shifted, "Ready")["reason"] == "DriftDetected"
    events = json.loads(kube.kubectl("get", "events", "-n", NAMESPACE, "-o", "json").stdout)
    assert "DriftDetected" in {e["reason"] for e in events["items"]}


def test_drift_aborts_the_targets_canary_in_progress(
    real_kube: KubeAccess, drift_release: str, model_files: ModelFiles, reference: str
) -> None:
    kube, rng = real_kube, np.random.default_rng(11)
    name, monitor = "iris-canary", "iris-canary-drift"
    canary = {"strategy": "Canary", "canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}
    apply(kube, logged_model(name, model_files.uri("iris-v1.onnx"), rollout=canary))
    wait_ready(kube, name, NAMESPACE)
    apply(kube, logged_model(name, model_files.uri("iris-v2.onnx"), rollout=canary))
    wait_rollout(kube, name, "Paused")
    apply(kube, drift_monitor(reference, name, monitor, action="AbortRollout"))
    url = service_url(kube, name, NAMESPACE)

    send(url, flowers(rng, WINDOW, shift=1.5), model=name)
    wait_logged(drift_release, WINDOW // 10, model=name)
    found = run_check(kube, "canary-check", monitor)

    assert found["lastCheck"]["datasetDrift"] is True, found
    rollout = wait_rollout(kube, name, "Aborted")
    assert rollout.get("abortedVersion"), rollout
    events = json.loads(kube.kubectl("get", "events", "-n", NAMESPACE, "-o", "json").stdout)
    assert "RolloutAbortRequested" in {e["reason"] for e in events["items"]}


def wait_rollout(kube: KubeAccess, name: str, state: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    rollout: dict[str, Any] = {}
    while time.monotonic() < deadline:
        out = kube.kubectl("get", "modeldeployment", name, "-n", NAMESPACE, "-o", "json").stdout
        rollout = (json.loads(out).get("status") or {}).get("rollout") or {}
        if rollout.get("state") == state:
            return rollout
        time.sleep(1)
    raise AssertionError(f"{name}: rollout not {state}: {rollout}")
