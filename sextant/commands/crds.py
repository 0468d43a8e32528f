"""`sextant crds`: write crds/*.yaml from the typed API models, or check they are current."""

from __future__ import annotations

from pathlib import Path

import click

from sextant_operator import crdgen


@click.command()
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("crds"),
    show_default=True,
    help="Folder for the CustomResourceDefinition files, one per kind.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when a file is missing or differs from generation.",
)
def crds(output_dir: Path, check: bool) -> None:
    """Generate the ModelDeployment, FeatureView and DriftMonitor CRDs."""
    if check:
        stale = crdgen.stale(output_dir)
        if stale:
            raise click.ClickException(
                f"stale CRDs in {output_dir}: {', '.join(stale)}; run `sextant crds` or `make crds`"
            )
        click.echo(f"{output_dir}: up to date")
        return
    changed = crdgen.write(output_dir)
    for path in changed:
        click.echo(f"wrote {path}" if path.exists() else f"removed {path}")
    if not changed:
        click.echo(f"{output_dir}: up to date")
