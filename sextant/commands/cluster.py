"""`sextant cluster`: a real local Kubernetes control plane with fake GPU nodes."""

from __future__ import annotations

import shlex
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

from sextant.devenv.cluster import daemon
from sextant.devenv.cluster.components import Layout
from sextant.devenv.cluster.nodes import NodePools
from sextant.devenv.cluster.state import ClusterRecord
from sextant.devenv.cluster.tools import ensure_tools
from sextant.devenv.process import ServiceError

F = TypeVar("F", bound=Callable[..., object])


def _state_dir_option(command: F) -> F:
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=daemon.default_state_dir,
        show_default="$XDG_STATE_HOME/sextant/cluster",
        envvar="SEXTANT_CLUSTER_DIR",
        help="Where the cluster keeps its data, certificates, kubeconfig and logs.",
    )(command)


@click.group()
def cluster() -> None:
    """A local control plane (etcd, kube-apiserver, controller-manager, scheduler) with
    kwok's simulated nodes, GPU and MIG nodes among them, on loopback. No Docker needed.
    """


@cluster.command()
@click.option("--force", is_flag=True, help="Rebuild even what is cached.")
def build(force: bool) -> None:
    """Build the pinned Kubernetes, etcd, kwok and helm binaries, or reuse the cached ones."""
    tools = _or_fail(lambda: ensure_tools(force=force))
    click.echo(f"tools for Kubernetes {tools.kubernetes_version} are in {tools.bin_dir}")


@cluster.command()
@_state_dir_option
@click.option("--cpu-nodes", type=click.IntRange(min=0), default=2, show_default=True)
@click.option(
    "--gpu-nodes",
    type=click.IntRange(min=0),
    default=2,
    show_default=True,
    help="Nodes with nvidia.com/gpu, GFD labels and the nvidia.com/gpu taint.",
)
@click.option("--gpus-per-node", type=click.IntRange(min=1), default=8, show_default=True)
@click.option(
    "--mig-nodes",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Nodes with seven nvidia.com/mig-1g.10gb slices.",
)
@click.option(
    "--real-nodes",
    type=click.IntRange(min=0, max=8),
    default=0,
    show_default=True,
    help="Real workers (containerd, runc, kubelet, kube-proxy; needs root) that run "
    "Sextant's images for real, labelled sextant.dev/node-pool=real.",
)
def up(
    *,
    state_dir: Path,
    cpu_nodes: int,
    gpu_nodes: int,
    gpus_per_node: int,
    mig_nodes: int,
    real_nodes: int,
) -> None:
    """Start the cluster in the background (no-op if it is already running)."""
    pools = NodePools(
        cpu=cpu_nodes, gpu=gpu_nodes, mig=mig_nodes, gpus_per_node=gpus_per_node, real=real_nodes
    )
    record, started = _or_fail(lambda: daemon.up(state_dir, pools))
    if not started:
        click.echo(f"a cluster is already running in {state_dir}: {record.server}")
    click.echo(
        f'\nUse it with:\n  eval "$(sextant cluster env --state-dir {shlex.quote(str(state_dir))})"'
    )
    click.echo(f"Stop it with:\n  sextant cluster down --state-dir {shlex.quote(str(state_dir))}")


@cluster.command()
@_state_dir_option
def down(state_dir: Path) -> None:
    """Stop every process of the cluster and remove its state directory."""
    if daemon.down(state_dir):
        click.echo(f"stopped the cluster and removed {state_dir}")
    else:
        click.echo(f"no cluster in {state_dir}")


@cluster.command()
@_state_dir_option
def env(state_dir: Path) -> None:
    """Print shell exports for the cluster: use as eval "$(sextant cluster env)"."""
    record = _running_or_exit(state_dir)
    click.echo(f"export KUBECONFIG={shlex.quote(str(record.kubeconfig))}")
    # kubectl and helm at the cluster's own version come first on PATH.
    click.echo(f'export PATH={shlex.quote(str(record.bin_dir))}:"$PATH"')


@cluster.command()
@_state_dir_option
def status(state_dir: Path) -> None:
    """Say whether the cluster runs, where it listens, and where each component logs."""
    record = ClusterRecord.load(Layout(state_dir).state_file)
    if record is None:
        click.echo(f"no cluster in {state_dir}")
        sys.exit(1)
    dead = record.dead()
    health = f"BROKEN: {', '.join(p.name for p in dead)} exited" if dead else "running"
    click.echo(f"cluster:    {health}")
    click.echo(f"kubernetes: {record.kubernetes_version}")
    click.echo(f"server:     {record.server}")
    click.echo(f"kubeconfig: {record.kubeconfig}")
    click.echo("components:")
    for process in record.processes:
        state = f"pid {process.pid}" if process.alive() else "exited"
        click.echo(f"  {process.name:<24} {state:<12} log {process.log}")
    if dead:
        sys.exit(1)
    nodes = subprocess.run(
        [str(record.bin_dir / "kubectl"), f"--kubeconfig={record.kubeconfig}", "get", "nodes"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    click.echo("nodes:\n" + textwrap.indent((nodes.stdout or nodes.stderr).rstrip(), "  "))


def _running_or_exit(state_dir: Path) -> ClusterRecord:
    record = daemon.running(state_dir)
    if record is None:
        click.echo(
            f"no cluster is running in {state_dir}; start one with `sextant cluster up`", err=True
        )
        sys.exit(1)
    return record


T = TypeVar("T")


def _or_fail(action: Callable[[], T]) -> T:
    """A ServiceError is the user's to act on: print it, no traceback."""
    try:
        return action()
    except ServiceError as err:
        raise click.ClickException(str(err)) from err
