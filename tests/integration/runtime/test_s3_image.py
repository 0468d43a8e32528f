"""The runtime image reads s3:// for real: UID 65532, read-only root, only /tmp writable,
the AWS variables as the operator renders them, a model from versitygw on loopback."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sextant.devenv import images
from sextant.devenv.s3 import LocalS3
from tests.integration.images.containers import serving
from tests.integration.images.test_images import built, podman  # noqa: F401 - fixtures

IRIS = Path(__file__).resolve().parents[3] / "examples" / "models" / "iris.onnx"

pytestmark = [
    pytest.mark.timeout(1800),  # a cold image build takes minutes on two cores
    pytest.mark.skipif(
        shutil.which("podman") is None or shutil.which("mmdebstrap") is None,
        reason="needs the Debian packages podman, buildah, runc and mmdebstrap (make setup)",
    ),
]


@pytest.fixture
def served_from_s3(
    podman: images.Podman,  # noqa: F811 - the imported fixture
    built: dict[str, images.BuiltImage],  # noqa: F811
    s3_server: LocalS3,
) -> Iterator[str]:
    s3_server.create_bucket("image-models")
    uri = s3_server.put("image-models", "iris/v1/iris.onnx", IRIS)
    env = {**s3_server.env(), "AWS_ENDPOINT_URL_S3": s3_server.endpoint}
    with serving(
        podman,
        built["sextant-runtime"].reference,
        [f"--env={key}={value}" for key, value in env.items()],
        [uri, "--name", "iris", "--cache-dir", "/tmp/models"],
        timeout=90,
    ) as url:
        yield url


def test_the_runtime_image_serves_a_model_from_s3(served_from_s3: str) -> None:
    body = {
        "inputs": [
            {"name": "measurements", "shape": [1, 4], "datatype": "FP32",
             "data": [5.1, 3.5, 1.4, 0.2]}
        ]
    }  # fmt: skip
    response = httpx.post(f"{served_from_s3}/v2/models/iris/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["shape"] == [1, 3]
