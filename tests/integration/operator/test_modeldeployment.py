"""ModelDeployment with RollingUpdate, end to end on the local control plane (fake GPU nodes)."""

from __future__ import annotations

import time
from pathlib import Path

from mlflow import MlflowClient

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.mlflow_server import LocalMlflow
from sextant.devenv.operator_process import LocalOperator
from tests.integration.operator.kubeobjects import (
    apply_md,
    condition,
    get,
    nodes_by_name,
    pods,
    wait_condition,
)
from tests.mlflow_models import register
from tests.polling import wait_for

H100 = "NVIDIA-H100-80GB-HBM3"
FILE_MODEL = {"model": {"uri": "file:///models/fraud.onnx"}}


def test_gpu_model_deployment_gets_pods_on_gpu_nodes_and_turns_ready(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(
        kube,
        op_namespace,
        "ranker",
        {**FILE_MODEL, "replicas": 2, "gpu": {"count": 1, "product": H100}},
    )

    md = wait_condition(kube, op_namespace, "ranker")

    status = md["status"]
    assert status["phase"] == "Ready"
    assert (status["replicas"], status["readyReplicas"]) == (2, 2)
    assert status["url"] == f"http://ranker.{op_namespace}.svc/v2/models/ranker"
    nodes = nodes_by_name(kube)
    running = pods(kube, op_namespace, "ranker")
    assert len(running) == 2
    for pod in running:
        node = nodes[pod["spec"]["nodeName"]]
        assert node["metadata"]["labels"]["nvidia.com/gpu.product"] == H100
        limits = pod["spec"]["containers"][0]["resources"]["limits"]
        assert limits["nvidia.com/gpu"] == "1"
    service = get(kube, op_namespace, "service", "ranker")
    assert service is not None
    assert {p["name"] for p in service["spec"]["ports"]} == {"http", "metrics"}
    assert get(kube, op_namespace, "pdb", "ranker") is not None


def test_mig_model_deployment_requests_only_the_mig_slice(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(kube, op_namespace, "small", {**FILE_MODEL, "gpu": {"migProfile": "1g.10gb"}})

    wait_condition(kube, op_namespace, "small")

    (pod,) = pods(kube, op_namespace, "small")
    limits = pod["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"nvidia.com/mig-1g.10gb": "1"}
    node = nodes_by_name(kube)[pod["spec"]["nodeName"]]
    assert "nvidia.com/mig-1g.10gb" in node["status"]["allocatable"]


def test_unknown_gpu_product_is_unschedulable_with_the_schedulers_message(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(kube, op_namespace, "nowhere", {**FILE_MODEL, "gpu": {"product": "NVIDIA-B300"}})

    md = wait_condition(kube, op_namespace, "nowhere", status="False", reason="Unschedulable")

    assert "node" in condition(md, "Ready")["message"]
    assert md["status"]["phase"] == "Pending"
    # kopf posts Events from a queue, a moment after the status write: poll briefly.
    deadline = time.monotonic() + 20
    reasons: list[str] = []
    while "Unschedulable" not in reasons and time.monotonic() < deadline:
        events = get(
            kube, op_namespace, "events", "--field-selector", "involvedObject.name=nowhere"
        )
        reasons = [e["reason"] for e in (events or {}).get("items", [])]
        time.sleep(0.5)
    assert "Unschedulable" in reasons


def test_registry_alias_move_rolls_to_the_new_version(
    kube: KubeAccess,
    op_namespace: str,
    sextant_operator: LocalOperator,
    mlflow_server: LocalMlflow,
) -> None:
    name = f"alias-{op_namespace}"
    first = register(mlflow_server, name, factor=1.0)
    second = register(mlflow_server, name, factor=2.0)
    registry = MlflowClient(tracking_uri=mlflow_server.url)
    registry.set_registered_model_alias(name, "champion", first)
    apply_md(
        kube, op_namespace, "scorer", {"model": {"registry": {"name": name, "alias": "champion"}}}
    )
    md = wait_condition(kube, op_namespace, "scorer")
    assert md["status"]["model"] == {
        "version": first,
        "uri": f"models:/{name}/{first}",
        "resolvedFrom": f"models:/{name}@champion",
    }

    registry.set_registered_model_alias(name, "champion", second)

    def rolled() -> bool:
        current = get(kube, op_namespace, "modeldeployment", "scorer") or {}
        versions = {
            p["metadata"]["labels"]["sextant.dev/model-version"]
            for p in pods(kube, op_namespace, "scorer")
            if p["metadata"].get("deletionTimestamp") is None
        }
        ready = condition(current, "Ready").get("status") == "True"
        return ready and current["status"]["model"]["version"] == second and versions == {second}

    wait_for(rolled, timeout=90, what=f"the rollout to version {second}")
    deployment = get(kube, op_namespace, "deployment", "scorer")
    assert deployment is not None
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["serve", f"models:/{name}/{second}", "--name", "scorer"]


def test_registry_down_keeps_the_old_pods_serving_and_sets_the_condition(
    kube: KubeAccess,
    op_namespace: str,
    sextant_operator: LocalOperator,
    tmp_path: Path,
) -> None:
    with LocalMlflow(tmp_path / "mlflow") as flaky:
        version = register(flaky, "outage", factor=1.0)
        MlflowClient(tracking_uri=flaky.url).set_registered_model_alias("outage", "prod", version)
        spec = {
            "model": {"registry": {"name": "outage", "alias": "prod", "trackingUri": flaky.url}}
        }
        apply_md(kube, op_namespace, "steady", {**spec, "replicas": 2})
        wait_condition(kube, op_namespace, "steady")
        serving = sorted(p["metadata"]["name"] for p in pods(kube, op_namespace, "steady"))

    md = wait_condition(kube, op_namespace, "steady", status="False", reason="RegistryUnavailable")

    assert condition(md, "ModelResolved")["reason"] == "RegistryUnavailable"
    assert md["status"]["phase"] == "Degraded"
    assert md["status"]["model"]["version"] == version
    assert sorted(p["metadata"]["name"] for p in pods(kube, op_namespace, "steady")) == serving
    deployment = get(kube, op_namespace, "deployment", "steady")
    assert deployment is not None
    assert deployment["status"]["readyReplicas"] == 2


def test_model_that_does_not_exist_is_model_not_found(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(
        kube, op_namespace, "ghost", {"model": {"registry": {"name": "ghost", "version": "9"}}}
    )

    md = wait_condition(kube, op_namespace, "ghost", status="False", reason="ModelNotFound")

    assert md["status"]["phase"] == "Failed"
    assert get(kube, op_namespace, "deployment", "ghost") is None


def test_kubectl_scale_drives_the_replicas(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(kube, op_namespace, "scaled", FILE_MODEL)
    wait_condition(kube, op_namespace, "scaled")

    kube.kubectl("scale", "-n", op_namespace, "md/scaled", "--replicas=3")

    def three_ready() -> bool:
        md = get(kube, op_namespace, "modeldeployment", "scaled") or {}
        return condition(md, "Ready").get("status") == "True" and md["status"]["readyReplicas"] == 3

    wait_for(three_ready, timeout=60, what="3 ready replicas")
    deployment = get(kube, op_namespace, "deployment", "scaled")
    assert deployment is not None
    assert deployment["spec"]["replicas"] == 3


def test_edited_or_deleted_children_are_put_back(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(kube, op_namespace, "healed", {**FILE_MODEL, "replicas": 2})
    wait_condition(kube, op_namespace, "healed")
    uid = (get(kube, op_namespace, "service", "healed") or {})["metadata"]["uid"]

    kube.kubectl("delete", "service", "healed", "-n", op_namespace)
    kube.kubectl("scale", "deployment", "healed", "-n", op_namespace, "--replicas=5")

    def healed() -> bool:
        service = get(kube, op_namespace, "service", "healed")
        deployment = get(kube, op_namespace, "deployment", "healed") or {}
        return (
            service is not None
            and service["metadata"]["uid"] != uid
            and deployment["spec"]["replicas"] == 2
        )

    wait_for(healed, timeout=60, what="the Service recreated and the replicas put back")


def test_deleting_the_model_deployment_leaves_nothing_behind(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(kube, op_namespace, "gone", {**FILE_MODEL, "replicas": 2})
    wait_condition(kube, op_namespace, "gone")

    kube.kubectl("delete", "modeldeployment", "gone", "-n", op_namespace)

    def nothing_left() -> bool:
        selector = "sextant.dev/model-deployment=gone"
        found = get(kube, op_namespace, "deployments,replicasets,pods,services,pdb", "-l", selector)
        return found is not None and not found["items"]

    wait_for(nothing_left, timeout=90, what="garbage collection of every child")


def test_operator_killed_mid_reconcile_converges_after_restart(
    kube: KubeAccess, op_namespace: str, sextant_operator: LocalOperator
) -> None:
    apply_md(kube, op_namespace, "crashy", {**FILE_MODEL, "replicas": 2})
    wait_for(
        lambda: get(kube, op_namespace, "deployment", "crashy"),
        timeout=60,
        what="the operator to start on crashy",
    )

    sextant_operator.kill()
    apply_md(kube, op_namespace, "crashy", {**FILE_MODEL, "replicas": 3})
    sextant_operator.start()

    md = wait_condition(kube, op_namespace, "crashy", timeout=120)
    assert (md["status"]["replicas"], md["status"]["readyReplicas"]) == (3, 3)
    deployments = get(kube, op_namespace, "deployments") or {}
    assert [d["metadata"]["name"] for d in deployments["items"]] == ["crashy"]
