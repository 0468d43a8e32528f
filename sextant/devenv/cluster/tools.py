"""Build the pinned upstream binaries once and cache them per Kubernetes version.

kube-apiserver, kube-controller-manager, kube-scheduler and kubectl come from
`k8s.io/kubernetes` through the consumer module in hack/k8s/kubernetes, etcd through
hack/k8s/etcd (both upstream go.mods replace sibling modules with local paths, which
`go install pkg@version` refuses), kubelet and kube-proxy with the control plane, CoreDNS
(the real nodes' cluster DNS) through a main package in hack/k8s/coredns that links only
the plugins it uses, kwok and helm through `go install` at pinned tags.
A build unit is redone only when its fingerprint (go.mod, go.sum, flags) changes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sextant.devenv.process import ServiceError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

KWOK_MODULE = "sigs.k8s.io/kwok"
KWOK_VERSION = "v0.8.0"
HELM_MODULE = "helm.sh/helm/v3"
HELM_VERSION = "v3.22.0"

# kubelet and kube-proxy run the real worker nodes (`sextant cluster up --real-nodes`).
KUBERNETES_BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kubelet",
    "kube-proxy",
)
# kwokctl's default lifecycle: nodes turn Ready at once and renew a Lease like a
# kubelet; pods turn Running/Ready at once, Jobs complete, deletions finish.
KWOK_STAGE_SETS = ("node/fast", "node/heartbeat-with-lease", "pod/fast")

_PROGRESS_EVERY_S = 20.0
_NETWORK_HINTS = ("dial tcp", "no such host", "connection refused", "i/o timeout", "TLS handshake")


@dataclass(frozen=True)
class Toolset:
    """Paths to the cached binaries of one pinned Kubernetes version."""

    kubernetes_version: str
    bin_dir: Path
    kwok_stages: Path

    def path(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def kubectl(self) -> Path:
        return self.path("kubectl")


@dataclass
class _Unit:
    """One build step: the binaries it makes and a fingerprint of everything it is made from."""

    name: str
    binaries: Sequence[str]
    fingerprint: str
    build: Callable[[], None]
    extra_outputs: Sequence[Path] = field(default_factory=tuple)


def hack_dir() -> Path:
    """hack/k8s of the source checkout: the tools are built from a checkout, not a wheel."""
    path = Path(__file__).resolve().parents[3] / "hack" / "k8s"
    if not (path / "kubernetes" / "go.mod").is_file():
        raise ServiceError(
            f"{path} is missing: `sextant cluster` builds its tools from a Sextant source "
            "checkout (pip install -e .)"
        )
    return path


def pinned_kubernetes_version(module_dir: Path | None = None) -> str:
    gomod = (module_dir or hack_dir() / "kubernetes") / "go.mod"
    match = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", gomod.read_text(), re.MULTILINE)
    if match is None:
        raise ServiceError(f"{gomod} does not require k8s.io/kubernetes; re-run hack/k8s/pin.sh")
    return match.group(1)


def cache_dir(kubernetes_version: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sextant" / "k8s" / kubernetes_version


def cached_tools() -> Toolset:
    """The pinned toolset's paths, whether or not it is built yet."""
    version = pinned_kubernetes_version()
    root = cache_dir(version)
    return Toolset(version, root / "bin", root / "kwok-stages.yaml")


def ensure_tools(
    progress: Progress = log.info, *, force: bool = False, build: bool = True
) -> Toolset:
    """Build whatever is missing or out of date and return the toolset.

    Cheap when everything is cached: no Go toolchain is needed then. With
    `build=False` a missing tool is an error that says how to build it instead.
    """
    hack = hack_dir()
    tools = cached_tools()
    tools.bin_dir.mkdir(parents=True, exist_ok=True)
    stamps_path = tools.bin_dir / ".stamps.json"
    with _locked(tools.bin_dir.parent / ".build.lock"):
        stamps: dict[str, str] = _read_json(stamps_path)
        go = _Go(hack, progress)
        for unit in _units(go, hack, tools):
            outputs = [tools.path(b) for b in unit.binaries] + list(unit.extra_outputs)
            if (
                not force
                and stamps.get(unit.name) == unit.fingerprint
                and all(p.exists() for p in outputs)
            ):
                log.debug("%s is cached in %s", unit.name, tools.bin_dir)
                continue
            if not build:
                raise ServiceError(
                    f"{unit.name} is not built for this pin yet: run `sextant cluster build` "
                    "(hack/setup.sh does) before the tests; the first build takes a while"
                )
            started = time.monotonic()
            progress(f"building {unit.name} ({', '.join(unit.binaries)}) into {tools.bin_dir}")
            unit.build()
            stamps[unit.name] = unit.fingerprint
            stamps_path.write_text(json.dumps(stamps, indent=2, sort_keys=True) + "\n")
            progress(f"built {unit.name} in {_minutes(time.monotonic() - started)}")
    return tools


def _units(go: _Go, hack: Path, tools: Toolset) -> list[_Unit]:
    k8s_dir = hack / "kubernetes"
    version = tools.kubernetes_version
    k8s_ldflags = _kubernetes_ldflags(version)
    etcd_dir = hack / "etcd"
    coredns_dir = hack / "coredns"
    helm_ldflags = (
        f"-s -w -X helm.sh/helm/v3/internal/version.version={HELM_VERSION}"
        " -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
    )
    return [
        _Unit(
            name=f"kubernetes {version}",
            binaries=KUBERNETES_BINARIES,
            fingerprint=_fingerprint(k8s_dir / "go.mod", k8s_dir / "go.sum", k8s_ldflags),
            # One `go build` for all four shares the compile of their common packages.
            build=lambda: go.build(
                k8s_dir,
                [f"k8s.io/kubernetes/cmd/{b}" for b in KUBERNETES_BINARIES],
                f"{tools.bin_dir}/",  # a trailing slash: one binary per package
                k8s_ldflags,
            ),
        ),
        _Unit(
            name="etcd",
            binaries=("etcd",),
            fingerprint=_fingerprint(etcd_dir / "go.mod", etcd_dir / "go.sum", "-s -w"),
            build=lambda: go.build(
                etcd_dir, ["go.etcd.io/etcd/server/v3"], str(tools.path("etcd")), "-s -w"
            ),
        ),
        _Unit(
            name="coredns",
            binaries=("coredns",),
            fingerprint=_fingerprint(
                coredns_dir / "go.mod", coredns_dir / "go.sum", coredns_dir / "main.go", "-s -w"
            ),
            # Cluster DNS for real nodes' pods; a main package with only the plugins used.
            build=lambda: go.build(coredns_dir, ["."], str(tools.path("coredns")), "-s -w"),
        ),
        _Unit(
            name=f"kwok {KWOK_VERSION}",
            binaries=("kwok",),
            fingerprint=_fingerprint(f"{KWOK_MODULE}@{KWOK_VERSION}", *KWOK_STAGE_SETS),
            build=lambda: _build_kwok(go, tools),
            extra_outputs=(tools.kwok_stages,),
        ),
        _Unit(
            name=f"helm {HELM_VERSION}",
            binaries=("helm",),
            fingerprint=_fingerprint(f"{HELM_MODULE}@{HELM_VERSION}", helm_ldflags),
            build=lambda: go.install(
                f"{HELM_MODULE}/cmd/helm@{HELM_VERSION}", tools.bin_dir, helm_ldflags
            ),
        ),
    ]


def _kubernetes_ldflags(version: str) -> str:
    """The version variables upstream's hack/lib/version.sh sets, so discovery is truthful."""
    major, minor = version.removeprefix("v").split(".")[:2]
    values = {
        "gitVersion": version,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
    }
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.{name}={value}" for name, value in values.items()]
    return " ".join(flags)


def _build_kwok(go: _Go, tools: Toolset) -> None:
    go.install(f"{KWOK_MODULE}/cmd/kwok@{KWOK_VERSION}", tools.bin_dir, "-s -w")
    _write_kwok_stages(go, tools.kwok_stages)


def _write_kwok_stages(go: _Go, target: Path) -> None:
    """Copy kwok's own stage manifests (kustomize/stage/...) out of the module cache.

    Copying keeps them working after `go clean -modcache`, and they always match the
    pinned kwok version.
    """
    source = Path(
        go.output(["mod", "download", "-json", f"{KWOK_MODULE}@{KWOK_VERSION}"], json_key="Dir")
    )
    documents: list[str] = []
    for stage_set in KWOK_STAGE_SETS:
        folder = source / "kustomize" / "stage" / stage_set
        kustomization = (folder / "kustomization.yaml").read_text()
        for name in re.findall(r"^- (\S+\.yaml)$", kustomization, re.MULTILINE):
            documents.append((folder / name).read_text().strip())
    target.write_text("\n---\n".join(documents) + "\n")


class _Go:
    """The local Go toolchain, checked once, run with the project's build settings."""

    def __init__(self, hack: Path, progress: Progress) -> None:
        self.hack = hack
        self.progress = progress
        self._exe: str | None = None

    @property
    def exe(self) -> str:
        if self._exe is None:
            self._exe = self._find()
        return self._exe

    def _find(self) -> str:
        exe = shutil.which("go") or next(
            (p for p in ("/usr/local/go/bin/go",) if Path(p).exists()), None
        )
        need = _go_directive(self.hack / "kubernetes" / "go.mod")
        if exe is None:
            raise ServiceError(
                f"Go is not installed: building the local cluster's tools needs Go >= {need} "
                "on PATH (https://go.dev/dl), and network access to the Go module proxy"
            )
        have = subprocess.run(
            [exe, "env", "GOVERSION"], env=self.env, capture_output=True, text=True, check=True
        ).stdout.strip()
        if _version_tuple(have.removeprefix("go")) < _version_tuple(need):
            raise ServiceError(f"{exe} is {have}; the pinned modules need Go >= {need}")
        return exe

    @property
    def env(self) -> dict[str, str]:
        # GOTOOLCHAIN=local: never download another toolchain behind the user's back.
        return {**os.environ, "GOTOOLCHAIN": "local", "CGO_ENABLED": "0"}

    def build(self, module_dir: Path, packages: list[str], output: str, ldflags: str) -> None:
        total = self._count_packages(module_dir, packages)
        argv = ["build", "-mod=readonly", "-trimpath", "-v", "-ldflags", ldflags, "-o", output]
        self._run([*argv, *packages], module_dir, total)

    def install(self, package_at_version: str, bin_dir: Path, ldflags: str) -> None:
        argv = ["install", "-trimpath", "-v", "-ldflags", ldflags, package_at_version]
        self._run(argv, self.hack, None, extra_env={"GOBIN": str(bin_dir)})

    def output(self, argv: list[str], *, json_key: str) -> str:
        result = subprocess.run(
            [self.exe, *argv],
            cwd=self.hack,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise self._failure(argv, result.stderr.splitlines())
        return str(json.loads(result.stdout)[json_key])

    def _count_packages(self, module_dir: Path, packages: list[str]) -> int | None:
        result = subprocess.run(
            [self.exe, "list", "-mod=readonly", "-deps", *packages],
            cwd=module_dir, env=self.env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        return len(result.stdout.splitlines()) if result.returncode == 0 else None

    def _run(
        self,
        argv: list[str],
        cwd: Path,
        total: int | None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        """Run go, turning `-v`'s one line per compiled package into a periodic progress line."""
        started = last_report = time.monotonic()
        compiled = 0
        tail: list[str] = []
        with subprocess.Popen(
            [self.exe, *argv],
            cwd=cwd,
            env={**self.env, **(extra_env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip()
                if re.fullmatch(r"[\w.\-/~]+", line):
                    compiled += 1
                else:
                    tail = [*tail[-60:], line]
                now = time.monotonic()
                if now - last_report >= _PROGRESS_EVERY_S:
                    last_report = now
                    of_total = f" of at most {total}" if total else ""
                    self.progress(
                        f"  {compiled}{of_total} packages compiled, "
                        f"{_minutes(now - started)} so far (last: {line})"
                    )
        if proc.returncode != 0:
            raise self._failure(argv, tail)

    def _failure(self, argv: list[str], output: list[str]) -> ServiceError:
        text = "\n".join(output[-40:])
        if any(hint in text for hint in _NETWORK_HINTS):
            proxy = os.environ.get("GOPROXY", "https://proxy.golang.org,direct")
            return ServiceError(
                f"`go {argv[0]}` could not download modules from the Go module proxy "
                f"(GOPROXY={proxy}); check network access to it:\n{text}"
            )
        return ServiceError(f"`go {' '.join(argv)}` failed:\n{text}")


def _go_directive(gomod: Path) -> str:
    match = re.search(r"^go (\S+)", gomod.read_text(), re.MULTILINE)
    return match.group(1) if match else "1.22"


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def _fingerprint(*inputs: Path | str) -> str:
    digest = hashlib.sha256()
    for item in inputs:
        digest.update(item.read_bytes() if isinstance(item, Path) else item.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _read_json(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One builder at a time: two test sessions starting at once must not race."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _minutes(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
