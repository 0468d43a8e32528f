"""Canary on the real node: traffic through the Service never fails, promoted or aborted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.demo import service_url
from tests.e2e.conftest import ModelFiles
from tests.e2e.workloads import (
    SteadyLoad,
    apply,
    cpu_model_deployment,
    serving_versions,
    wait_ready,
)

NAMESPACE = "e2e-canary"
NAME = "iris-canary"


def _status(kube: KubeAccess) -> dict[str, Any]:
    out = kube.kubectl("get", "modeldeployment", NAME, "-n", NAMESPACE, "-o", "json").stdout
    status: dict[str, Any] = json.loads(out).get("status", {})
    return status


def _wait_state(kube: KubeAccess, state: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = _status(kube)
        if (status.get("rollout") or {}).get("state") == state:
            return status
        time.sleep(1)
    raise AssertionError(f"rollout never reached {state}: {json.dumps(status, indent=1)}")


def _sextant(kube: KubeAccess, *args: str) -> None:
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}
    subprocess.run([sys.executable, "-m", "sextant", *args], env=env, check=True, timeout=60)


def _serving_versions(kube: KubeAccess) -> set[str]:
    return serving_versions(kube, NAMESPACE, NAME)


def test_canary_promoted_then_aborted_under_load_loses_no_request(
    real_kube: KubeAccess, sextant_release: str, model_files: ModelFiles
) -> None:
    real_kube.kubectl("create", "namespace", NAMESPACE)
    manifest = cpu_model_deployment(NAME, NAMESPACE, model_files.uri("iris-v1.onnx"))
    manifest["spec"]["rollout"] = {
        "strategy": "Canary",
        "canary": {"steps": [{"setWeight": 50}, {"pause": {}}]},
    }
    apply(real_kube, manifest)
    wait_ready(real_kube, NAME, NAMESPACE)
    v1 = _status(real_kube)["stable"]["version"]
    url = service_url(real_kube, NAME, NAMESPACE)

    with SteadyLoad(url, NAME, spread=True) as load:
        # v2: one canary pod of two, paused until promoted; then all of v2.
        manifest["spec"]["model"]["uri"] = model_files.uri("iris-v2.onnx")
        apply(real_kube, manifest)
        paused = _wait_state(real_kube, "Paused")
        assert paused["canary"]["weight"] == 50
        assert len(_serving_versions(real_kube)) == 2
        _sextant(real_kube, "promote", NAME, "-n", NAMESPACE)
        done = _wait_state(real_kube, "Succeeded")
        v2 = done["stable"]["version"]
        assert v2 != v1

        # v3 (the v1 file under a new URI): aborted at the pause, v2 keeps serving.
        manifest["spec"]["model"]["uri"] = model_files.uri("iris-v1.onnx") + "?v3"
        apply(real_kube, manifest)
        _wait_state(real_kube, "Paused")
        _sextant(real_kube, "abort", NAME, "-n", NAMESPACE)
        _wait_state(real_kube, "Aborted")
        deadline = time.monotonic() + 120
        while _serving_versions(real_kube) != {v2} and time.monotonic() < deadline:
            time.sleep(1)
        # Stable scales back to every replica: Ready again, the abort told apart.
        wait_ready(real_kube, NAME, NAMESPACE, timeout=120)
        time.sleep(2)

    aborted = _status(real_kube)
    assert aborted["rollout"]["state"] == "Aborted"
    assert aborted["stable"]["version"] == v2
    assert _serving_versions(real_kube) == {v2}
    conditions = {c["type"]: c["status"] for c in aborted["conditions"]}
    assert conditions["RolloutAborted"] == "True"
    assert load.outcomes["ok"] > 100, load.outcomes
    assert load.failures == [], f"{load.outcomes}: {load.failures[:5]}"
