"""Build each image once per fingerprint: base, wheelhouse, project wheel, podman build, archive."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path

from sextant.devenv.images.debian import debian_mirrors
from sextant.devenv.images.fingerprint import (
    content_digest,
    files_fingerprint,
    lock_requirements,
    project_fingerprint,
    sha256_hex,
    tree_files,
)
from sextant.devenv.images.layout import (
    BASE_PACKAGES,
    BASE_REPOSITORY,
    BUILD_STAGE,
    DEBIAN_SUITE,
    GLIBC_MINOR,
    PROJECT_SOURCES,
    PYTHON_VERSION,
    SOURCE_DATE_EPOCH,
    BuiltImage,
    ImageSpec,
    Progress,
    cache_dir,
    image_specs,
    image_version,
    images_dir,
    repo_root,
)
from sextant.devenv.images.podman import Podman
from sextant.devenv.process import ServiceError

log = logging.getLogger(__name__)


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
        return content_digest(
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
        stamp = self.wheelhouse / ".locks" / f"{sha256_hex(lock.read_bytes())}.json"
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
            by_hash[sha256_hex(wheel.read_bytes())] = wheel
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
            for path in tree_files(self.repo, PROJECT_SOURCES):
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
