"""`sextant demo`, step by step: Sextant's main job on local defaults, all of it real.

1. the local cluster: control plane, one real node (containerd + kubelet) running
   Sextant's images, and kwok's GPU and MIG nodes;
2. Redis, Prometheus and an MLflow tracking server (MLflow on the host address the
   cluster's pods reach);
3. the example iris classifier (examples/models/iris.onnx) registered in MLflow, alias
   `champion`, served by a local runtime, scraped by Prometheus, and asked once;
4. the Helm chart installs the operator in-cluster from its image; a ModelDeployment of
   that alias runs on the real node and answers through its Service, and another one
   lands on the GPU nodes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sextant.devenv.cluster import KubeAccess, LocalCluster, NodePools
from sextant.devenv.cluster.realnode.config import API_ADDRESS
from sextant.devenv.mlflow_server import LocalMlflow
from sextant.devenv.stack import LocalStack, local_stack
from sextant_runtime.demo import EXAMPLE_MODEL, example_request, serving, species_answers

MODEL_NAME = "iris"
GPU_MODEL_NAME = "iris-gpu"
REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "sextant"
# One real node for pods that need no GPU, kwok's nodes for those that do.
DEMO_POOLS = NodePools(cpu=0, gpu=2, mig=1, real=1)
REAL_POOL = {"sextant.dev/node-pool": "real"}
GPU_PRODUCT = "NVIDIA-H100-80GB-HBM3"

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoEndpoints:
    stack: LocalStack
    runtime_url: str
    kubeconfig: Path | None
    service_url: str | None = None


def register_example_model(mlflow_server: LocalMlflow) -> str:
    """Log the example ONNX model, register it and point alias `champion` at it."""
    import mlflow  # noqa: PLC0415 - heavy; only the demo and tests need it
    import onnx  # noqa: PLC0415
    from mlflow import MlflowClient  # noqa: PLC0415

    mlflow.set_tracking_uri(mlflow_server.url)
    with mlflow.start_run(run_name="sextant-demo"):
        info = mlflow.onnx.log_model(
            onnx.load(str(EXAMPLE_MODEL)), name="model", registered_model_name=MODEL_NAME
        )
    version = str(info.registered_model_version)
    MlflowClient(mlflow_server.url).set_registered_model_alias(MODEL_NAME, "champion", version)
    return version


def infer_once(runtime_url: str, model: str = MODEL_NAME) -> list[str]:
    """One OIP v2 request for two flowers; the species the model picks for each."""
    response = httpx.post(
        f"{runtime_url}/v2/models/{model}/infer",
        json=example_request(),
        timeout=30,
        trust_env=False,
    )
    response.raise_for_status()
    return species_answers(response.json())


def wait_for_metric(stack: LocalStack, promql: str, timeout: float = 30) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = stack.prometheus.query(promql)
        if result:
            return float(result[0]["value"][1])
        time.sleep(0.5)
    raise TimeoutError(f"Prometheus has no value for {promql} after {timeout:.0f}s")


def model_deployment_manifest(mlflow_url: str, *, gpu: bool) -> dict[str, Any]:
    """The champion alias: on the real node's CPU, or on two (kwok) H100s."""
    registry = {"name": MODEL_NAME, "alias": "champion", "trackingUri": mlflow_url}
    spec: dict[str, Any] = {"model": {"registry": registry}, "replicas": 2}
    if gpu:
        spec |= {"runtime": {"device": "cuda"}, "gpu": {"count": 1, "product": GPU_PRODUCT}}
    else:
        # Small requests: two replicas and a surge pod fit the 2-CPU real node.
        spec |= {
            "runtime": {"device": "cpu"},
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            "scheduling": {"nodeSelector": REAL_POOL},
        }
    name = GPU_MODEL_NAME if gpu else MODEL_NAME
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": spec,
    }


def install_chart(kube: KubeAccess, mlflow_url: str) -> None:
    """`helm install` of the chart: the operator runs in-cluster from its image."""
    kube.helm(
        "install", "sextant", str(CHART), "--namespace", "sextant-system", "--create-namespace",
        "--set", "nodeSelector.sextant\\.dev/node-pool=real",
        "--set", f"operator.mlflowTrackingUri={mlflow_url}",
        "--set", "operator.resyncSeconds=10",
        "--wait", "--timeout=5m",
    )  # fmt: skip


def wait_model_deployment_ready(kube: KubeAccess, name: str, timeout: float = 300) -> None:
    kube.kubectl(
        "wait", f"modeldeployment/{name}", "--for=condition=Ready", f"--timeout={int(timeout)}s",
        timeout=timeout + 20,
    )  # fmt: skip


def service_url(
    kube: KubeAccess, name: str, namespace: str = "default", timeout: float = 60
) -> str:
    """The ModelDeployment's ClusterIP Service, once it routes: kube-proxy programs its
    rules a moment after the pods turn Ready (until then the ClusterIP refuses). It routes
    the host's traffic too."""
    jsonpath = "jsonpath={.spec.clusterIP}:{.spec.ports[0].port}"
    url = (
        "http://"
        + kube.kubectl("get", "service", name, "-n", namespace, "-o", jsonpath).stdout.strip()
    )
    deadline = time.monotonic() + timeout
    while True:
        try:
            ready = httpx.get(f"{url}/v2/models/{name}/ready", timeout=5, trust_env=False)
            if ready.status_code == 200:
                return url
            problem = f"HTTP {ready.status_code}"
        except httpx.TransportError as err:
            problem = str(err)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not route to {name} in {timeout:.0f}s: {problem}")
        time.sleep(0.5)


def scrape_pods(kube: KubeAccess, stack: LocalStack, name: str) -> None:
    """Prometheus scrapes the ModelDeployment's pods directly: pod IPs route to the host."""
    out = kube.kubectl("get", "pods", "-l", f"sextant.dev/model-deployment={name}", "-o", "json")
    for pod in json.loads(out.stdout)["items"]:
        address = f"{pod['status']['podIP']}:8080"
        stack.prometheus.add_target(address, job="sextant-pods", pod=pod["metadata"]["name"])


def run_demo(workdir: Path, say: Say, hold: Callable[[DemoEndpoints], None]) -> None:
    """Bring everything up, show it working, `hold` while a person looks, tear it all down."""
    say("starting the local cluster: control plane, a real node, kwok's GPU and MIG nodes")
    with LocalCluster(workdir / "cluster", pools=DEMO_POOLS, progress=say) as cluster:
        kube = cluster.access
        say("starting Redis, Prometheus and MLflow (MLflow where the cluster's pods reach it)")
        with local_stack(workdir, mlflow_host=API_ADDRESS) as stack:
            version = register_example_model(stack.mlflow)
            say(f"registered {MODEL_NAME} version {version} in MLflow, alias champion")
            with serving(
                f"models:/{MODEL_NAME}@champion",
                MODEL_NAME,
                workdir,
                env={"MLFLOW_TRACKING_URI": stack.mlflow.url},
                timeout=180,
            ) as runtime_url:
                stack.prometheus.add_target(runtime_url.removeprefix("http://"), job="sextant-demo")
                say(f"local runtime serving models:/{MODEL_NAME}@champion at {runtime_url}")
                for answer in infer_once(runtime_url):
                    say(f"inference: {answer}")
                in_cluster = _deploy_in_cluster(kube, stack, say)
                hold(DemoEndpoints(stack, runtime_url, kube.kubeconfig, in_cluster))


def _deploy_in_cluster(kube: KubeAccess, stack: LocalStack, say: Say) -> str:
    say("helm install: CRDs, RBAC and the operator from its image, on the real node")
    install_chart(kube, stack.mlflow.url)
    for gpu in (False, True):
        manifest = model_deployment_manifest(stack.mlflow.url, gpu=gpu)
        kube.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    say(f"applied ModelDeployment {MODEL_NAME} (2 replicas on the real node's CPU)")
    wait_model_deployment_ready(kube, MODEL_NAME)
    url = service_url(kube, MODEL_NAME)
    for answer in infer_once(url):
        say(f"inference through the Service {url}: {answer}")
    scrape_pods(kube, stack, MODEL_NAME)
    served = wait_for_metric(stack, 'sum(sextant_inference_requests_total{job="sextant-pods"})')
    say(f"Prometheus scrapes the pods: {served:g} request(s) served in the cluster")
    say(f"applied ModelDeployment {GPU_MODEL_NAME} (2 replicas, one H100 each)")
    wait_model_deployment_ready(kube, GPU_MODEL_NAME)
    say("ModelDeployments are Ready:\n" + kube.kubectl("get", "md").stdout)
    pods = kube.kubectl("get", "pods", "-o", "wide", "-l", "sextant.dev/model-deployment")
    say("their pods: real ones on sextant-node-0, simulated ones on the GPU nodes:\n" + pods.stdout)
    return url
