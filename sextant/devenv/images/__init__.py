"""Build the container images without Docker and without a registry, cached by content.

The Containerfiles in images/ build unchanged with `docker build` or `buildah bud` in
CI (default base python:3.11-slim-bookworm). Here nothing can be pulled, so:

1. the base is a Debian bookworm rootfs made by mmdebstrap from the host's Debian
   mirror and imported into podman as localhost/sextant-base:bookworm-HASH;
2. the Python dependencies come from a wheelhouse downloaded with pip from the pinned,
   hashed images/*/requirements.lock, and the project from a wheel built here;
3. podman builds each image offline (`pip install --no-index --require-hashes`) and
   saves it as an OCI archive: $XDG_CACHE_HOME/sextant/images/NAME-HASH.tar.

Every step is skipped when its fingerprint (a hash of everything it is made from) is
unchanged, so a second run with nothing changed only hashes files. podman runs with a
project-owned containers.conf and storage under the cache folder; nothing global changes.
"""

from sextant.devenv.images.builder import ImageBuilder, ensure_images
from sextant.devenv.images.debian import debian_mirrors
from sextant.devenv.images.fingerprint import (
    files_fingerprint,
    lock_requirements,
    project_fingerprint,
    tree_files,
)
from sextant.devenv.images.layout import (
    PAUSE_IMAGE,
    BuiltImage,
    ImageSpec,
    cache_dir,
    image_specs,
    image_version,
    images_dir,
    repo_root,
)
from sextant.devenv.images.podman import Podman
from sextant.devenv.process import ServiceError

__all__ = [
    "PAUSE_IMAGE",
    "BuiltImage",
    "ImageBuilder",
    "ImageSpec",
    "Podman",
    "ServiceError",
    "cache_dir",
    "debian_mirrors",
    "ensure_images",
    "files_fingerprint",
    "image_specs",
    "image_version",
    "images_dir",
    "lock_requirements",
    "project_fingerprint",
    "repo_root",
    "tree_files",
]
