"""`sextant demo`, step by step: Sextant's main job on local defaults, all of it real.

1. Redis, Prometheus and an MLflow tracking server on loopback;
2. the example iris classifier (examples/models/iris.onnx) registered in MLflow, alias
   `champion`;
3. the runtime serving `models:/iris@champion`, scraped by Prometheus, and one inference
   request sent to it over the Open Inference Protocol;
4. the local control plane with fake GPU nodes, the CRDs, the operator, and a
   ModelDeployment of that alias on a GPU node going Ready.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sextant.devenv.cluster import KubeAccess, LocalCluster
from sextant.devenv.mlflow_server import LocalMlflow
from sextant.devenv.operator_process import LocalOperator
from sextant.devenv.stack import LocalStack, local_stack
from sextant_runtime.demo import EXAMPLE_MODEL, example_request, serving, species_answers

MODEL_NAME = "iris"
REPO_ROOT = Path(__file__).resolve().parents[2]

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoEndpoints:
    stack: LocalStack
    runtime_url: str
    kubeconfig: Path | None


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


def infer_once(runtime_url: str) -> list[str]:
    """One OIP v2 request for two flowers; the species the model picks for each."""
    response = httpx.post(
        f"{runtime_url}/v2/models/{MODEL_NAME}/infer", json=example_request(), timeout=30
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


def model_deployment_manifest(mlflow_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": MODEL_NAME, "namespace": "default"},
        "spec": {
            "model": {
                "registry": {"name": MODEL_NAME, "alias": "champion", "trackingUri": mlflow_url}
            },
            "runtime": {"device": "cuda"},
            "replicas": 2,
            "gpu": {"count": 1, "product": "NVIDIA-H100-80GB-HBM3"},
        },
    }


@contextlib.contextmanager
def operator_on_cluster(workdir: Path, mlflow_url: str, say: Say) -> Iterator[KubeAccess]:
    """The local control plane with the CRDs installed and `sextant operator` running."""
    with LocalCluster(workdir / "cluster", progress=say) as cluster:
        kube = cluster.access
        kube.kubectl("apply", "--server-side", "-f", str(REPO_ROOT / "crds"))
        kube.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
        args = [f"--mlflow-tracking-uri={mlflow_url}", "--resync-seconds=5"]
        with LocalOperator(kube.kubeconfig, workdir, args):
            yield kube


def wait_model_deployment_ready(kube: KubeAccess, timeout: float = 120) -> None:
    kube.kubectl(
        "wait",
        f"modeldeployment/{MODEL_NAME}",
        "--for=condition=Ready",
        f"--timeout={int(timeout)}s",
    )


def run_demo(workdir: Path, say: Say, hold: Callable[[DemoEndpoints], None]) -> None:
    """Bring everything up, show it working, `hold` while a person looks, tear it all down."""
    say("starting Redis, Prometheus and MLflow on loopback")
    with local_stack(workdir) as stack:
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
            say(f"runtime serving models:/{MODEL_NAME}@champion at {runtime_url}")
            for answer in infer_once(runtime_url):
                say(f"inference: {answer}")
            served = wait_for_metric(stack, "sum(sextant_inference_requests_total)")
            say(f"Prometheus sees sum(sextant_inference_requests_total) = {served:g}")
            with operator_on_cluster(workdir, stack.mlflow.url, say) as kube:
                kube.kubectl(
                    "apply",
                    "-f",
                    "-",
                    input=json.dumps(model_deployment_manifest(stack.mlflow.url)),
                )
                say(f"applied ModelDeployment {MODEL_NAME} (2 replicas, one H100 each)")
                wait_model_deployment_ready(kube)
                say("ModelDeployment is Ready:\n" + kube.kubectl("get", "md", MODEL_NAME).stdout)
                pods = kube.kubectl(
                    "get", "pods", "-o", "wide", "-l", f"sextant.dev/model-deployment={MODEL_NAME}"
                )
                say("its pods, on the GPU nodes:\n" + pods.stdout)
                hold(DemoEndpoints(stack, runtime_url, kube.kubeconfig))
