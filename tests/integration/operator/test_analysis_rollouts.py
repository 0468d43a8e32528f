"""Canary analysis through the real operator: a real Prometheus, real runtime processes.

kwok pods do not serve, so two `sextant serve` processes on loopback stand in for the
ModelDeployment's pods: each serves the sleeper model (y = x; sleeps x seconds; answers
500 on negative x) with the `model`, `version` and `track` labels the operator's pods
would carry (the ModelDeployment's name, the digest of each version's URI, stable or
canary), and Prometheus scrapes them with the test namespace as their `namespace` label.
So the operator's queries, scoped by namespace, model, version and track, see exactly
their answers, and the traffic each test sends decides what the canary does.

The operator resyncs once an hour: only watch events and the requeues the analysis asks
for move these rollouts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from sextant.devenv.prometheus import LocalPrometheus
from sextant_operator.render.context import ModelArtifact
from tests.integration.operator.kubeobjects import apply_md, get, wait_condition
from tests.integration.operator.test_rollouts import annotate, deployments, quiet, rollout_state
from tests.integration.runtime.conftest import RuntimeServer, Serve, serve_module  # noqa: F401
from tests.polling import wait_for
from tests.unit.runtime.model_files import mlflow_sleeper

NAME = "sleeper"
MODEL_A = "file:///models/sleeper-a"  # what the kwok pods "run"; the processes answer for them
MODEL_B = "file:///models/sleeper-b"
OLD = ModelArtifact.from_uri(MODEL_A).version  # the version label the operator queries
NEW = ModelArtifact.from_uri(MODEL_B).version
INTERVAL_SECONDS = 3
XOf = Callable[[int], float]


def fast(i: int) -> float:
    return 0.002


def failing(i: int) -> float:
    return -1.0 if i % 5 == 0 else 0.002  # one request in five answered 500


def canary_with_analysis(prometheus_url: str) -> dict[str, Any]:
    return {
        "strategy": "Canary",
        "canary": {"steps": [{"setWeight": 50}, {"analysis": {}}]},
        "analysis": {
            "interval": f"{INTERVAL_SECONDS}s",
            "prometheusUrl": prometheus_url,
            "maxErrorRate": 0.05,
            "maxLatencyP99Ms": 1000,
            "count": 2,
            "failureLimit": 0,  # the first failed measurement aborts
            "inconclusiveLimit": 0,  # the first one without data pauses
        },
    }


def spec(uri: str, prometheus_url: str) -> dict[str, Any]:
    return {
        "model": {"uri": uri},
        "replicas": 2,
        "rollout": canary_with_analysis(prometheus_url),
    }


@pytest.fixture(scope="module")
def runtimes(
    serve_module: Serve,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, RuntimeServer]:
    """The stable and the canary pod, as real runtime processes."""
    model = mlflow_sleeper(tmp_path_factory.mktemp("sleeper") / "model")
    servers = {}
    for track, version in (("stable", OLD), ("canary", NEW)):
        env = {"SEXTANT_MODEL_VERSION": version, "SEXTANT_TRACK": track}
        servers[track] = serve_module(model, "--max-delay-ms", "0", name=NAME, env=env)
    return servers


@pytest.fixture
def scraped(
    runtimes: dict[str, RuntimeServer], prometheus_server: LocalPrometheus, ro_namespace: str
) -> Iterator[dict[str, RuntimeServer]]:
    """The runtimes scraped as pods of the test's namespace, before any rollout starts, so
    that their counters are old news by the time the analysis looks."""
    for server in runtimes.values():
        prometheus_server.add_target(f"127.0.0.1:{server.port}", namespace=ro_namespace)
    wait_for(
        lambda: len(prometheus_server.query(f'up{{namespace="{ro_namespace}"}} == 1')) == 2,
        timeout=30,
        what="both runtimes scraped in the test namespace",
    )
    yield runtimes
    for server in runtimes.values():
        prometheus_server.remove_target(f"127.0.0.1:{server.port}")


class Load:
    """One request at a time to each track given, until the block ends."""

    def __init__(self, servers: dict[str, RuntimeServer], inputs: dict[str, XOf]) -> None:
        self.stop = threading.Event()
        self.answers: dict[str, dict[int, int]] = {track: {} for track in inputs}
        self.threads = [
            threading.Thread(target=self._loop, args=(track, servers[track], x_of), daemon=True)
            for track, x_of in inputs.items()
        ]

    def _loop(self, track: str, server: RuntimeServer, x_of: XOf) -> None:
        seen = self.answers[track]
        with httpx.Client(timeout=10) as client:
            i = 0
            while not self.stop.is_set():
                body = {
                    "inputs": [
                        {"name": "input_0", "shape": [1, 1], "datatype": "FP32", "data": [x_of(i)]}
                    ]
                }
                code = client.post(server.infer_url, json=body).status_code
                seen[code] = seen.get(code, 0) + 1
                i += 1
                time.sleep(0.01)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)


def start_rollout(kube: KubeAccess, namespace: str, prometheus_url: str) -> None:
    """MODEL_A serving as stable, then MODEL_B applied: the canary goes to 50% and the
    analysis step begins."""
    apply_md(kube, namespace, NAME, spec(MODEL_A, prometheus_url))
    md = wait_condition(kube, namespace, NAME)
    assert md["status"]["stable"]["version"] == OLD
    apply_md(kube, namespace, NAME, spec(MODEL_B, prometheus_url))


def rollout_of(kube: KubeAccess, namespace: str) -> dict[str, Any]:
    md = get(kube, namespace, "modeldeployment", NAME) or {}
    return dict((md.get("status") or {}).get("rollout") or {})


def events(kube: KubeAccess, namespace: str) -> list[dict[str, Any]]:
    found = get(kube, namespace, "events", f"--field-selector=involvedObject.name={NAME}")
    return list((found or {}).get("items", []))


def reasons(kube: KubeAccess, namespace: str) -> set[str]:
    return {event["reason"] for event in events(kube, namespace)}


def test_a_healthy_canary_is_promoted_by_its_analysis(
    kube: KubeAccess,
    ro_namespace: str,
    rollout_operator: LocalOperator,
    prometheus_server: LocalPrometheus,
    scraped: dict[str, RuntimeServer],
) -> None:
    with Load(scraped, {"stable": fast, "canary": fast}) as load:
        start_rollout(kube, ro_namespace, prometheus_server.url)
        md = rollout_state(kube, ro_namespace, NAME, "Succeeded")

    assert load.answers["canary"].keys() == {200}, load.answers
    assert md["status"]["stable"]["version"] == NEW
    history = md["status"]["rollout"]["analysis"]
    error_rates = [m for m in history if m["metric"] == "error-rate"]
    assert len(error_rates) >= 2, history  # count 2: two passing measurements
    assert all(m["passed"] and m["value"] == 0 for m in error_rates), history
    latencies = [m for m in history if m["metric"] == "latency-p99"]
    assert all(m["passed"] and 0 < m["value"] < 1000 for m in latencies), history
    assert {"AnalysisSuccessful", "RolloutSucceeded"} <= reasons(kube, ro_namespace)
    assert "AnalysisMeasurementFailed" not in reasons(kube, ro_namespace)
    wait_for(
        lambda: deployments(kube, ro_namespace, NAME) == {NEW: 2},
        timeout=60,
        what="only the promoted version's Deployment",
    )


def test_a_failing_canary_is_aborted_by_its_analysis(
    kube: KubeAccess,
    ro_namespace: str,
    rollout_operator: LocalOperator,
    prometheus_server: LocalPrometheus,
    scraped: dict[str, RuntimeServer],
) -> None:
    with Load(scraped, {"stable": fast, "canary": failing}) as load:
        start_rollout(kube, ro_namespace, prometheus_server.url)
        md = rollout_state(kube, ro_namespace, NAME, "Aborted")

    assert load.answers["canary"].get(500, 0) > 0, load.answers
    rollout = md["status"]["rollout"]
    assert rollout["abortedVersion"] == NEW
    assert "analysis failed" in rollout["message"], rollout
    assert "error-rate" in rollout["message"], rollout
    assert md["status"]["stable"]["version"] == OLD
    failed = [m for m in rollout["analysis"] if m["metric"] == "error-rate"]
    assert failed, rollout
    assert not failed[-1]["passed"]
    assert failed[-1]["value"] == pytest.approx(0.2, abs=0.1)
    found = events(kube, ro_namespace)
    warnings = {e["reason"] for e in found if e["type"] == "Warning"}
    assert {"AnalysisMeasurementFailed", "AnalysisFailed"} <= warnings, found
    wait_for(
        lambda: deployments(kube, ro_namespace, NAME) == {OLD: 2},
        timeout=60,
        what="only the stable Deployment, at full size",
    )


def test_a_canary_without_traffic_pauses_as_inconclusive_and_promote_continues(
    kube: KubeAccess,
    ro_namespace: str,
    rollout_operator: LocalOperator,
    prometheus_server: LocalPrometheus,
    scraped: dict[str, RuntimeServer],
) -> None:
    with Load(scraped, {"stable": fast}):  # the canary gets nothing
        start_rollout(kube, ro_namespace, prometheus_server.url)
        md = rollout_state(kube, ro_namespace, NAME, "Paused")

        rollout = md["status"]["rollout"]
        assert md["status"]["canary"]["version"] == NEW
        assert md["status"]["canary"]["step"] == 1  # at the analysis step, never past it
        assert "no data" in rollout["message"], rollout
        assert f"sextant promote {NAME}" in rollout["message"], rollout
        assert rollout["analysisRun"]["phase"] == "Inconclusive"
        assert rollout["analysisRun"]["successful"] == 0
        measured = rollout["analysis"]
        assert measured, rollout
        assert all(not m["passed"] and m.get("value") is None for m in measured), measured
        assert "AnalysisInconclusive" in reasons(kube, ro_namespace)

        # Paused: no more measurements, so no "no data" entries piling up.
        time.sleep(3 * INTERVAL_SECONDS)
        still = rollout_of(kube, ro_namespace)
        assert still["state"] == "Paused"
        assert still["analysis"] == measured

        quiet()
        annotate(kube, ro_namespace, NAME, "promote")  # ROLLOUTS.md scenario 13
        md = rollout_state(kube, ro_namespace, NAME, "Succeeded")

    assert md["status"]["stable"]["version"] == NEW
    assert "sextant.dev/promote" not in md["metadata"].get("annotations", {})
    assert "Promoted" in reasons(kube, ro_namespace)
