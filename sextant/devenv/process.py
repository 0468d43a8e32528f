"""Start a server as a child process, wait until it answers, stop it leaving nothing behind."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


class ServiceError(RuntimeError):
    """A local service is missing, failed to start, or did not answer in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago.

    The kernel picks it; callers bind it straight away and fail loudly on the rare race.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills it if the parent dies first.

    This is what keeps a crashed or SIGKILLed pytest from leaving servers behind.
    """
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class StartStop:
    """`with` support for anything that has start() and stop()."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class ManagedProcess(StartStop):
    """One server process in its own process group, logging to a file.

    `die_with_parent=False` is for daemons that must outlive the command that started
    them (`sextant cluster up`); everything started by tests keeps the default.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        log_path: Path,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.die_with_parent = die_with_parent
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        if self._popen is None:
            raise ServiceError(f"{self.name} was never started")
        return self._popen.pid

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        log.debug("starting %s: %s", self.name, " ".join(self.argv))
        try:
            self._popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if self.die_with_parent else None,  # noqa: PLW1509
            )
        except FileNotFoundError as err:
            self._close_log()
            raise ServiceError(f"{self.name}: executable not found: {self.argv[0]}") from err

    def exited(self) -> int | None:
        """The exit code if the process has ended, else None."""
        return None if self._popen is None else self._popen.poll()

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str = "ready") -> None:
        """Poll `ready` until it returns True; fail with the log's tail if the process dies."""
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            code = self.exited()
            if code is not None:
                raise ServiceError(
                    f"{self.name} exited with code {code} before it was {what}; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            with contextlib.suppress(Exception):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.name} was not {what} after {timeout:.0f}s; "
                    f"log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def wait_http_ok(self, url: str, timeout: float, what: str = "ready") -> None:
        """Wait until GET `url` answers 200 (health and readiness endpoints)."""
        import httpx  # noqa: PLC0415 - keeps this module importable without httpx's start-up cost

        self.wait_until(lambda: httpx.get(url, timeout=2).status_code == 200, timeout, what)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole process group, SIGKILL what is left after `grace` seconds."""
        popen, self._popen = self._popen, None
        if popen is not None:
            _signal_group(popen.pid, signal.SIGTERM)
            try:
                popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("%s ignored SIGTERM for %.0fs; killing it", self.name, grace)
                popen.kill()
                popen.wait()
            # Children that outlived the leader (e.g. server workers) go too.
            _signal_group(popen.pid, signal.SIGKILL)
        self._close_log()

    def _close_log(self) -> None:
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def require_executable(name: str, hint: str) -> str:
    """The absolute path of `name` on PATH, or a ServiceError that says how to get it."""
    path = shutil.which(name)
    if path is None:
        raise ServiceError(f"{name} is not installed: {hint}")
    return path
