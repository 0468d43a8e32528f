"""What the images are called, which are built, and where their files live."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sextant import __version__
from sextant.devenv.process import ServiceError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

REGISTRY = "ghcr.io/sextant-dev"
RUNTIME = "sextant-runtime"
OPERATOR = "sextant-operator"
RUNTIME_TORCH = "sextant-runtime-torch"
PAUSE = "pause"
PAUSE_IMAGE = "localhost/sextant/pause:3.10"
# Where the dependency stage of each Python image is tagged (podman's storage only).
BUILD_STAGE = "localhost/sextant-build"

DEBIAN_SUITE = "bookworm"
# mmdebstrap's `apt` variant: Essential packages, apt, and these with their dependencies.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
BASE_REPOSITORY = "localhost/sextant-base"
# The target of every wheel: CPython 3.11 on glibc x86_64 (bookworm has glibc 2.36).
PYTHON_VERSION = "3.11"
GLIBC_MINOR = 36
# Fixed timestamps make the project wheel, and so its layer, the same for the same sources.
SOURCE_DATE_EPOCH = "315532800"

# Folders and files that make the project wheel.
PROJECT_SOURCES = ("pyproject.toml", "README.md", "sextant", "operator", "runtime")
SKIP_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


@dataclass(frozen=True)
class ImageSpec:
    """One image: its folder under images/, the reference it is tagged with."""

    name: str
    reference: str
    python: bool = True

    def folder(self, images_dir: Path) -> Path:
        return images_dir / self.name


@dataclass(frozen=True)
class BuiltImage:
    """A built image: its reference and the OCI archive (`podman save --format oci-archive`)."""

    name: str
    reference: str
    archive: Path
    fingerprint: str
    cached: bool
    seconds: float

    @property
    def size_bytes(self) -> int:
        return self.archive.stat().st_size


def image_version() -> str:
    """The tag of the project images: the package version (the chart's appVersion)."""
    if "unknown" not in __version__:
        return __version__
    match = re.search(
        r'^version = "([^"]+)"', (repo_root() / "pyproject.toml").read_text(), re.MULTILINE
    )
    return match.group(1) if match else "0.0.0"


def image_specs(*, torch: bool = False) -> list[ImageSpec]:
    """The images `ensure_images` builds, in build order."""
    version = image_version()
    specs = [
        ImageSpec(PAUSE, PAUSE_IMAGE, python=False),
        ImageSpec(OPERATOR, f"{REGISTRY}/{OPERATOR}:{version}"),
        ImageSpec(RUNTIME, f"{REGISTRY}/{RUNTIME}:{version}"),
    ]
    if torch:
        specs.append(ImageSpec(RUNTIME_TORCH, f"{REGISTRY}/{RUNTIME_TORCH}:{version}"))
    return specs


def repo_root() -> Path:
    return Path(__file__).resolve().parents[3]


def images_dir() -> Path:
    path = repo_root() / "images"
    if not (path / RUNTIME / "Containerfile").is_file():
        raise ServiceError(
            f"{path} is missing: `sextant images` builds from a Sextant source checkout"
        )
    return path


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sextant" / "images"


# --- fingerprints --------------------------------------------------------------------
