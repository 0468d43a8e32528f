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

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
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
_PROJECT_SOURCES = ("pyproject.toml", "README.md", "sextant", "operator", "runtime")
_SKIP_PARTS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


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
    return Path(__file__).resolve().parents[2]


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


def _digest(parts: Iterable[tuple[str, bytes]]) -> str:
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
                and not _SKIP_PARTS.intersection(p.relative_to(root).parts)
                and p.suffix not in (".pyc", ".pyo")
                and ".egg-info" not in str(p.relative_to(root))
            )
    return sorted(files)


def files_fingerprint(root: Path, files: Iterable[Path], *extra: str) -> str:
    """A hash of the files' paths relative to `root`, their contents, and `extra` strings."""
    parts = [(str(f.relative_to(root)), f.read_bytes()) for f in files]
    parts.extend((f"extra{i}", value.encode()) for i, value in enumerate(extra))
    return _digest(parts)


def project_fingerprint(root: Path | None = None) -> str:
    root = root or repo_root()
    return files_fingerprint(root, tree_files(root, _PROJECT_SOURCES), SOURCE_DATE_EPOCH)


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


class Podman:
    """podman with the project's own containers.conf and storage under the cache folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.exe = shutil.which("podman")
        if self.exe is None:
            raise ServiceError(
                "podman is not installed: building images needs the Debian packages "
                "podman buildah runc mmdebstrap"
            )

    @property
    def state(self) -> Path:
        """Run-time state (locks, container state): on a tmpfs, so a reboot clears it."""
        if os.geteuid() == 0 and os.access("/run", os.W_OK):
            return Path("/run/sextant-images")
        runtime_dir = os.environ.get("XDG_RUNTIME_DIR")
        if runtime_dir:
            return Path(runtime_dir) / "sextant-images"
        return Path(tempfile.gettempdir()) / f"sextant-images-{os.geteuid()}"

    @property
    def env(self) -> dict[str, str]:
        self._write_config()
        return {
            **os.environ,
            "CONTAINERS_CONF": str(self.root / "containers.conf"),
            "CONTAINERS_STORAGE_CONF": str(self.root / "storage.conf"),
        }

    def _write_config(self) -> None:
        # Without CAP_SYS_RESOURCE podman cannot raise limits past this process's own, and
        # runc fails above some nproc; ask for at most what is already granted. runc, since
        # crun fails on hybrid cgroup hierarchies.
        nofile = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 1 << 20)
        nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
        runtime = "runc" if shutil.which("runc") else "crun"
        storage = self.root / "storage"
        conf = (
            "[containers]\n"
            f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
            "[engine]\n"
            f'runtime = "{runtime}"\n'
            'cgroup_manager = "cgroupfs"\n'
            'events_logger = "file"\n'
            f'tmp_dir = "{self.state / "tmp"}"\n'
        )
        storage_conf = (
            "[storage]\n"
            'driver = "overlay"\n'
            f'runroot = "{self.state / "run"}"\n'
            f'graphroot = "{storage}"\n'
        )
        self.root.mkdir(parents=True, exist_ok=True)
        for name, text in (("containers.conf", conf), ("storage.conf", storage_conf)):
            path = self.root / name
            if not path.exists() or path.read_text() != text:
                path.write_text(text)

    def run(
        self, *args: str, check: bool = True, capture: bool = True
    ) -> subprocess.CompletedProcess[str]:
        assert self.exe is not None
        result = subprocess.run(
            [self.exe, *args], env=self.env, capture_output=capture, text=True, check=False
        )
        if check and result.returncode != 0:
            tail = "\n".join((result.stderr or result.stdout or "").splitlines()[-30:])
            raise ServiceError(f"podman {' '.join(args[:2])} failed ({result.returncode}):\n{tail}")
        return result

    def image_exists(self, reference: str) -> bool:
        return self.run("image", "exists", reference, check=False).returncode == 0


# --- the builder -----------------------------------------------------------------------


class ImageBuilder:
    def __init__(self, progress: Progress, *, root: Path | None = None, force: bool = False):
        self.progress = progress
        self.root = root or cache_dir()
        self.force = force
        self.images = images_dir()
        self.repo = repo_root()
        self._podman: Podman | None = None

    @property
    def podman(self) -> Podman:
        if self._podman is None:
            self._podman = Podman(self.root / "podman")
        return self._podman

    # The base: mmdebstrap -> podman import.

    def base_fingerprint(self) -> str:
        return _digest(
            [
                ("suite", DEBIAN_SUITE.encode()),
                ("packages", " ".join(BASE_PACKAGES).encode()),
                ("mirrors", "\n".join(debian_mirrors()).encode()),
                ("epoch", SOURCE_DATE_EPOCH.encode()),
            ]
        )

    def base_reference(self) -> str:
        return f"{BASE_REPOSITORY}:{DEBIAN_SUITE}-{self.base_fingerprint()[:16]}"

    def ensure_base(self) -> str:
        """The local base image reference, built and imported when missing."""
        reference = self.base_reference()
        tarball = self.root / "base" / f"{reference.rsplit(':', 1)[1]}.tar"
        if not self.force and tarball.is_file() and self.podman.image_exists(reference):
            return reference
        if self.force or not tarball.is_file():
            self._mmdebstrap(tarball)
        started = time.monotonic()
        self.podman.run(
            "import",
            "--change",
            'CMD ["/usr/bin/python3"]',
            "--message",
            f"mmdebstrap {DEBIAN_SUITE} {' '.join(BASE_PACKAGES)}",
            str(tarball),
            reference,
        )
        self.progress(f"imported {reference} in {time.monotonic() - started:.1f}s")
        _remove_others(tarball.parent, f"{DEBIAN_SUITE}-*.tar", keep=tarball)
        return reference

    def _mmdebstrap(self, tarball: Path) -> None:
        exe = shutil.which("mmdebstrap")
        if exe is None:
            raise ServiceError("mmdebstrap is not installed (Debian package mmdebstrap)")
        tarball.parent.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial.tar")
        mirrors = debian_mirrors()
        self.progress(f"mmdebstrap {DEBIAN_SUITE} ({', '.join(BASE_PACKAGES)}) from {mirrors[0]}")
        started = time.monotonic()
        excludes = ("doc/*", "man/*", "locale/*", "info/*", "lintian/*")
        argv = [
            exe,
            "--variant=apt",
            "--mode=auto",
            f"--include={','.join(BASE_PACKAGES)}",
            '--aptopt=Acquire::Retries "3"',
            *(f"--dpkgopt=path-exclude=/usr/share/{pattern}" for pattern in excludes),
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            DEBIAN_SUITE,
            str(partial),
            *mirrors,
        ]
        env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            tail = "\n".join(result.stderr.splitlines()[-20:])
            raise ServiceError(f"mmdebstrap failed ({result.returncode}):\n{tail}")
        partial.rename(tarball)
        self.progress(f"built the base rootfs in {time.monotonic() - started:.1f}s")

    # The wheelhouse: every pinned wheel of a lock file, downloaded once.

    @property
    def wheelhouse(self) -> Path:
        return self.root / "wheelhouse"

    def ensure_wheels(self, lock: Path) -> list[Path]:
        """The wheelhouse files that satisfy `lock`, downloaded with pip when missing."""
        pins = lock_requirements(lock)
        stamp = self.wheelhouse / ".locks" / f"{_sha256(lock.read_bytes())}.json"
        if stamp.is_file():
            files = [self.wheelhouse / name for name in json.loads(stamp.read_text())]
            if all(f.is_file() for f in files):
                return files
        self.wheelhouse.mkdir(parents=True, exist_ok=True)
        self.progress(f"downloading {len(pins)} pinned wheels of {lock.relative_to(self.repo)}")
        started = time.monotonic()
        platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MINOR, 16, -1)]
        platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
        argv = [
            sys.executable, "-m", "pip", "download",
            "--no-deps", "--require-hashes", "--only-binary=:all:",
            "--disable-pip-version-check", "--progress-bar=off",
            "--python-version", PYTHON_VERSION, "--implementation", "cp",
            *(f"--platform={platform}" for platform in platforms),
            "--dest", str(self.wheelhouse), "-r", str(lock),
        ]  # fmt: skip
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.splitlines()[-20:])
            raise ServiceError(f"pip download of {lock} failed:\n{tail}")
        files = self._match_wheels(pins, lock)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(sorted(f.name for f in files), indent=1))
        total = sum(f.stat().st_size for f in files)
        self.progress(
            f"wheelhouse for {lock.parent.name}: {len(files)} wheels, {total / 1e6:.0f} MB, "
            f"in {time.monotonic() - started:.1f}s"
        )
        return files

    def _match_wheels(self, pins: dict[str, tuple[str, frozenset[str]]], lock: Path) -> list[Path]:
        by_hash: dict[str, Path] = {}
        for wheel in self.wheelhouse.glob("*.whl"):
            by_hash[_sha256(wheel.read_bytes())] = wheel
        files: list[Path] = []
        for name, (version, hashes) in sorted(pins.items()):
            found = [by_hash[h] for h in hashes if h in by_hash]
            if not found:
                raise ServiceError(f"no wheel of {name}=={version} from {lock} in the wheelhouse")
            files.extend(found)
        return files

    # The project wheel.

    def ensure_project_wheel(self) -> Path:
        fingerprint = project_fingerprint(self.repo)[:16]
        folder = self.root / "dist" / fingerprint
        wheels = sorted(folder.glob("*.whl"))
        if wheels and not self.force:
            return wheels[0]
        self.progress("building the sextant wheel")
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="sextant-wheel-") as tmp:
            # A copy of exactly the hashed files: no build/ or egg-info in the checkout.
            source = Path(tmp) / "src"
            for path in tree_files(self.repo, _PROJECT_SOURCES):
                target = source / path.relative_to(self.repo)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
            out = Path(tmp) / "dist"
            argv = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index", "-w"]
            argv += [str(out), str(source)]
            if _has_build_backend():
                argv.insert(4, "--no-build-isolation")
            else:
                argv.remove("--no-index")
            env = {**os.environ, "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH}
            result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
            built = sorted(out.glob("sextant-*.whl"))
            if result.returncode != 0 or not built:
                tail = "\n".join(result.stderr.splitlines()[-20:])
                raise ServiceError(f"building the sextant wheel failed:\n{tail}")
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            wheel = folder / built[0].name
            shutil.copy2(built[0], wheel)
        _remove_others(folder.parent, "*", keep=folder)
        self.progress(f"built {wheel.name} in {time.monotonic() - started:.1f}s")
        return wheel

    # The images.

    def fingerprint(self, spec: ImageSpec, base: str, wheel: Path | None) -> str:
        folder = spec.folder(self.images)
        files = sorted(p for p in folder.iterdir() if p.is_file())
        extra = [spec.reference]
        if spec.python:
            assert wheel is not None
            extra += [base, wheel.parent.name]
        else:
            extra.append(_go_version())
        return files_fingerprint(self.images, files, *extra)[:16]

    def archive_path(self, spec: ImageSpec, fingerprint: str) -> Path:
        return self.root / f"{spec.name}-{fingerprint}.tar"

    def archive_ready(self, spec: ImageSpec, base: str, wheel: Path) -> bool:
        fingerprint = self.fingerprint(spec, base, wheel)
        return not self.force and self.archive_path(spec, fingerprint).is_file()

    def ensure(self, spec: ImageSpec, base: str | None, wheel: Path | None) -> BuiltImage:
        started = time.monotonic()
        fingerprint = self.fingerprint(spec, base or "", wheel)
        archive = self.archive_path(spec, fingerprint)
        if archive.is_file() and not self.force:
            return BuiltImage(spec.name, spec.reference, archive, fingerprint, True, 0.0)
        with tempfile.TemporaryDirectory(prefix=f"{spec.name}-", dir=self.root) as tmp:
            context = Path(tmp)
            if spec.python:
                assert base is not None
                assert wheel is not None
                self._python_context(spec, wheel, context)
                build_args = {"BASE": base, "VERSION": image_version()}
            else:
                self._pause_context(spec, context)
                build_args = {"VERSION": spec.reference.rsplit(":", 1)[1]}
            self.progress(f"building {spec.reference}")
            built = time.monotonic()
            argv = [
                "build",
                "--pull=never",
                "--layers",
                "--network=none",
                "--format=oci",
                *(f"--build-arg={key}={value}" for key, value in build_args.items()),
                "--file",
                str(spec.folder(self.images) / "Containerfile"),
            ]
            if spec.python:
                # A tag on the dependency stage keeps its layers out of `image prune`, so
                # a change of the project alone reuses the installed dependencies.
                self.podman.run(*argv, "--target=build", f"--tag={BUILD_STAGE}/{spec.name}", tmp)
            self.podman.run(*argv, f"--tag={spec.reference}", tmp)
            self.progress(f"built {spec.reference} in {time.monotonic() - built:.1f}s")
        partial = archive.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        self.podman.run("save", "--format", "oci-archive", "-o", str(partial), spec.reference)
        partial.rename(archive)
        _remove_others(self.root, f"{spec.name}-*.tar", keep=archive)
        # Untagged stage tops and replaced images; the layers the next build reuses stay.
        self.podman.run("image", "prune", "--force", check=False)
        seconds = time.monotonic() - started
        self.progress(f"saved {archive.name} ({archive.stat().st_size / 1e6:.0f} MB)")
        return BuiltImage(spec.name, spec.reference, archive, fingerprint, False, seconds)

    def _python_context(self, spec: ImageSpec, wheel: Path, context: Path) -> None:
        lock = spec.folder(self.images) / "requirements.lock"
        shutil.copy2(lock, context / "requirements.lock")
        for folder, files in (("wheels", self.ensure_wheels(lock)), ("dist", [wheel])):
            (context / folder).mkdir()
            for file in files:
                _link_or_copy(file, context / folder / file.name)

    def _pause_context(self, spec: ImageSpec, context: Path) -> None:
        source = spec.folder(self.images)
        env = {**os.environ, "CGO_ENABLED": "0", "GOTOOLCHAIN": "local"}
        argv = [_go(), "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o"]
        result = subprocess.run(
            [*argv, str(context / "pause"), "."],
            cwd=source, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ServiceError(f"go build of {source} failed:\n{result.stderr[-2000:]}")


def ensure_images(
    progress: Progress = log.info,
    *,
    torch: bool = False,
    output: Path | None = None,
    force: bool = False,
    root: Path | None = None,
) -> list[BuiltImage]:
    """Build (or reuse) the pause, operator and runtime images, plus the CUDA runtime with
    `torch`; each is an OCI archive under the cache folder, also linked into `output` as
    NAME.tar when given. Safe to call from several processes: one builds, the others wait.
    """
    builder = ImageBuilder(progress, root=root, force=force)
    builder.root.mkdir(parents=True, exist_ok=True)
    with _locked(builder.root / ".lock", progress):
        specs = image_specs(torch=torch)
        # Only hashing when every archive is there: no podman, mmdebstrap, pip or Go.
        wheel = builder.ensure_project_wheel()
        base = builder.base_reference()
        missing = [s for s in specs if s.python and not builder.archive_ready(s, base, wheel)]
        if missing:
            base = builder.ensure_base()
        built = [builder.ensure(spec, base if spec.python else None, wheel) for spec in specs]
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        for image in built:
            target = output / f"{image.name}.tar"
            target.unlink(missing_ok=True)
            _link_or_copy(image.archive, target)
    return built


# --- helpers ---------------------------------------------------------------------------


def debian_mirrors(sources: Sequence[Path] | None = None) -> list[str]:
    """One-line apt sources for bookworm's main component, from the host's apt sources.

    Reads /etc/apt/sources.list and sources.list.d (one-line and deb822 formats) and keeps
    the Debian suites of bookworm; falls back to deb.debian.org.
    """
    if sources is None:
        apt = Path("/etc/apt")
        sources = [apt / "sources.list", *sorted((apt / "sources.list.d").glob("*"))]
    lines: list[str] = []
    for path in sources:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        deb822 = path.suffix == ".sources"
        entries = _deb822_entries(text) if deb822 else _one_line_entries(text)
        for uri, suite in entries:
            line = f"deb {uri} {suite} main"
            if suite.split("-")[0] == DEBIAN_SUITE and line not in lines:
                lines.append(line)
    if not any(line.split()[2] == DEBIAN_SUITE for line in lines):
        lines.insert(0, f"deb http://deb.debian.org/debian {DEBIAN_SUITE} main")
    return lines


def _one_line_entries(text: str) -> Iterator[tuple[str, str]]:
    for raw in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", raw.split("#", 1)[0]).split()
        if len(words) >= 4 and words[0] == "deb" and "main" in words[3:]:
            yield words[1], words[2]


def _deb822_entries(text: str) -> Iterator[tuple[str, str]]:
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        if "main" not in fields.get("components", "").split():
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                yield uri, suite


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _remove_others(folder: Path, pattern: str, *, keep: Path) -> None:
    for path in folder.glob(pattern):
        if path != keep:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _has_build_backend() -> bool:
    """Whether this environment can build the wheel itself (no download of setuptools)."""
    try:
        setuptools = metadata.version("setuptools")
        metadata.version("wheel")
    except metadata.PackageNotFoundError:
        return False
    return int(setuptools.split(".")[0]) >= 77


def _go() -> str:
    exe = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if exe is None:
        raise ServiceError("Go is not installed: the pause image is built from images/pause")
    return exe


def _go_version() -> str:
    result = subprocess.run(
        [_go(), "env", "GOVERSION"],
        env={**os.environ, "GOTOOLCHAIN": "local"},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip()


@contextlib.contextmanager
def _locked(path: Path, progress: Progress) -> Iterator[None]:
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("another process is building the images; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
