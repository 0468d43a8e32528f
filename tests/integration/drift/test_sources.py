"""References over HTTP: `sextant drift check -r http://...`."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sextant.cli import main


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    rng = np.random.default_rng(9)
    pq.write_table(pa.table({"x": rng.normal(0, 1, 400)}), tmp_path / "train.parquet")
    pq.write_table(pa.table({"x": rng.normal(0, 1, 300)}), tmp_path / "window.parquet")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_reference_over_http(served: tuple[str, Path]) -> None:
    base, folder = served
    args = ["drift", "check", "-r", f"{base}/train.parquet", "-c", str(folder / "window.parquet")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["features"][0]["test"] == "ks"


def test_an_http_error_is_an_io_error(served: tuple[str, Path]) -> None:
    base, folder = served
    args = ["drift", "check", "-r", f"{base}/absent.parquet", "-c", str(folder / "window.parquet")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "404" in result.output
