"""Rootful podman with the project's own configuration and storage; nothing global changes."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

from sextant.devenv.process import ServiceError


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
