"""Pods land where their resource requests and tolerations allow, as on a real GPU cluster."""

from kubernetes.client import AppsV1Api, CoreV1Api, VersionApi

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.cluster.tools import pinned_kubernetes_version
from tests.integration.cluster.workloads import (
    GPU_TOLERATION,
    deployment,
    pods,
    ready_pods,
    unschedulable_condition,
)
from tests.polling import wait_for


def test_pod_requesting_one_gpu_runs_ready_on_a_gpu_node(
    kube: KubeAccess, kube_namespace: str
) -> None:
    api = kube.api_client()
    AppsV1Api(api).create_namespaced_deployment(
        kube_namespace,
        deployment("one-gpu", limits={"nvidia.com/gpu": "1"}, tolerations=[GPU_TOLERATION]),
    )

    (pod,) = wait_for(
        lambda: ready_pods(CoreV1Api(api), kube_namespace, "one-gpu", 1),
        timeout=60,
        what="the one-GPU pod to be Running and Ready",
    )
    node = CoreV1Api(api).read_node(pod.spec.node_name)
    assert node.metadata.labels["nvidia.com/gpu.present"] == "true"
    assert node.metadata.labels["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert node.status.allocatable["nvidia.com/gpu"] == "8"
    assert pod.status.pod_ip, "kwok gives a running pod an IP"


def test_pod_requesting_nine_gpus_stays_pending_as_unschedulable(
    kube: KubeAccess, kube_namespace: str
) -> None:
    api = kube.api_client()
    AppsV1Api(api).create_namespaced_deployment(
        kube_namespace,
        deployment("nine-gpus", limits={"nvidia.com/gpu": "9"}, tolerations=[GPU_TOLERATION]),
    )

    condition = wait_for(
        lambda: unschedulable_condition(CoreV1Api(api), kube_namespace, "nine-gpus"),
        timeout=60,
        what="the scheduler to give up on the nine-GPU pod",
    )
    assert condition.reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in condition.message
    (pod,) = pods(CoreV1Api(api), kube_namespace, "nine-gpus")
    assert pod.status.phase == "Pending"
    assert pod.spec.node_name is None


def test_pod_requesting_a_mig_slice_lands_on_the_mig_node(
    kube: KubeAccess, kube_namespace: str
) -> None:
    api = kube.api_client()
    AppsV1Api(api).create_namespaced_deployment(
        kube_namespace,
        deployment(
            "mig-slice", limits={"nvidia.com/mig-1g.10gb": "1"}, tolerations=[GPU_TOLERATION]
        ),
    )

    (pod,) = wait_for(
        lambda: ready_pods(CoreV1Api(api), kube_namespace, "mig-slice", 1),
        timeout=60,
        what="the MIG pod to be Running and Ready",
    )
    node = CoreV1Api(api).read_node(pod.spec.node_name)
    assert node.metadata.labels["sextant.dev/node-pool"] == "mig"
    assert node.status.allocatable["nvidia.com/mig-1g.10gb"] == "7"
    assert "nvidia.com/gpu" not in node.status.allocatable


def test_pods_without_the_gpu_toleration_stay_off_gpu_nodes(
    kube: KubeAccess, kube_namespace: str
) -> None:
    api = kube.api_client()
    AppsV1Api(api).create_namespaced_deployment(kube_namespace, deployment("cpu-only", replicas=6))

    running = wait_for(
        lambda: ready_pods(CoreV1Api(api), kube_namespace, "cpu-only", 6),
        timeout=60,
        what="six CPU-only pods to be Ready",
    )
    nodes = {pod.spec.node_name for pod in running}
    assert nodes, "the pods were scheduled"
    assert all(name.startswith("sextant-cpu-") for name in nodes), nodes


def test_server_reports_the_pinned_kubernetes_version(kube: KubeAccess) -> None:
    version = VersionApi(kube.api_client()).get_code()
    assert version.git_version == pinned_kubernetes_version()
    client_version = kube.kubectl("version", "--client", "-o", "json").stdout
    assert f'"gitVersion": "{pinned_kubernetes_version()}"' in client_version
