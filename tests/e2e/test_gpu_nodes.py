"""GPU ModelDeployments keep landing on kwok's GPU nodes in a cluster with a real node."""

from __future__ import annotations

from sextant.devenv.cluster import KubeAccess
from tests.e2e.workloads import apply, pods

NAMESPACE = "e2e-gpu"


def test_gpu_model_deployment_lands_on_kwok_gpu_nodes_not_the_real_node(
    real_kube: KubeAccess, sextant_release: str
) -> None:
    real_kube.kubectl("create", "namespace", NAMESPACE)
    apply(
        real_kube,
        {
            "apiVersion": "sextant.dev/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {"name": "llm", "namespace": NAMESPACE},
            "spec": {
                "model": {"uri": "http://models.invalid/llm.onnx", "format": "onnx"},
                "runtime": {"device": "cuda"},
                "replicas": 2,
                "gpu": {"count": 1, "product": "NVIDIA-H100-80GB-HBM3"},
            },
        },
    )
    real_kube.kubectl(
        "wait", "modeldeployment/llm", "-n", NAMESPACE,
        "--for=condition=Ready", "--timeout=180s", timeout=200,
    )  # fmt: skip
    placed = pods(real_kube, NAMESPACE, "app.kubernetes.io/instance=llm")
    assert len(placed) == 2
    assert {p["spec"]["nodeName"].startswith("sextant-gpu-") for p in placed} == {True}
    limits = placed[0]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == "1"
