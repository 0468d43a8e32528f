"""`sextant cluster up|env|status|down` as a user runs them, each in its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sextant.devenv.cluster import ensure_tools


def sextant(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sextant", "cluster", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def recorded_pids(state_dir: Path) -> dict[str, int]:
    state = json.loads((state_dir / "state.json").read_text())
    return {process["name"]: process["pid"] for process in state["processes"]}


def processes_mentioning(text: str) -> list[int]:
    """PIDs of every process whose command line contains `text`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting to be reaped does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


@pytest.fixture(scope="module")
def cluster_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cluster started by `sextant cluster up` with one node of each kind."""
    ensure_tools(build=False)
    state_dir = tmp_path_factory.mktemp("cli") / "cluster"
    args = ["--cpu-nodes=1", "--gpu-nodes=1", "--mig-nodes=1", f"--state-dir={state_dir}"]
    started = sextant("up", *args)
    try:
        assert started.returncode == 0, started.stderr
        yield state_dir
    finally:
        sextant("down", f"--state-dir={state_dir}")


def test_up_again_does_not_start_a_second_cluster(cluster_dir: Path) -> None:
    before = recorded_pids(cluster_dir)

    again = sextant("up", f"--state-dir={cluster_dir}")

    assert again.returncode == 0, again.stderr
    assert "already running" in again.stdout
    assert recorded_pids(cluster_dir) == before
    assert len(processes_mentioning(str(cluster_dir))) == len(before)


def test_env_exports_a_kubeconfig_that_reaches_the_cluster(cluster_dir: Path) -> None:
    printed = sextant("env", f"--state-dir={cluster_dir}")

    assert printed.returncode == 0, printed.stderr
    assert f"export KUBECONFIG={cluster_dir / 'kubeconfig'}" in printed.stdout
    nodes = subprocess.run(
        ["bash", "-c", f"{printed.stdout}\nkubectl get nodes -o name"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(nodes) == ["node/sextant-cpu-0", "node/sextant-gpu-0", "node/sextant-mig-0"]


def test_status_names_every_component_and_its_log(cluster_dir: Path) -> None:
    shown = sextant("status", f"--state-dir={cluster_dir}")

    assert shown.returncode == 0, shown.stderr
    assert "running" in shown.stdout
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"):
        assert str(cluster_dir / "logs" / f"{name}.log") in shown.stdout
        assert (cluster_dir / "logs" / f"{name}.log").stat().st_size > 0


def test_down_leaves_no_process_behind(tmp_path: Path) -> None:
    ensure_tools(build=False)
    state_dir = tmp_path / "cluster"
    started = sextant(
        "up", "--cpu-nodes=1", "--gpu-nodes=0", "--mig-nodes=0", f"--state-dir={state_dir}"
    )
    assert started.returncode == 0, started.stderr
    pids = recorded_pids(state_dir)
    assert len(processes_mentioning(str(state_dir))) >= len(pids) == 5

    stopped = sextant("down", f"--state-dir={state_dir}")

    assert stopped.returncode == 0, stopped.stderr
    assert processes_mentioning(str(state_dir)) == []
    assert not any(alive(pid) for pid in pids.values())
    assert not state_dir.exists()
    assert sextant("status", f"--state-dir={state_dir}").returncode == 1
