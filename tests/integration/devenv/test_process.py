import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sextant.devenv.process import ManagedProcess, ServiceError
from sextant.devenv.redis import LocalRedis
from tests.polling import wait_for


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0) until reaped; it is dead for our purposes.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_stop_kills_the_whole_process_group(tmp_path: Path) -> None:
    # A shell that starts a grandchild: stop() must take both down.
    script = "sleep 300 & echo $! > child.pid; wait"
    process = ManagedProcess("sh", ["sh", "-c", script], log_path=tmp_path / "log", cwd=tmp_path)
    process.start()
    child_pid = int(wait_for(lambda: _read(tmp_path / "child.pid"), timeout=10, what="child pid"))

    process.stop()

    wait_for(lambda: not alive(child_pid), timeout=10, what="the grandchild to die")


def test_children_die_when_the_parent_is_killed(tmp_path: Path) -> None:
    # Simulates a pytest run that is SIGKILLed mid-test: no teardown runs at all.
    parent = textwrap.dedent(f"""
        from pathlib import Path
        import time
        from sextant.devenv.redis import LocalRedis
        redis = LocalRedis(Path({str(tmp_path / "redis")!r}))
        redis.start()
        Path({str(tmp_path / "redis.pid")!r}).write_text(str(redis.process.pid))
        time.sleep(300)
    """)
    proc = subprocess.Popen([sys.executable, "-c", parent])
    redis_pid = int(wait_for(lambda: _read(tmp_path / "redis.pid"), timeout=30, what="redis"))
    assert alive(redis_pid)

    proc.kill()
    proc.wait()

    wait_for(lambda: not alive(redis_pid), timeout=10, what="redis to die with its parent")


def test_a_process_that_exits_early_fails_with_its_log(tmp_path: Path) -> None:
    process = ManagedProcess(
        "doomed", ["sh", "-c", "echo bad flag >&2; exit 3"], log_path=tmp_path / "log"
    )
    process.start()
    with pytest.raises(ServiceError, match=r"(?s)exited with code 3.*bad flag"):
        process.wait_until(lambda: False, timeout=10)
    process.stop()


def test_missing_executable_names_what_is_missing(tmp_path: Path) -> None:
    process = ManagedProcess("ghost", ["/nonexistent/ghostd"], log_path=tmp_path / "log")
    with pytest.raises(ServiceError, match="executable not found: /nonexistent/ghostd"):
        process.start()


def test_redis_port_is_closed_and_process_gone_after_stop(tmp_path: Path) -> None:
    redis = LocalRedis(tmp_path)
    redis.start()
    pid = redis.process.pid

    redis.stop()

    assert not alive(pid)
    with pytest.raises(ConnectionRefusedError):
        redis._answers_ping()


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except FileNotFoundError:
        return None
