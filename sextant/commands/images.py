"""`sextant images`: the container images, built here without Docker or a registry."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def images() -> None:
    """The runtime, operator and pause images as OCI archives, built with podman from
    images/ on a Debian base made by mmdebstrap; nothing is pulled from a registry.
    """


@images.command()
@click.option(
    "--torch", is_flag=True, help="Also the CUDA runtime (onnxruntime-gpu, torch): several GB."
)
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Also link each archive here as NAME.tar.",
)
@click.option("--force", is_flag=True, help="Rebuild even what is cached.")
def build(torch: bool, output: Path | None, force: bool) -> None:
    """Build the images, or reuse the archives cached under ~/.cache/sextant/images.

    Each image is rebuilt only when its Containerfile, lock file, the project's sources
    or the base change.
    """
    from sextant.devenv.images import ensure_images
    from sextant.devenv.process import ServiceError

    try:
        built = ensure_images(click.echo, torch=torch, output=output, force=force)
    except ServiceError as error:
        raise click.ClickException(str(error)) from error
    for image in built:
        state = "cached" if image.cached else f"built in {image.seconds:.0f}s"
        click.echo(
            f"{image.reference}  {image.archive}  {image.size_bytes / 1e6:.0f} MB  ({state})"
        )
