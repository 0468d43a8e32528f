"""Model sources: http(s) downloads (size-checked, retried) and the MLflow registry."""

from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import mlflow
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from mlflow import MlflowClient

from sextant.devenv.mlflow_server import LocalMlflow
from sextant_runtime.sources import SourceError, download, fetch
from tests.integration.runtime.conftest import Serve
from tests.unit.runtime import model_files


class FileServer:
    """A loopback HTTP server whose behaviour per attempt is scripted: ok, 503, short, 404."""

    def __init__(self, payload: bytes, script: list[str]) -> None:
        self.payload = payload
        self.script = script
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                step = outer.script[min(outer.requests, len(outer.script) - 1)]
                outer.requests += 1
                if step in ("503", "404"):
                    self.send_response(int(step))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(outer.payload)))
                self.end_headers()
                body = outer.payload if step == "ok" else outer.payload[: len(outer.payload) // 2]
                self.wfile.write(body)
                if step == "short":
                    self.close_connection = True

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str = "model.onnx") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/models/{name}"

    def __enter__(self) -> FileServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def model_bytes(tmp_path: Path) -> bytes:
    return model_files.onnx_linear(tmp_path / "src" / "m.onnx").read_bytes()


def test_http_download_retries_server_errors_and_short_bodies(
    tmp_path: Path, model_bytes: bytes
) -> None:
    with FileServer(model_bytes, ["503", "short", "ok"]) as files:
        path = download(files.url(), tmp_path / "cache", backoff=0.01)
        assert path.read_bytes() == model_bytes
        assert files.requests == 3
        again = download(files.url(), tmp_path / "cache", backoff=0.01)
        assert again == path
        assert files.requests == 3  # served from the cache
    assert not list(path.parent.glob(".partial-*"))


def test_http_download_gives_up_after_the_attempts_with_the_last_reason(
    tmp_path: Path, model_bytes: bytes
) -> None:
    with FileServer(model_bytes, ["short"]) as files:
        with pytest.raises(SourceError, match="failed after 3 attempts"):
            download(files.url(), tmp_path / "cache", backoff=0.01)
        assert files.requests == 3


def test_http_404_fails_at_once(tmp_path: Path, model_bytes: bytes) -> None:
    with FileServer(model_bytes, ["404"]) as files:
        with pytest.raises(SourceError, match="HTTP 404"):
            download(files.url(), tmp_path / "cache", backoff=0.01)
        assert files.requests == 1


def test_http_digest_fragment_is_verified(tmp_path: Path, model_bytes: bytes) -> None:
    good = hashlib.sha256(model_bytes).hexdigest()
    with FileServer(model_bytes, ["ok"]) as files:
        assert download(f"{files.url()}#sha256={good}", tmp_path / "a", backoff=0.01).is_file()
        with pytest.raises(SourceError, match="sha256 is"):
            download(f"{files.url()}#sha256={'0' * 64}", tmp_path / "b", backoff=0.01)


def test_local_paths_and_file_uris_are_used_in_place(tmp_path: Path) -> None:
    path = model_files.onnx_linear(tmp_path / "m.onnx")
    assert fetch(str(path)).path == path
    assert fetch(path.as_uri()).path == path
    with pytest.raises(SourceError, match="does not exist"):
        fetch(str(tmp_path / "missing.onnx"))
    with pytest.raises(SourceError, match="not gs://"):
        fetch("gs://bucket/model.onnx")


def test_serving_from_an_http_url(serve: Serve, model_bytes: bytes) -> None:
    with FileServer(model_bytes, ["ok"]) as files:
        server = serve(files.url("linear.onnx"))
    response = server.infer(
        [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
    )
    assert response.status_code == 200


@pytest.fixture
def registered(mlflow_server: LocalMlflow, tmp_path: Path) -> tuple[str, str, str]:
    """Two versions of an ONNX model in the registry; alias 'champion' on the second."""
    mlflow.set_tracking_uri(mlflow_server.url)
    versions = []
    for seed in (1, 2):
        model = onnx.load(str(model_files.onnx_linear(tmp_path / f"v{seed}.onnx", seed=seed)))
        with mlflow.start_run():
            info = mlflow.onnx.log_model(
                model, name="model", registered_model_name="runtime-linear"
            )
        versions.append(str(info.registered_model_version))
    MlflowClient(tracking_uri=mlflow_server.url).set_registered_model_alias(
        "runtime-linear", "champion", versions[1]
    )
    return mlflow_server.url, versions[0], versions[1]


def test_serving_models_alias_and_version_from_the_registry(
    serve: Serve, registered: tuple[str, str, str], tmp_path: Path
) -> None:

    tracking, first, second = registered
    x = np.arange(4, dtype=np.float32).reshape(1, 4)
    for source, version, seed in (
        ("models:/runtime-linear@champion", second, 2),
        (f"models:/runtime-linear/{first}", first, 1),
    ):
        server = serve(source, name="linear", env={"MLFLOW_TRACKING_URI": tracking})
        meta = httpx.get(f"{server.url}/v2/models/linear", timeout=5).json()
        assert meta["versions"] == [version]
        assert (
            meta["platform"] == "onnxruntime_onnx"
        )  # the onnx flavor runs on onnxruntime directly
        out = server.infer(
            [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": x.reshape(-1).tolist()}]
        )
        expected = ort.InferenceSession(
            str(model_files.onnx_linear(tmp_path / f"check{seed}.onnx", seed=seed))
        ).run(None, {"x": x})[0]
        np.testing.assert_array_equal(
            np.array(out.json()["outputs"][0]["data"], np.float32), expected.reshape(-1)
        )
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        assert f'version="{version}"' in metrics


def test_a_missing_registry_alias_is_a_clear_error(
    registered: tuple[str, str, str], tmp_path: Path
) -> None:
    tracking, _, _ = registered
    with pytest.raises(SourceError, match="no-such-alias"):
        fetch("models:/runtime-linear@no-such-alias", tmp_path, tracking_uri=tracking)
