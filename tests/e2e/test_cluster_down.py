"""`sextant cluster up --real-nodes 1` runs a pod for real; `down` leaves nothing behind.

Marked own_real_nodes: it starts a cluster with real nodes of its own, so it runs
before the session's shared one (conftest.real_kube); a host holds one at a time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sextant.devenv.cluster.realnode import host
from sextant.devenv.cluster.realnode.node import plan
from sextant.devenv.cluster.state import ClusterRecord


def _sextant(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sextant", *args],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


@pytest.mark.own_real_nodes
def test_real_node_runs_a_pod_and_down_leaves_no_trace(tmp_path: Path) -> None:
    state = tmp_path / "cluster"
    up = _sextant(
        "cluster", "up", "--state-dir", str(state),
        "--real-nodes=1", "--cpu-nodes=0", "--gpu-nodes=0", "--mig-nodes=0",
    )  # fmt: skip
    assert up.returncode == 0, up.stderr
    record = ClusterRecord.load(state / "state.json")
    assert record is not None
    try:
        kubectl = [str(record.bin_dir / "kubectl"), f"--kubeconfig={record.kubeconfig}"]
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "sleeper", "namespace": "default"},
            "spec": {
                "containers": [
                    {
                        "name": "sleep",
                        "image": "ghcr.io/sextant-dev/sextant-runtime:0.1.0",
                        "command": ["python", "-c", "import time; time.sleep(3600)"],
                    }
                ],
                "terminationGracePeriodSeconds": 1,
            },
        }
        subprocess.run([*kubectl, "apply", "-f", "-"], input=json.dumps(pod), text=True, check=True)
        waited = subprocess.run(
            [*kubectl, "wait", "pod/sleeper", "--for=condition=Ready", "--timeout=120s"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert waited.returncode == 0, waited.stderr
        nodes = plan(state, 1)
        assert host.leftovers(nodes), "a running real node should show up in leftovers()"
    finally:
        down = _sextant("cluster", "down", "--state-dir", str(state))
    assert down.returncode == 0, down.stderr
    assert host.leftovers(nodes) == []
    assert not state.exists()
