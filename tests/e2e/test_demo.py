"""`sextant demo` (what `make demo` runs) goes all the way and cleans up after itself.

Marked own_real_nodes: it starts a cluster with real nodes of its own, so it runs
before the session's shared one (conftest.real_kube); a host holds one at a time.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sextant.devenv.cluster.realnode import host
from sextant.devenv.cluster.realnode.node import plan


@pytest.mark.own_real_nodes
def test_demo_serves_through_a_service_on_the_real_node_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "sextant", "demo", "--workdir", str(workdir), "--exit-after", "1"],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, f"{out}\n{result.stderr}"
    assert "-> setosa" in out
    assert "-> virginica" in out
    assert "inference through the Service http://10." in out
    assert "Prometheus scrapes the pods" in out
    assert "iris-gpu" in out
    assert "Stopped everything the demo started." in out
    assert host.leftovers(plan(workdir / "cluster", 1)) == []
