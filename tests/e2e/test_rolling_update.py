"""A new model version rolls out pod by pod under steady load without losing a request."""

from __future__ import annotations

import time

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.demo import service_url
from tests.e2e.conftest import ModelFiles
from tests.e2e.workloads import (
    SteadyLoad,
    apply,
    cpu_model_deployment,
    pods,
    serving_versions,
    wait_ready,
)

NAMESPACE = "e2e-rolling"
NAME = "iris-rolling"


def _versions(kube: KubeAccess) -> set[str]:
    return serving_versions(kube, NAMESPACE, NAME)


def test_rolling_update_under_load_loses_no_request(
    real_kube: KubeAccess, sextant_release: str, model_files: ModelFiles
) -> None:
    real_kube.kubectl("create", "namespace", NAMESPACE)
    manifest = cpu_model_deployment(NAME, NAMESPACE, model_files.uri("iris-v1.onnx"))
    apply(real_kube, manifest)
    wait_ready(real_kube, NAME, NAMESPACE)
    before = _versions(real_kube)
    url = service_url(real_kube, NAME, NAMESPACE)

    with SteadyLoad(url, NAME) as load:
        time.sleep(2)
        manifest["spec"]["model"]["uri"] = model_files.uri("iris-v2.onnx")
        apply(real_kube, manifest)
        # The new version everywhere, every old pod gone (drained and terminated).
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            serving = pods(real_kube, NAMESPACE, f"app.kubernetes.io/instance={NAME}")
            if _versions(real_kube).isdisjoint(before) and len(serving) == 2:
                break
            time.sleep(1)
        wait_ready(real_kube, NAME, NAMESPACE, timeout=120)
        time.sleep(2)

    assert _versions(real_kube).isdisjoint(before), "the new version never replaced the old"
    assert load.outcomes["ok"] > 50, load.outcomes
    assert load.failures == [], f"{load.outcomes}: {load.failures[:5]}"
