"""The chart installs the operator from its image; a ModelDeployment really serves."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.demo import service_url
from tests.e2e.conftest import OPERATOR_NAMESPACE
from tests.e2e.workloads import EXPECTED_SPECIES, ask_species, pods


def test_operator_runs_in_cluster_from_its_image_as_non_root(
    real_kube: KubeAccess, sextant_release: str
) -> None:
    [pod] = pods(real_kube, OPERATOR_NAMESPACE, "app.kubernetes.io/name=sextant-operator")
    assert pod["spec"]["nodeName"] == "sextant-node-0"
    assert pod["spec"]["serviceAccountName"] == "sextant-operator"
    container = pod["status"]["containerStatuses"][0]
    assert container["ready"] is True
    assert container["image"].startswith("ghcr.io/sextant-dev/sextant-operator:")
    # A real container: containerd gave it an ID, and it really runs as the image's user.
    assert container["containerID"].startswith("containerd://")
    uid = real_kube.kubectl(
        "exec", "-n", OPERATOR_NAMESPACE, pod["metadata"]["name"], "--", "id", "-u"
    ).stdout.strip()
    assert uid == "65532"


def test_model_deployment_pods_really_serve_through_the_service(
    real_kube: KubeAccess, served_model: tuple[str, str]
) -> None:
    name, namespace = served_model
    serving = pods(real_kube, namespace, f"app.kubernetes.io/instance={name}")
    assert len(serving) == 2
    for pod in serving:
        assert pod["spec"]["nodeName"] == "sextant-node-0"
        assert all(c["ready"] for c in pod["status"]["containerStatuses"])
        # --cpu-scheduling's default reached every runtime thread, under the pod's
        # RuntimeDefault seccomp profile and with every capability dropped.
        assert _runtime_thread_policies(real_kube, namespace, pod) == ["SCHED_BATCH"]

    with httpx.Client(timeout=30, trust_env=False) as client:
        url = service_url(real_kube, name, namespace)
        assert ask_species(client, url, name) == EXPECTED_SPECIES
        metrics = client.get(f"{url}/metrics").text
    assert f'model="{name}"' in metrics

    status = json.loads(
        real_kube.kubectl("get", "modeldeployment", name, "-n", namespace, "-o", "json").stdout
    )["status"]
    assert status["readyReplicas"] == 2
    assert status["url"].startswith(f"http://{name}.{namespace}.svc")


def _runtime_thread_policies(kube: KubeAccess, namespace: str, pod: dict[str, Any]) -> list[str]:
    """The scheduling policies of the runtime's threads (PID 1 in its container)."""
    names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_BATCH: "SCHED_BATCH"}
    script = (
        "import os; print(*{os.sched_getscheduler(int(t)) for t in os.listdir('/proc/1/task')})"
    )
    out = kube.kubectl(
        "exec", "-n", namespace, pod["metadata"]["name"], "--", "python3", "-c", script
    ).stdout
    return sorted(names.get(int(p), f"policy {p}") for p in out.split())


def test_helm_test_calls_the_model_by_its_cluster_dns_name(
    real_kube: KubeAccess, sextant_release: str, served_model: tuple[str, str]
) -> None:
    result = real_kube.helm(
        "test", sextant_release, "-n", OPERATOR_NAMESPACE, "--logs", "--timeout=3m"
    )
    assert "Phase:          Succeeded" in result.stdout, result.stdout
    assert '"outputs"' in result.stdout, result.stdout
