"""The container images, built for real with podman (cached: fast once built), then run.

The runtime serves examples/models/iris.onnx as UID 65532 on a read-only root with only
/tmp writable, the way the operator's Deployment runs it, and answers an OIP v2 request.
"""

import json
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
import pytest

from sextant.devenv import images
from sextant.devenv.process import free_port
from sextant_runtime import jsonbody
from tests.integration.images.containers import serving

REPO_ROOT = Path(__file__).resolve().parents[3]
IRIS = REPO_ROOT / "examples" / "models" / "iris.onnx"

# A cold build (base rootfs, wheelhouse, three images) takes minutes on two cores.
pytestmark = [
    pytest.mark.timeout(1800),
    pytest.mark.skipif(
        shutil.which("podman") is None or shutil.which("mmdebstrap") is None,
        reason="needs the Debian packages podman, buildah, runc and mmdebstrap (make setup)",
    ),
]


@pytest.fixture(scope="module")
def built() -> dict[str, images.BuiltImage]:
    return {image.name: image for image in images.ensure_images(print)}


@pytest.fixture(scope="module")
def podman(built: dict[str, images.BuiltImage]) -> images.Podman:
    podman = images.Podman(images.cache_dir() / "podman")
    for image in built.values():
        # The archive is the product: load it when the tag is gone from podman's storage.
        if not podman.image_exists(image.reference):
            podman.run("load", "-i", str(image.archive))
    return podman


def _run(podman: images.Podman, reference: str, *argv: str, entrypoint: str = "") -> str:
    options = ["--rm", "--pull=never", "--network=none", "--read-only", "--tmpfs=/tmp"]
    if entrypoint:
        options.append(f"--entrypoint={entrypoint}")
    return podman.run("run", *options, reference, *argv).stdout


def _distributions(podman: images.Podman, reference: str) -> set[str]:
    script = (
        "import importlib.metadata as m; "
        "print('\\n'.join(sorted(d.metadata['Name'].lower() for d in m.distributions())))"
    )
    return set(_run(podman, reference, "-c", script, entrypoint="python3").split())


def test_archives_are_oci_layouts(built: dict[str, images.BuiltImage]) -> None:
    assert set(built) == {"pause", "sextant-operator", "sextant-runtime"}
    for image in built.values():
        assert image.archive.is_file()
        assert image.archive.parent == images.cache_dir()
        with tarfile.open(image.archive) as archive:
            names = set(archive.getnames())
            assert {"oci-layout", "index.json"} <= names, image.archive
            layout = archive.extractfile("oci-layout")
            assert layout is not None
            assert json.load(layout)["imageLayoutVersion"] == "1.0.0"
            index = archive.extractfile("index.json")
            assert index is not None
            manifests = json.load(index)["manifests"]
        tags = [m["annotations"]["org.opencontainers.image.ref.name"] for m in manifests]
        assert any(image.reference.endswith(tag) for tag in tags), (image.reference, tags)


def test_a_second_run_reuses_every_archive(built: dict[str, images.BuiltImage]) -> None:
    again = images.ensure_images(print)
    assert all(image.cached for image in again)
    assert [image.archive for image in again] == [built[i.name].archive for i in again]


def test_python_images_run_as_65532_with_oci_labels_and_no_healthcheck(
    podman: images.Podman, built: dict[str, images.BuiltImage]
) -> None:
    for name in ("sextant-runtime", "sextant-operator"):
        info = json.loads(podman.run("image", "inspect", built[name].reference).stdout)[0]
        config = info["Config"]
        assert config["User"] == "65532:65532"
        assert config["Entrypoint"] == ["sextant"]
        assert "Healthcheck" not in config
        labels = config["Labels"]
        assert labels["org.opencontainers.image.title"] == name
        assert labels["org.opencontainers.image.version"] == images.image_version()
        ids = _run(
            podman, built[name].reference, "-c", "import os; print(os.getuid(), os.getgid())",
            entrypoint="python3",
        )  # fmt: skip
        assert ids.split() == ["65532", "65532"]


def test_runtime_image_has_neither_torch_nor_kopf(
    podman: images.Podman, built: dict[str, images.BuiltImage]
) -> None:
    installed = _distributions(podman, built["sextant-runtime"].reference)
    assert {"sextant", "onnxruntime", "mlflow-skinny", "numpy", "pysimdjson"} <= installed
    assert not {"torch", "kopf", "kubernetes", "onnxruntime-gpu"} & installed


def test_operator_image_has_kopf_and_neither_torch_nor_onnxruntime(
    podman: images.Podman, built: dict[str, images.BuiltImage]
) -> None:
    reference = built["sextant-operator"].reference
    installed = _distributions(podman, reference)
    assert {"sextant", "kopf", "kubernetes"} <= installed
    # scipy (rollout analysis) brings numpy; the ML frameworks never come.
    assert not {"torch", "onnxruntime", "onnxruntime-gpu", "mlflow-skinny"} & installed
    help_text = _run(podman, reference, "operator", "--help")
    assert "Usage: sextant operator" in help_text


@pytest.fixture
def served_iris(podman: images.Podman, built: dict[str, images.BuiltImage]) -> Iterator[str]:
    with serving(
        podman,
        built["sextant-runtime"].reference,
        [f"--volume={IRIS}:/models/iris.onnx:ro"],
        ["/models/iris.onnx", "--name", "iris", "--max-batch-size", "8"],
        timeout=60,
    ) as url:
        yield url


def test_runtime_serves_iris_read_only_as_non_root(served_iris: str) -> None:
    measurements = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    body = {
        "inputs": [
            {
                "name": "measurements",
                "shape": [2, 4],
                "datatype": "FP32",
                "data": [v for row in measurements for v in row],
            }
        ]
    }
    response = httpx.post(f"{served_iris}/v2/models/iris/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    assert output["name"] == "probabilities"
    assert output["shape"] == [2, 3]
    assert output["datatype"] == "FP32"
    session = ort.InferenceSession(str(IRIS), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"measurements": np.array(measurements, np.float32)})
    got = np.array(output["data"], np.float32).reshape(2, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert got.argmax(axis=1).tolist() == [0, 2]  # setosa, virginica
    metrics = httpx.get(f"{served_iris}/metrics", timeout=5).text
    assert "sextant" in metrics


def test_runtime_image_decodes_a_large_json_body_with_simdjson(served_iris: str) -> None:
    # 200 rows as x.tolist() gives them: a body over jsonbody's 2 KiB, read as rows.
    rows = np.random.default_rng(7).uniform(0.1, 8.0, (200, 4)).astype(np.float32)
    entry = {"name": "measurements", "shape": [200, 4], "datatype": "FP32", "data": rows.tolist()}
    content = json.dumps({"inputs": [entry]}).encode()
    assert len(content) > jsonbody._SIMDJSON_FROM_BYTES
    response = httpx.post(
        f"{served_iris}/v2/models/iris/infer",
        content=content,
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    session = ort.InferenceSession(str(IRIS), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"measurements": rows})
    got = np.array(response.json()["outputs"][0]["data"], np.float32).reshape(200, 3)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_pause_image_exits_zero_on_sigterm(
    podman: images.Podman, built: dict[str, images.BuiltImage]
) -> None:
    name = f"sextant-test-pause-{free_port()}"
    podman.run(
        "run", "--detach", "--pull=never", f"--name={name}", "--network=none",
        "--read-only", images.PAUSE_IMAGE,
    )  # fmt: skip
    try:
        state = json.loads(podman.run("inspect", name).stdout)[0]["State"]
        assert state["Running"], state
        podman.run("kill", "--signal=TERM", name)
        podman.run("wait", name)
        state = json.loads(podman.run("inspect", name).stdout)[0]["State"]
        assert state["ExitCode"] == 0, state
    finally:
        podman.run("rm", "--force", name, check=False)
    info = json.loads(podman.run("image", "inspect", images.PAUSE_IMAGE).stdout)[0]
    assert info["Config"]["Entrypoint"] == ["/pause"]
    assert info["Size"] < 5_000_000
