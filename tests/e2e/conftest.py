"""The e2e tier: Sextant's images on a real node (containerd + kubelet) of the local cluster.

`real_kube` is one cluster for the session with a real worker next to kwok's GPU and MIG
nodes (no kwok CPU nodes, so every pod that needs no GPU lands on the real node and
really runs). `sextant_release` installs the Helm chart into it: the operator runs
in-cluster from its image, as the chart's ServiceAccount. `model_files` serves model
files over HTTP on the host address that pods reach.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from sextant.devenv.cluster import KubeAccess, LocalCluster, NodePools, ensure_tools
from sextant.devenv.cluster.realnode.config import API_ADDRESS
from sextant.devenv.process import ManagedProcess, free_port
from sextant.devenv.prometheus import LocalPrometheus
from sextant_runtime.demo import EXAMPLE_MODEL, example_request
from tests.e2e.workloads import apply, cpu_model_deployment, wait_ready

log = logging.getLogger(__name__)
REPO_ROOT = Path(__file__).resolve().parents[2]
CHART = REPO_ROOT / "charts" / "sextant"
RELEASE = "sextant"
OPERATOR_NAMESPACE = "sextant-system"
REAL_POOL = {"sextant.dev/node-pool": "real"}
# The ModelDeployment `helm test` calls, created by test_helm_release.py.
HELM_TEST_MODEL = ("iris", "e2e-serving")


OWN_REAL_NODES = "own_real_nodes"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{OWN_REAL_NODES}: starts its own cluster with real nodes (runs first)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests with a real-node cluster of their own run before `real_kube` starts.

    One host holds one cluster with real nodes at a time, and `real_kube` lives until
    the session ends; a stable sort keeps every other order as collected.
    """
    items.sort(key=lambda item: item.get_closest_marker(OWN_REAL_NODES) is None)


@dataclass(frozen=True)
class ModelFiles:
    """An HTTP server on the host that pods reach: base URL plus the files it serves."""

    url: str
    folder: Path

    def uri(self, name: str) -> str:
        return f"{self.url}/{name}"


@pytest.fixture(scope="session")
def real_kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeAccess]:
    tools = ensure_tools(build=False)
    pools = NodePools(cpu=0, gpu=2, mig=1, real=1)
    with LocalCluster(tmp_path_factory.mktemp("real-cluster"), pools=pools, tools=tools) as cluster:
        yield cluster.access


@pytest.fixture(scope="session")
def model_files(
    real_kube: KubeAccess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ModelFiles]:
    """Two versions of the example model under different names (a new URI, a new version)."""
    folder = tmp_path_factory.mktemp("model-files")
    for name in ("iris-v1.onnx", "iris-v2.onnx"):
        shutil.copy(EXAMPLE_MODEL, folder / name)
    port = free_port()
    server = ManagedProcess(
        "model-files",
        [sys.executable, "-m", "http.server", str(port), "--bind", API_ADDRESS],
        log_path=folder.parent / "model-files.log",
        cwd=folder,
    )
    with server:
        url = f"http://{API_ADDRESS}:{port}"
        server.wait_http_ok(f"{url}/iris-v1.onnx", timeout=30)
        yield ModelFiles(url, folder)


@pytest.fixture(scope="session")
def sextant_release(real_kube: KubeAccess, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`helm install` of the chart: CRDs, RBAC and the operator from its image."""
    name, namespace = HELM_TEST_MODEL
    values = {
        "nodeSelector": REAL_POOL,
        "operator": {"resyncSeconds": 5},
        "tests": {
            "nodeSelector": REAL_POOL,
            "modelDeployment": {
                "name": name,
                "namespace": namespace,
                "request": json.dumps(example_request()),
            },
        },
    }
    values_file = tmp_path_factory.mktemp("helm") / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    real_kube.helm(
        "install", RELEASE, str(CHART),
        "--namespace", OPERATOR_NAMESPACE, "--create-namespace",
        "--values", str(values_file), "--wait", "--timeout=5m",
    )  # fmt: skip
    return RELEASE


@pytest.fixture(scope="session")
def served_model(
    real_kube: KubeAccess, sextant_release: str, model_files: ModelFiles
) -> tuple[str, str]:
    """The ModelDeployment `helm test` calls, Ready on the real node: (name, namespace)."""
    name, namespace = HELM_TEST_MODEL
    real_kube.kubectl("create", "namespace", namespace)
    apply(real_kube, cpu_model_deployment(name, namespace, model_files.uri("iris-v1.onnx")))
    # Ready only once the runtime's readiness probe has really passed on its pods.
    wait_ready(real_kube, name, namespace)
    return name, namespace


class PodTargets:
    """Keeps a LocalPrometheus scraping the running pods of every ModelDeployment, with
    `namespace` and `pod` labels: what kubernetes_sd (role pod) and the usual relabelling
    do, which Debian's Prometheus is built without."""

    def __init__(self, kube: KubeAccess, prometheus: LocalPrometheus, every: float = 1.0) -> None:
        self.kube, self.prometheus, self.every = kube, prometheus, every
        self.targets: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pod-targets", daemon=True)

    def __enter__(self) -> PodTargets:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.sync()
            except Exception:  # the next round retries; a test sees the missing data
                log.exception("listing ModelDeployment pods failed")

    def sync(self) -> None:
        out = self.kube.kubectl(
            "get", "pods", "-A", "-l", "sextant.dev/model-deployment", "-o", "json"
        ).stdout
        found: dict[str, dict[str, str]] = {}
        for pod in json.loads(out)["items"]:
            ip = pod["status"].get("podIP")
            if not ip or pod["status"].get("phase") != "Running":
                continue
            for container in pod["spec"]["containers"]:
                for port in container.get("ports") or []:
                    if port.get("name") == "http":
                        meta = pod["metadata"]
                        labels = {"namespace": meta["namespace"], "pod": meta["name"]}
                        found[f"{ip}:{port['containerPort']}"] = labels
        for address in self.targets - set(found):
            self.prometheus.remove_target(address)
        for address in set(found) - self.targets:
            self.prometheus.add_target(address, **found[address])
        self.targets = set(found)


@pytest.fixture(scope="session")
def cluster_prometheus(
    real_kube: KubeAccess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalPrometheus]:
    """Debian's Prometheus on the host address pods reach (the in-cluster operator asks
    it), scraping every ModelDeployment's pods with a `namespace` label."""
    workdir = tmp_path_factory.mktemp("cluster-prometheus")
    with (
        LocalPrometheus(workdir, host=API_ADDRESS) as server,
        PodTargets(real_kube, server),
    ):
        yield server
