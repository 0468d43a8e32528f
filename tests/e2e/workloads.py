"""Manifests and clients the e2e tests share: a CPU ModelDeployment on the real node.

Reach a ModelDeployment's Service with sextant.devenv.demo.service_url: it waits until the
ClusterIP really routes."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from typing import Any

import httpx

from sextant.devenv.cluster import KubeAccess
from sextant_runtime.demo import SPECIES, example_request

# What the example model answers for the two flowers of example_request().
EXPECTED_SPECIES = ["setosa", "virginica"]


def cpu_model_deployment(name: str, namespace: str, uri: str, replicas: int = 2) -> dict[str, Any]:
    """Small requests, so that two replicas plus a surge pod fit the 2-CPU real node."""
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {"uri": uri, "format": "onnx"},
            "runtime": {"device": "cpu"},
            "replicas": replicas,
            "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
            "scheduling": {"nodeSelector": {"sextant.dev/node-pool": "real"}},
        },
    }


def apply(kube: KubeAccess, manifest: dict[str, Any]) -> None:
    kube.kubectl("apply", "-f", "-", input=json.dumps(manifest))


def wait_ready(kube: KubeAccess, name: str, namespace: str, timeout: int = 300) -> None:
    """Until the ModelDeployment's Ready condition is True: its runtime pods really passed
    their readiness probes."""
    kube.kubectl(
        "wait", f"modeldeployment/{name}", "-n", namespace,
        "--for=condition=Ready", f"--timeout={timeout}s", timeout=timeout + 20,
    )  # fmt: skip


def ask_species(client: httpx.Client, base_url: str, model: str) -> list[str]:
    """The species the model picks for each flower of example_request()."""
    response = client.post(f"{base_url}/v2/models/{model}/infer", json=example_request())
    response.raise_for_status()
    output = response.json()["outputs"][0]
    rows, width = output["shape"]
    data = output["data"]
    picks = [max(range(width), key=lambda j, i=i: data[i * width + j]) for i in range(rows)]
    return [SPECIES[k] for k in picks]


def serving_versions(kube: KubeAccess, namespace: str, name: str) -> set[str]:
    """The model versions of a ModelDeployment's pods that are not on their way out."""
    return {
        p["metadata"]["labels"]["sextant.dev/model-version"]
        for p in pods(kube, namespace, f"sextant.dev/model-deployment={name}")
        if p["metadata"].get("deletionTimestamp") is None
    }


def pods(kube: KubeAccess, namespace: str, selector: str) -> list[dict[str, Any]]:
    out = kube.kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json").stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


class SteadyLoad:
    """One client thread sending requests through the Service until stopped (bounded).

    `spread=True` opens a new connection per request: kube-proxy balances connections,
    so one kept-alive connection sends every request to one pod (never to a canary).
    Kept alive, it shows instead that a draining pod's `Connection: close` moves clients on.
    """

    def __init__(
        self, url: str, model: str, *, spread: bool = False, max_seconds: float = 400
    ) -> None:
        self.url, self.model, self.max_seconds = url, model, max_seconds
        self.spread = spread
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def _client(self) -> httpx.Client:
        if not self.spread:
            return httpx.Client(timeout=10, trust_env=False)
        no_reuse = httpx.Limits(max_keepalive_connections=0)
        return httpx.Client(
            timeout=10, trust_env=False, limits=no_reuse, headers={"Connection": "close"}
        )

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with self._client() as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    answer = ask_species(client, self.url, self.model)
                    ok = answer == EXPECTED_SPECIES
                    self.outcomes["ok" if ok else "wrong"] += 1
                    if not ok:
                        self.failures.append(f"wrong answer {answer}")
                except httpx.HTTPError as err:
                    self.outcomes["failed"] += 1
                    self.failures.append(f"{type(err).__name__}: {err}")
                time.sleep(0.01)
