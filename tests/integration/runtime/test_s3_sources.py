"""Models from s3:// on a real S3-compatible server (versitygw on loopback): downloads,
caching, prefixes, and the errors a user gets for a missing key, bad keys or no server."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from sextant.devenv.process import free_port
from sextant.devenv.s3 import LocalS3
from sextant_runtime.sources import SourceError, fetch
from tests.integration.runtime.conftest import Serve
from tests.unit.runtime import model_files

BUCKET = "models"


@pytest.fixture(scope="module")
def s3(s3_server: LocalS3) -> LocalS3:
    s3_server.create_bucket(BUCKET)
    return s3_server


@pytest.fixture
def s3_env(s3: LocalS3, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)
    return s3.env()


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    return model_files.onnx_linear(tmp_path / "src" / "linear.onnx")


def test_serving_a_model_from_s3(
    serve: Serve, s3: LocalS3, s3_env: dict[str, str], model_path: Path
) -> None:
    uri = s3.put(BUCKET, "fraud/v3/linear.onnx", model_path)
    server = serve(uri, env=s3_env)
    response = server.infer(
        [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["outputs"][0]["data"]) == 3


def test_serving_a_model_folder_from_an_s3_prefix(
    serve: Serve, s3: LocalS3, s3_env: dict[str, str], model_path: Path
) -> None:
    s3.put(BUCKET, "served/v2/model.onnx", model_path)
    s3.put(BUCKET, "served/v2/README", b"trained 2024-01-01\n")
    server = serve(f"s3://{BUCKET}/served/v2/", env=s3_env)
    response = server.infer(
        [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
    )
    assert response.status_code == 200, response.text


def test_an_s3_object_is_cached_until_it_changes(
    tmp_path: Path, s3: LocalS3, s3_env: dict[str, str], model_path: Path
) -> None:
    uri = s3.put(BUCKET, "cached/linear.onnx", model_path)
    first = fetch(uri, tmp_path / "cache")
    assert first.path.read_bytes() == model_path.read_bytes()
    assert first.path.name == "linear.onnx"
    assert fetch(uri, tmp_path / "cache").path == first.path
    other = model_files.onnx_linear(tmp_path / "other.onnx", seed=7)
    s3.put(BUCKET, "cached/linear.onnx", other)
    changed = fetch(uri, tmp_path / "cache")
    assert changed.path != first.path
    assert changed.path.read_bytes() == other.read_bytes()
    assert not list((tmp_path / "cache").rglob(".partial-*"))


def test_an_s3_prefix_is_downloaded_as_a_folder(
    tmp_path: Path, s3: LocalS3, s3_env: dict[str, str], model_path: Path
) -> None:
    s3.put(BUCKET, "folder/v1/model.onnx", model_path)
    s3.put(BUCKET, "folder/v1/meta/labels.txt", b"cat\ndog\n")
    fetched = fetch(f"s3://{BUCKET}/folder/v1/", tmp_path / "cache")
    assert fetched.path.is_dir()
    assert (fetched.path / "model.onnx").read_bytes() == model_path.read_bytes()
    assert (fetched.path / "meta" / "labels.txt").read_bytes() == b"cat\ndog\n"


def test_a_missing_key_is_model_not_found_naming_bucket_and_key(
    tmp_path: Path, s3: LocalS3, s3_env: dict[str, str]
) -> None:
    with pytest.raises(SourceError, match=r"model not found: s3://models/nope/model\.onnx"):
        fetch(f"s3://{BUCKET}/nope/model.onnx", tmp_path / "cache", backoff=0.01)
    with pytest.raises(SourceError, match=r"model not found: s3://no-such-bucket/m\.onnx"):
        fetch("s3://no-such-bucket/m.onnx", tmp_path / "cache", backoff=0.01)


def test_wrong_credentials_are_refused_at_once(
    tmp_path: Path,
    s3: LocalS3,
    s3_env: dict[str, str],
    model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    uri = s3.put(BUCKET, "secret/linear.onnx", model_path)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"access denied .*bucket 'models' key 'secret/linear"):
        fetch(uri, tmp_path / "cache", backoff=5.0)
    assert time.monotonic() - started < 5.0  # final: no retry after a backoff
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    with pytest.raises(SourceError, match="access denied"):
        fetch(uri, tmp_path / "cache", backoff=5.0)


def test_an_unreachable_endpoint_is_retried_then_named(
    tmp_path: Path, s3_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SourceError, match=r"S3 endpoint unavailable .*gave up after 2 attempts"):
        fetch(f"s3://{BUCKET}/m.onnx", tmp_path / "cache", attempts=2, backoff=0.01)


def test_a_large_object_streams_in_bounded_memory(
    tmp_path: Path, s3: LocalS3, s3_env: dict[str, str]
) -> None:
    size = 192 << 20
    big = tmp_path / "big.bin"
    with big.open("wb") as out:
        block = np.random.default_rng(0).bytes(1 << 20)
        for _ in range(size >> 20):
            out.write(block)
    uri = s3.put(BUCKET, "big/weights.bin", big)
    # A fresh process, so its peak RSS (ru_maxrss) is this download's and not the tests'.
    script = (
        "import resource, sys; from pathlib import Path; import pyarrow.fs\n"
        "from sextant_runtime.sources import fetch\n"
        "pyarrow.fs.S3FileSystem()  # the AWS SDK loaded before the baseline\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "path = fetch(sys.argv[1], Path(sys.argv[2])).path\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(path.stat().st_size, (after - before) // 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, uri, str(tmp_path / "cache")],
        env={**os.environ, **s3_env},
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    received, grown_mib = (int(v) for v in result.stdout.split())
    assert received == size
    assert grown_mib < 64, f"peak RSS grew {grown_mib} MiB downloading {size >> 20} MiB"
