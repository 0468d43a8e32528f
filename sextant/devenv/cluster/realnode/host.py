"""The host-wide side of real nodes: the dummy link, forwarding, and leaving nothing behind.

A real node touches things outside its state dir (links, iptables, mounts, cgroups,
containerd shims that re-parent to init). `sweep` removes every one of them and is safe
to run twice, after a crash, or on a host where nothing was ever started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from sextant.devenv.cluster.realnode.config import (
    API_ADDRESS,
    HOST_LINK,
    KUBELET_ROOT,
    RUN_ROOT,
    RealNode,
)
from sextant.devenv.cluster.state import ClusterRecord
from sextant.devenv.process import ServiceError

log = logging.getLogger(__name__)

_FORWARDING = Path("/proc/sys/net/ipv4/ip_forward")
_SAVED_FORWARDING = RUN_ROOT / "ip_forward.saved"
# Which cluster owns the host-wide parts (link, iptables): one with real nodes at a time.
_OWNER = RUN_ROOT / "owner"
_CGROUP_ROOT = Path("/sys/fs/cgroup")
# Chain prefixes kube-proxy, kubelet and CNI plugins create.
_OWNED_CHAIN_PREFIXES = ("KUBE-", "CNI-")
_IPTABLES_TABLES = ("filter", "nat", "mangle")
_IPTABLES = ("iptables", "ip6tables")
_MAX_REAL_NODES = 8  # `sextant cluster up --real-nodes` allows no more


def require_root() -> None:
    if os.geteuid() != 0:
        raise ServiceError(
            "real nodes run containerd, kubelet and kube-proxy, which need root; "
            "run as root or use kwok's nodes only (--real-nodes 0)"
        )


def claim(cluster_root: Path) -> None:
    """Take the host's real-node parts for this cluster, or say which cluster has them."""
    RUN_ROOT.mkdir(parents=True, exist_ok=True)
    if _OWNER.exists():
        other = Path(_OWNER.read_text().strip())
        record = ClusterRecord.load(other / "state.json")
        if other != cluster_root and record is not None and not record.dead():
            raise ServiceError(
                f"the cluster in {other} already runs real nodes on this host (they share "
                f"its links and iptables); stop it first: sextant cluster down --state-dir {other}"
            )
        if other != cluster_root:
            # Its owner died without cleaning up (SIGKILL, a killed test run): do it now.
            count = record.real_nodes if record is not None else _MAX_REAL_NODES
            log.warning("removing what the dead cluster in %s left on this host", other)
            sweep([RealNode(other, i) for i in range(count)], kube_proxy=None)
            RUN_ROOT.mkdir(parents=True, exist_ok=True)
    _OWNER.write_text(f"{cluster_root}\n")


def prepare(nodes: Iterable[RealNode]) -> None:
    """The dummy link with the API server's and each node's address; IPv4 forwarding on."""
    RUN_ROOT.mkdir(parents=True, exist_ok=True)
    if not _link_exists(HOST_LINK):
        # A bridge with no ports: this kernel may lack the dummy driver, every one has bridge.
        _ip("link", "add", HOST_LINK, "type", "bridge")
    _ip("link", "set", HOST_LINK, "up")
    for address in [API_ADDRESS, *(n.ip for n in nodes)]:
        # `replace` makes a second run (or a crashed first one) a no-op.
        _ip("addr", "replace", f"{address}/32", "dev", HOST_LINK)
    # Pod -> Service -> pod is routed by the host; remember the old value for `sweep`.
    if not _SAVED_FORWARDING.exists():
        _SAVED_FORWARDING.write_text(_FORWARDING.read_text())
    _FORWARDING.write_text("1\n")
    for node in nodes:
        _make_cgroup_root(node.cgroup_root)


def _make_cgroup_root(cgroup_root: str) -> None:
    """The kubelet wants its cgroup root to exist in every hierarchy (cgroup v1 here)."""
    relative = cgroup_root.strip("/")
    for hierarchy in _CGROUP_ROOT.iterdir():
        if not (hierarchy / "cgroup.procs").exists():
            continue  # not a mounted hierarchy
        folder = hierarchy / relative
        folder.mkdir(exist_ok=True)
        # A new v1 cpuset starts empty, and no task can join an empty cpuset.
        for name in ("cpuset.cpus", "cpuset.mems"):
            if (folder / name).exists() and not _read(folder / name).strip():
                (folder / name).write_text(_read(hierarchy / name))


def sweep(nodes: Iterable[RealNode], *, kube_proxy: Path | None) -> None:
    """Remove what real nodes leave outside their processes. Idempotent.

    The host-wide parts (links, bridges, cgroups and chains by name, forwarding) go only
    when these nodes' cluster owns them: a cluster that lost them to another one (it died
    and the other swept it on `claim`) removes its own processes and mounts, nothing else.
    """
    nodes = list(nodes)
    for node in nodes:
        _kill_shims(node)
    for node in nodes:
        for folder in node.owned_paths():
            _unmount_under(folder)
    if _owns_host(nodes):
        _sweep_host(nodes, kube_proxy)
    for node in nodes:
        # Everything mounted under them is gone by now: what is left is plain files.
        shutil.rmtree(node.run_dir, ignore_errors=True)
        shutil.rmtree(node.kubelet_dir, ignore_errors=True)
    for folder in (RUN_ROOT, KUBELET_ROOT):
        with contextlib.suppress(OSError):
            folder.rmdir()


def _owns_host(nodes: list[RealNode]) -> bool:
    if not _OWNER.exists():
        return True
    owner = Path(_OWNER.read_text().strip())
    return any(node.cluster_root == owner for node in nodes)


def _sweep_host(nodes: list[RealNode], kube_proxy: Path | None) -> None:
    for node in nodes:
        # Containers outlive their shim (it is their reaper, not their parent in spirit).
        _kill_cgroup_tasks(node.cgroup_root)
        for folder in node.owned_paths():
            _unmount_under(folder)  # what the killed containers still held
        if _link_exists(node.bridge):
            _ip("link", "delete", node.bridge)
        _remove_cgroups(node.cgroup_root)
    if kube_proxy is not None and kube_proxy.exists():
        # kube-proxy's own clean-up knows every rule and chain it ever writes.
        subprocess.run(
            [str(kube_proxy), "--cleanup", "--v=0"],
            capture_output=True, check=False, timeout=60,
        )  # fmt: skip
    _delete_owned_chains()
    if _link_exists(HOST_LINK):
        _ip("link", "delete", HOST_LINK)
    if _SAVED_FORWARDING.exists():
        _FORWARDING.write_text(_SAVED_FORWARDING.read_text())
        _SAVED_FORWARDING.unlink()
    _OWNER.unlink(missing_ok=True)


def leftovers(nodes: Iterable[RealNode]) -> list[str]:
    """What `sweep` should have removed and is still there: empty on a clean host."""
    nodes = list(nodes)
    found: list[str] = []
    found += [f"process {pid}: {cmd}" for pid, cmd in _processes_mentioning(nodes)]
    found += [f"mount {m}" for m in _mounts_under([p for n in nodes for p in n.owned_paths()])]
    found += [f"link {n.bridge}" for n in nodes if _link_exists(n.bridge)]
    found += [f"link {HOST_LINK}"] if _link_exists(HOST_LINK) else []
    found += [f"cgroup {p}" for n in nodes for p in _cgroup_dirs(n.cgroup_root)]
    found += [f"{tool} {table} {chain}" for tool, table, chain in _owned_chains()]
    return found


def _ip(*argv: str) -> None:
    result = subprocess.run(["ip", *argv], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ServiceError(f"`ip {' '.join(argv)}` failed: {result.stderr.strip()}")


def _link_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _processes_mentioning(nodes: list[RealNode]) -> list[tuple[int, str]]:
    """Processes whose command line names one of the nodes' (or their cluster's) folders."""
    needles = {str(p) for n in nodes for p in (*n.owned_paths(), n.cluster_root)}
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(needle in cmd for needle in needles):
            found.append((int(proc.name), cmd.strip()))
    return found


def _kill_shims(node: RealNode) -> None:
    """containerd's shims re-parent to init and keep their containers alive: end both."""
    for pid, _ in _processes_mentioning([node]):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _processes_mentioning([node]) and time.monotonic() < deadline:
        time.sleep(0.1)


def _mounts_under(folders: list[Path]) -> list[str]:
    prefixes = [str(f.resolve()) + "/" for f in folders] + [str(f.resolve()) for f in folders]
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        # Field 5 is the mount point, with spaces and the like octal-escaped.
        point = line.split()[4].encode().decode("unicode_escape")
        if any(point == p or point.startswith(p) for p in prefixes):
            mounts.append(point)
    return mounts


def _unmount_under(folder: Path) -> None:
    if not folder.exists():
        return
    # Deepest first; a lazy unmount as the last resort for a busy one.
    for point in sorted(set(_mounts_under([folder])), key=len, reverse=True):
        result = subprocess.run(["umount", point], capture_output=True, check=False)
        if result.returncode != 0:
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _cgroup_dirs(cgroup_root: str) -> list[Path]:
    if not _CGROUP_ROOT.is_dir():
        return []
    relative = cgroup_root.strip("/")
    found = []
    for hierarchy in _CGROUP_ROOT.iterdir():
        top = hierarchy / relative
        if top.is_dir():
            found += sorted(top.rglob("*/"), key=lambda p: len(p.parts), reverse=True)
            found.append(top)
    return [p for p in found if p.is_dir()]


def _kill_cgroup_tasks(cgroup_root: str) -> None:
    for _ in range(20):
        pids = {
            int(pid)
            for folder in _cgroup_dirs(cgroup_root)
            for pid in _read(folder / "cgroup.procs").split()
        }
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _remove_cgroups(cgroup_root: str) -> None:
    """rmdir bottom-up: a cgroup directory goes once its children and tasks are gone."""
    for attempt in range(50):
        remaining = _cgroup_dirs(cgroup_root)
        for path in remaining:
            with contextlib.suppress(OSError):
                path.rmdir()
        if not _cgroup_dirs(cgroup_root):
            return
        time.sleep(0.1 * (attempt + 1))
    log.warning("cgroups left behind: %s", _cgroup_dirs(cgroup_root))


def _iptables(tool: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool, "-w", *argv], capture_output=True, text=True, check=False)


def _owned_chains() -> list[tuple[str, str, str]]:
    """(tool, table, chain) of every chain with one of our prefixes, IPv4 and IPv6."""
    chains = []
    for tool in _IPTABLES:
        for table in _IPTABLES_TABLES:
            for line in _iptables(tool, "-t", table, "-S").stdout.splitlines():
                parts = line.split()
                if parts[:1] == ["-N"] and parts[1].startswith(_OWNED_CHAIN_PREFIXES):
                    chains.append((tool, table, parts[1]))
    return chains


def _delete_owned_chains() -> None:
    """What kube-proxy --cleanup leaves (kubelet's canaries, CNI chains): jumps, then chains."""
    for tool in _IPTABLES:
        for table in _IPTABLES_TABLES:
            for line in _iptables(tool, "-t", table, "-S").stdout.splitlines():
                rule = shlex.split(line)
                from_ours = rule[:1] != ["-A"] or rule[1].startswith(_OWNED_CHAIN_PREFIXES)
                if not from_ours and any(w.startswith(_OWNED_CHAIN_PREFIXES) for w in rule[2:]):
                    _iptables(tool, "-t", table, "-D", *rule[1:])
    owned = _owned_chains()
    for tool, table, chain in owned:
        _iptables(tool, "-t", table, "-F", chain)
    for tool, table, chain in owned:
        _iptables(tool, "-t", table, "-X", chain)
