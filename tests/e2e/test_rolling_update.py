"""A new model version rolls out pod by pod under steady load without losing a request."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx

from sextant.devenv.cluster import KubeAccess
from tests.e2e.conftest import ModelFiles
from tests.e2e.workloads import (
    EXPECTED_SPECIES,
    apply,
    ask_species,
    cpu_model_deployment,
    pods,
    service_url,
)

NAMESPACE = "e2e-rolling"
NAME = "iris-rolling"


class SteadyLoad:
    """One client thread sending requests through the Service until stopped (bounded)."""

    def __init__(self, url: str, model: str, max_seconds: float = 400) -> None:
        self.url, self.model, self.max_seconds = url, model, max_seconds
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

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(timeout=10, trust_env=False) as client:
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


def _versions(kube: KubeAccess) -> set[str]:
    return {
        p["metadata"]["labels"]["sextant.dev/model-version"]
        for p in pods(kube, NAMESPACE, f"app.kubernetes.io/instance={NAME}")
        if p["metadata"].get("deletionTimestamp") is None
    }


def test_rolling_update_under_load_loses_no_request(
    real_kube: KubeAccess, sextant_release: str, model_files: ModelFiles
) -> None:
    real_kube.kubectl("create", "namespace", NAMESPACE)
    manifest = cpu_model_deployment(NAME, NAMESPACE, model_files.uri("iris-v1.onnx"))
    apply(real_kube, manifest)
    real_kube.kubectl(
        "wait", f"modeldeployment/{NAME}", "-n", NAMESPACE,
        "--for=condition=Ready", "--timeout=300s", timeout=320,
    )  # fmt: skip
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
        real_kube.kubectl(
            "wait", f"modeldeployment/{NAME}", "-n", NAMESPACE,
            "--for=condition=Ready", "--timeout=120s",
        )  # fmt: skip
        time.sleep(2)

    assert _versions(real_kube).isdisjoint(before), "the new version never replaced the old"
    assert load.outcomes["ok"] > 50, load.outcomes
    assert load.failures == [], f"{load.outcomes}: {load.failures[:5]}"
