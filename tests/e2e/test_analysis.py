"""Rollout analysis on the real node: the in-cluster operator asks a real Prometheus that
scrapes the ModelDeployment's pods, and the judge alone decides.

One ModelDeployment (2 replicas; a canary at 50% is one pod of each version) goes through
three rollouts, each ending with no rollout in flight: a good version is promoted, a
broken one (every real request fails) is aborted and clients see stable's answers again,
and one that gets no traffic pauses with "no data" instead of passing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.demo import service_url
from sextant.devenv.prometheus import LocalPrometheus
from sextant_operator.render.context import ModelArtifact
from tests.e2e.conftest import ModelFiles
from tests.e2e.workloads import (
    SteadyLoad,
    apply,
    cpu_model_deployment,
    serving_versions,
)

NAMESPACE = "e2e-analysis"
NAME = "iris-analysis"
BROKEN = "iris-broken.onnx"
Status = dict[str, Any]


def broken_model(path: Path) -> Path:
    """The example model's signature; loads and warms up (zeros) but fails on every real
    flower: it reshapes its 4 x batch inputs into 4 x batch + 1 values when any is non-zero."""
    nodes = [
        helper.make_node("Size", ["measurements"], ["n"]),
        helper.make_node("Abs", ["measurements"], ["abs"]),
        helper.make_node("ReduceSum", ["abs"], ["total"], keepdims=0),
        helper.make_node("Greater", ["total", "zero"], ["nonzero"]),
        helper.make_node("Cast", ["nonzero"], ["extra"], to=TensorProto.INT64),
        helper.make_node("Add", ["n", "extra"], ["size"]),
        helper.make_node("Unsqueeze", ["size", "axis0"], ["flat_shape"]),
        helper.make_node("Reshape", ["measurements", "flat_shape"], ["flat"]),
        helper.make_node("Reshape", ["flat", "rows_shape"], ["rows"]),
        helper.make_node("Gemm", ["rows", "weight", "bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "iris-broken",
        [helper.make_tensor_value_info("measurements", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])],
        initializer=[
            numpy_helper.from_array(np.array(0, dtype=np.float32), "zero"),
            numpy_helper.from_array(np.array([0], dtype=np.int64), "axis0"),
            numpy_helper.from_array(np.array([-1, 4], dtype=np.int64), "rows_shape"),
            numpy_helper.from_array(np.zeros((4, 3), dtype=np.float32), "weight"),
            numpy_helper.from_array(np.zeros(3, dtype=np.float32), "bias"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def analysed(
    real_kube: KubeAccess,
    sextant_release: str,
    model_files: ModelFiles,
    cluster_prometheus: LocalPrometheus,
) -> dict[str, Any]:
    """The ModelDeployment, Ready on v1, with a canary of 50% then an analysis step."""
    broken_model(model_files.folder / BROKEN)
    real_kube.kubectl("create", "namespace", NAMESPACE)
    manifest = cpu_model_deployment(NAME, NAMESPACE, model_files.uri("iris-v1.onnx"))
    manifest["spec"]["rollout"] = {
        "strategy": "Canary",
        "canary": {"steps": [{"setWeight": 50}, {"analysis": {}}]},
        "analysis": {
            "prometheusUrl": cluster_prometheus.url,
            "interval": "5s",  # 5 scrapes of the 1 s scrape interval
            "count": 2,
            "failureLimit": 1,
            "inconclusiveLimit": 1,
            "maxErrorRate": 0.05,
            "maxLatencyP99Ms": 5000,
        },
    }
    apply(real_kube, manifest)
    real_kube.kubectl(
        "wait", f"modeldeployment/{NAME}", "-n", NAMESPACE,
        "--for=condition=Ready", "--timeout=300s", timeout=320,
    )  # fmt: skip
    return manifest


def status(kube: KubeAccess) -> Status:
    out = kube.kubectl("get", "modeldeployment", NAME, "-n", NAMESPACE, "-o", "json").stdout
    found: Status = json.loads(out).get("status", {})
    return found


def rollout_of(found: Status) -> Status:
    rollout: Status = found.get("rollout") or {}
    return rollout


def wait_for(
    kube: KubeAccess,
    what: str,
    ok: Callable[[Status], bool],
    never: str | None = None,
    timeout: float = 240,
) -> Status:
    """Status once `ok`; fails at once if version `never` is promoted meanwhile."""
    deadline = time.monotonic() + timeout
    found: Status = {}
    while time.monotonic() < deadline:
        found = status(kube)
        if ok(found):
            return found
        assert never is None or found["stable"]["version"] != never, found
        time.sleep(1)
    raise AssertionError(f"never {what}: {json.dumps(found, indent=1)}")


def roll_to(kube: KubeAccess, manifest: dict[str, Any], uri: str) -> tuple[str, str]:
    """Apply the manifest with a new model URI: (stable version before, the new version)."""
    stable = status(kube)["stable"]["version"]
    manifest["spec"]["model"]["uri"] = uri
    apply(kube, manifest)
    return stable, ModelArtifact.from_uri(uri).version


def sextant(kube: KubeAccess, *args: str) -> None:
    env = {**os.environ, "KUBECONFIG": str(kube.kubeconfig)}
    subprocess.run([sys.executable, "-m", "sextant", *args], env=env, check=True, timeout=60)


def measured(found: Status) -> list[str]:
    """The phases of the measurements in status (newest last)."""
    return [m["phase"] for m in rollout_of(found).get("analysis") or []]


def test_a_good_version_passes_analysis_and_is_promoted(
    real_kube: KubeAccess, analysed: dict[str, Any], model_files: ModelFiles
) -> None:
    url = service_url(real_kube, NAME, NAMESPACE)
    with SteadyLoad(url, NAME, max_seconds=240, spread=True) as load:
        old, new = roll_to(real_kube, analysed, model_files.uri("iris-v2.onnx"))
        done = wait_for(
            real_kube,
            "promoted",
            lambda s: rollout_of(s).get("state") == "Succeeded" and s["stable"]["version"] == new,
        )
    assert old != new
    phases = measured(done)  # the analysis step's, then the background run's at 100%
    assert phases.count("Successful") >= 2 * 2, phases  # count 2, error rate and p99 each
    assert "Failed" not in phases, rollout_of(done)["analysis"]
    assert load.outcomes["ok"] > 50, load.outcomes
    assert load.failures == [], f"{load.outcomes}: {load.failures[:5]}"


def test_a_broken_version_is_aborted_by_analysis_and_clients_see_stable_answers(
    real_kube: KubeAccess, analysed: dict[str, Any], model_files: ModelFiles
) -> None:
    url = service_url(real_kube, NAME, NAMESPACE)
    with SteadyLoad(url, NAME, max_seconds=240, spread=True) as during:
        stable, broken = roll_to(real_kube, analysed, model_files.uri(BROKEN))
        aborted = wait_for(
            real_kube,
            "aborted",
            lambda s: (
                rollout_of(s).get("state") == "Aborted"
                and rollout_of(s).get("abortedVersion") == broken
            ),
            never=broken,
        )
    assert during.outcomes["failed"] > 0, during.outcomes  # the canary did take traffic
    assert "analysis failed" in rollout_of(aborted)["message"], aborted
    assert "error-rate" in rollout_of(aborted)["message"], aborted
    assert aborted["stable"]["version"] == stable
    deadline = time.monotonic() + 120
    while serving_versions(real_kube, NAMESPACE, NAME) != {stable}:
        assert time.monotonic() < deadline, serving_versions(real_kube, NAMESPACE, NAME)
        time.sleep(1)
    real_kube.kubectl(
        "wait", f"modeldeployment/{NAME}", "-n", NAMESPACE,
        "--for=condition=Ready", "--timeout=120s",
    )  # fmt: skip
    time.sleep(2)  # kube-proxy drops the canary's endpoint
    with SteadyLoad(url, NAME, max_seconds=8, spread=True) as after:
        time.sleep(8)
    assert after.outcomes["ok"] > 20, after.outcomes
    assert after.failures == [], f"{after.outcomes}: {after.failures[:5]}"


def test_a_version_without_traffic_pauses_with_no_data_and_never_passes(
    real_kube: KubeAccess, analysed: dict[str, Any], model_files: ModelFiles
) -> None:
    stable, quiet = roll_to(real_kube, analysed, model_files.uri("iris-v1.onnx") + "?quiet")
    paused = wait_for(
        real_kube,
        "paused for no data",
        lambda s: (
            (s.get("canary") or {}).get("version") == quiet
            and rollout_of(s).get("state") == "Paused"
        ),
        never=quiet,
    )
    rollout = rollout_of(paused)
    assert "no data" in rollout["message"], rollout
    assert "sextant promote" in rollout["message"], rollout
    assert rollout["analysisRun"]["successful"] == 0, rollout
    assert paused["stable"]["version"] == stable
    sextant(real_kube, "abort", NAME, "-n", NAMESPACE)
    wait_for(real_kube, "aborted", lambda s: rollout_of(s).get("state") == "Aborted")
