"""Content hashes of the files an image is made from, and the pinned lock files."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from sextant.devenv.images.layout import PROJECT_SOURCES, SKIP_PARTS, SOURCE_DATE_EPOCH, repo_root
from sextant.devenv.process import ServiceError


def content_digest(parts: Iterable[tuple[str, bytes]]) -> str:
    sha = hashlib.sha256()
    for name, data in parts:
        sha.update(f"{name}\0{len(data)}\0".encode())
        sha.update(data)
    return sha.hexdigest()


def tree_files(root: Path, entries: Sequence[str]) -> list[Path]:
    """The files under `entries` of `root`, sorted, without caches and bytecode."""
    files: list[Path] = []
    for entry in entries:
        path = root / entry
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not SKIP_PARTS.intersection(p.relative_to(root).parts)
                and p.suffix not in (".pyc", ".pyo")
                and ".egg-info" not in str(p.relative_to(root))
            )
    return sorted(files)


def files_fingerprint(root: Path, files: Iterable[Path], *extra: str) -> str:
    """A hash of the files' paths relative to `root`, their contents, and `extra` strings."""
    parts = [(str(f.relative_to(root)), f.read_bytes()) for f in files]
    parts.extend((f"extra{i}", value.encode()) for i, value in enumerate(extra))
    return content_digest(parts)


def project_fingerprint(root: Path | None = None) -> str:
    root = root or repo_root()
    return files_fingerprint(root, tree_files(root, PROJECT_SOURCES), SOURCE_DATE_EPOCH)


def lock_requirements(lock: Path) -> dict[str, tuple[str, frozenset[str]]]:
    """name -> (version, sha256 hashes) of a `--generate-hashes` lock file."""
    text = lock.read_text().replace("\\\n", " ")
    pins: dict[str, tuple[str, frozenset[str]]] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"([A-Za-z0-9._-]+)==(\S+?)(?:\s*;[^-]*)?\s+(--hash=.*)$", line)
        if match is None:
            raise ServiceError(f"{lock}: not a pinned, hashed requirement: {line[:80]}")
        name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
        hashes = frozenset(re.findall(r"--hash=sha256:([0-9a-f]{64})", match.group(3)))
        pins[name] = (match.group(2), hashes)
    return pins


# --- podman ----------------------------------------------------------------------------


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
