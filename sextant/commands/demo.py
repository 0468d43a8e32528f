"""`sextant demo`: Sextant's main job on local defaults."""

from __future__ import annotations

import signal
import tempfile
import threading
from pathlib import Path

import click

from sextant.devenv.stack import local_stack


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
    """Start the local services on loopback and print how to reach them."""
    with tempfile.TemporaryDirectory(prefix="sextant-demo-") as tmp:
        root = workdir or Path(tmp)
        with local_stack(root) as stack:
            click.echo("\nSextant local services are up:")
            for name, url in stack.endpoints().items():
                click.echo(f"  {name:<11} {url}")
            click.echo(f"  {'logs':<11} {root}")
            click.echo("\nPress Ctrl-C to stop them." if exit_after is None else "")
            _wait_for_interrupt(exit_after)
        click.echo("Stopped every local service.")


def _wait_for_interrupt(timeout: float | None) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait(timeout)
