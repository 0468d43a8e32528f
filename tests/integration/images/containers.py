"""Running the runtime image the way the operator's Deployment does, for image tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from sextant.devenv import images
from sextant.devenv.process import free_port
from tests.polling import wait_for

# UID 65532 (the image's user), read-only root, only /tmp writable, no capabilities.
RESTRICTED = (
    "--network=host", "--read-only", "--tmpfs=/tmp", "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
)  # fmt: skip


@contextmanager
def serving(
    podman: images.Podman,
    reference: str,
    flags: list[str],
    serve_args: list[str],
    *,
    timeout: float,
) -> Iterator[str]:
    """`sextant serve` in a detached container on a free port; yields its URL once ready,
    and fails with the container's log when it never gets there."""
    port = free_port()
    name = f"sextant-test-{port}"
    podman.run(
        "run", "--detach", "--rm", "--pull=never", f"--name={name}", *RESTRICTED, *flags,
        reference, "serve", *serve_args, "--host", "127.0.0.1", "--port", str(port),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for(lambda: _ready(url), timeout=timeout, what="the runtime container to be ready")
        except AssertionError as error:
            logs = podman.run("logs", name, check=False)
            raise AssertionError(f"{error}\n{logs.stdout[-3000:]}{logs.stderr[-3000:]}") from None
        yield url
    finally:
        podman.run("stop", "--time=10", name, check=False)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
