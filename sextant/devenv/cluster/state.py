"""What `sextant cluster up` leaves behind so that `status` and `down` can find it later.

The daemons outlive the command that started them, so `down` stops them by the PIDs
recorded here. Each record also keeps the process's start time from /proc: a PID the
kernel has since handed to another program is never signalled.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path

from pydantic import BaseModel

log = logging.getLogger(__name__)


class ProcessRecord(BaseModel):
    name: str
    pid: int
    start_ticks: int
    log: Path

    @classmethod
    def of(cls, name: str, pid: int, log_path: Path) -> ProcessRecord:
        return cls(name=name, pid=pid, start_ticks=_start_ticks(pid) or 0, log=log_path)

    def alive(self) -> bool:
        return _start_ticks(self.pid) == self.start_ticks


class ClusterRecord(BaseModel):
    kubernetes_version: str
    server: str
    kubeconfig: Path
    bin_dir: Path
    processes: list[ProcessRecord]
    # Real nodes leave host state (mounts, links, iptables, cgroups) that `down` sweeps.
    real_nodes: int = 0

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.model_dump_json(indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ClusterRecord | None:
        try:
            return cls.model_validate_json(path.read_text())
        except (OSError, ValueError):
            return None

    def dead(self) -> list[ProcessRecord]:
        return [p for p in self.processes if not p.alive()]


def terminate(records: list[ProcessRecord], grace: float = 10.0) -> None:
    """SIGTERM each process group in reverse start order, SIGKILL what outlives `grace`."""
    for record in reversed(records):
        if not record.alive():
            continue
        log.info("stopping %s (pid %d)", record.name, record.pid)
        # Started with start_new_session=True, so the PID is also the process group.
        _killpg(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while record.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if record.alive():
            log.warning("%s ignored SIGTERM for %.0fs; killing it", record.name, grace)
        # Also reaps helpers the leader left behind in its group.
        _killpg(record.pid, signal.SIGKILL)


def _killpg(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (start time in clock ticks); None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name in parentheses may hold spaces: split after its closing paren.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])
