"""`sextant demo`: Sextant's main job on local defaults."""

from __future__ import annotations

import signal
import tempfile
import threading
from pathlib import Path

import click


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the services keep data and logs (default: a new temporary directory).",
)
@click.option(
    "--exit-after",
    type=float,
    default=None,
    help="Stop by itself after this many seconds instead of waiting for Ctrl-C.",
)
def demo(workdir: Path | None, exit_after: float | None) -> None:
    """Serve a model from MLflow, send it a request, and roll it out on a local cluster.

    Starts the local cluster (a real node and fake GPU nodes), Redis, Prometheus and
    MLflow, registers a small ONNX model, serves it with the runtime and sends one
    inference request, installs the operator with the Helm chart, and applies two
    ModelDeployments: one answers through its Service from the real node, one lands on
    the GPU nodes. Needs root (the real node runs containerd and a kubelet).
    """
    from sextant.devenv.demo import DemoEndpoints, run_demo

    def hold(endpoints: DemoEndpoints) -> None:
        click.echo("\nEverything is up:")
        for name, url in endpoints.stack.endpoints().items():
            click.echo(f"  {name:<11} {url}")
        click.echo(f"  {'runtime':<11} {endpoints.runtime_url}/v2/models/iris")
        if endpoints.service_url is not None:
            click.echo(f"  {'Service':<11} {endpoints.service_url}/v2/models/iris (in-cluster)")
        if endpoints.kubeconfig is not None:
            click.echo(f"  {'kubectl':<11} export KUBECONFIG={endpoints.kubeconfig}")
        click.echo(f"  {'logs':<11} {root}")
        if exit_after is None:
            click.echo("\nPress Ctrl-C to stop everything.")
        _wait_for_interrupt(exit_after)

    with tempfile.TemporaryDirectory(prefix="sextant-demo-") as tmp:
        root = workdir or Path(tmp)
        run_demo(root, lambda line: click.echo(f"==> {line}"), hold)
    click.echo("Stopped everything the demo started.")


def _wait_for_interrupt(timeout: float | None) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait(timeout)
