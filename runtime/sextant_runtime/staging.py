"""Temporary names for downloads in progress, next to where the finished entry goes.

A download writes under `.partial-*` and is renamed into place only when whole. The
loader runs on a daemon thread, so a process stopped mid-download (SIGTERM while a large
model streams in) never reaches the cleanup after the copy: `discard_partial_downloads`,
called on that way out, removes what the unfinished downloads wrote.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Temporary names of downloads in progress in this process, for discard_partial_downloads.
_staging_paths: set[Path] = set()
_staging_lock = threading.Lock()


@contextmanager
def staging(parent: Path, *, folder: bool) -> Iterator[Path]:
    """A temporary file or folder next to the final entry, removed unless renamed away."""
    if folder:
        path = Path(tempfile.mkdtemp(dir=parent, prefix=".partial-"))
    else:
        fd, name = tempfile.mkstemp(dir=parent, prefix=".partial-")
        os.close(fd)
        path = Path(name)
    with _staging_lock:
        _staging_paths.add(path)
    try:
        yield path
    finally:
        with _staging_lock:
            _staging_paths.discard(path)
        _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def discard_partial_downloads() -> int:
    """Remove what downloads still in progress have written (the process is exiting and
    will not finish them); returns how many were removed."""
    with _staging_lock:
        paths = list(_staging_paths)
        _staging_paths.clear()
    for path in paths:
        _remove(path)
    return len(paths)
