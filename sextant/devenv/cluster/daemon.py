"""A cluster that outlives the command that started it: what `sextant cluster up|down` do."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from sextant.devenv.cluster.cluster import LocalCluster
from sextant.devenv.cluster.components import Layout
from sextant.devenv.cluster.nodes import NodePools
from sextant.devenv.cluster.realnode import node as realnode
from sextant.devenv.cluster.state import ClusterRecord, terminate
from sextant.devenv.cluster.tools import Progress, cached_tools

log = logging.getLogger(__name__)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "sextant" / "cluster"


def running(state_dir: Path) -> ClusterRecord | None:
    """The record of the cluster in `state_dir` if every one of its processes is alive."""
    record = ClusterRecord.load(Layout(state_dir).state_file)
    return record if record is not None and not record.dead() else None


def up(
    state_dir: Path, pools: NodePools, progress: Progress = log.info
) -> tuple[ClusterRecord, bool]:
    """Start a cluster unless one is running there; returns its record and whether it is new."""
    layout = Layout(state_dir)
    with _locked(state_dir):
        record = ClusterRecord.load(layout.state_file)
        if record is not None:
            dead = record.dead()
            if not dead:
                return record, False
            # Half a cluster is no use: stop what is left and start afresh.
            log.warning(
                "the cluster in %s had lost %s; replacing it",
                state_dir,
                ", ".join(p.name for p in dead),
            )
            _terminate(record, state_dir)
        LocalCluster(state_dir, pools=pools, daemon=True, progress=progress).start()
        started = ClusterRecord.load(layout.state_file)
        assert started is not None, "LocalCluster.start() writes the record"
        return started, True


def down(state_dir: Path) -> bool:
    """Stop every process of the cluster in `state_dir` and remove the directory.

    Returns False when there was no cluster there.
    """
    layout = Layout(state_dir)
    with _locked(state_dir):
        record = ClusterRecord.load(layout.state_file)
        if record is not None:
            _terminate(record, state_dir)
        # Only a directory that holds a cluster's files is removed, never a mistyped path.
        if record is None and not layout.pki.is_dir():
            return False
        shutil.rmtree(state_dir)
        return True


def _terminate(record: ClusterRecord, state_dir: Path) -> None:
    terminate(record.processes)
    if record.real_nodes:
        realnode.stop(realnode.plan(state_dir, record.real_nodes), cached_tools())


@contextlib.contextmanager
def _locked(state_dir: Path) -> Iterator[None]:
    """`up` and `down` on one state dir never interleave (the lock file sits beside it)."""
    state_dir.parent.mkdir(parents=True, exist_ok=True)
    with (state_dir.parent / f".{state_dir.name}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
