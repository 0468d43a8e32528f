"""SIGTERM while `sextant serve` downloads a large model: it stops at once, says so, and
leaves no partial download behind in the cache."""

from __future__ import annotations

import http.server
import os
import signal
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.integration.runtime.conftest import Serve

MODEL_BYTES = 200 * 1024 * 1024  # far more than the trickle below sends in a test's time
CHUNK = 64 * 1024


class Trickle(http.server.BaseHTTPRequestHandler):
    """Serves a large file slowly: one chunk every 50 ms, until the client goes away."""

    started = threading.Event()

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(MODEL_BYTES))
        self.end_headers()
        type(self).started.set()
        chunk = b"\0" * CHUNK
        try:
            for _ in range(MODEL_BYTES // CHUNK):
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(0.05)
        except OSError:
            return  # the client went away

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def slow_model_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    Trickle.started.clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/big/model.onnx"
    server.shutdown()
    server.server_close()


def test_sigterm_during_a_model_download_exits_at_once_with_a_clear_log(
    serve: Serve, slow_model_url: str
) -> None:
    server = serve(slow_model_url, name="big", wait=False)
    server.process.wait_until(
        lambda: httpx.get(f"{server.url}/v2/health/live", timeout=2).status_code == 200,
        60,
        what="live",
    )
    assert Trickle.started.wait(30), "the download never started"
    time.sleep(0.5)  # well inside the download (about 10 of 3,200 chunks)
    assert httpx.get(f"{server.url}/v2/health/ready", timeout=2).status_code == 503
    cache = server.log_path.parent / "cache"
    assert list(cache.rglob(".partial-*")), "the download writes under a temporary name"

    sent = time.monotonic()
    os.kill(server.process.pid, signal.SIGTERM)
    while server.process.exited() is None and time.monotonic() - sent < 30:
        time.sleep(0.02)
    took = time.monotonic() - sent

    assert server.process.exited() == 0
    assert took < 2.0, f"took {took:.1f}s to stop"
    log = server.log()
    assert "stopped while the model was loading: abandoning the download" in log
    assert "model loaded" not in log
    assert list(cache.rglob("model.onnx")) == []  # never a half model under its final name
    assert list(cache.rglob(".partial-*")) == []  # nor under its temporary one
