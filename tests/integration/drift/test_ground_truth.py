"""Ground truth on a real runtime and a real Redis: labels posted later by request id are
stored next to the prediction log, bad labels are refused with a message that names the
field, and `sextant drift check` reports performance over the labelled rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from click.testing import CliRunner

from sextant.cli import main
from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from sextant_runtime.groundtruth import labels_key, read_labels
from sextant_runtime.predictionlog import ids_key
from tests.integration.runtime.conftest import RuntimeServer
from tests.polling import wait_for

IRIS = Path(__file__).resolve().parents[3] / "examples" / "models" / "iris.onnx"
SETOSA, VERSICOLOR, VIRGINICA = [5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.2, 1.3], [7.7, 3.0, 6.1, 2.3]


def _row(*rows: list[float]) -> list[dict[str, object]]:
    data = [v for row in rows for v in row]
    return [{"name": "measurements", "shape": [len(rows), 4], "datatype": "FP32", "data": data}]


@pytest.fixture
def started() -> Iterator[list[RuntimeServer]]:
    servers: list[RuntimeServer] = []
    yield servers
    for server in servers:
        server.stop()


def _serve(
    tmp_path: Path, started: list[RuntimeServer], name: str, log_url: str | None
) -> RuntimeServer:
    args = []
    if log_url is not None:
        args = ["--prediction-log-url", log_url, "--prediction-log-sample-rate", "1.0"]
    server = RuntimeServer(tmp_path, IRIS, name, args, None)
    started.append(server)
    server.start()
    return server


def _label(server: RuntimeServer, body: object) -> httpx.Response:
    url = f"{server.url}/v2/models/{server.name}/ground-truth"
    return httpx.post(url, content=json.dumps(body), timeout=10)


def _logged_id(server: RuntimeServer, redis_url: str, *rows: list[float]) -> tuple[str, list[int]]:
    """Infer, wait until the request is in the log; (request id, predicted class per row)."""
    response = server.infer(_row(*rows))
    assert response.status_code == 200, response.text
    request_id = response.headers["sextant-request-id"]
    client = redis.Redis.from_url(redis_url)
    member = f"{request_id}:{len(rows)}"
    wait_for(lambda: client.zscore(ids_key(server.name), member) is not None,
             timeout=10, what="the request id in the log's index")  # fmt: skip
    [output] = response.json()["outputs"]
    scores = np.asarray(output["data"]).reshape(len(rows), -1)
    return request_id, scores.argmax(axis=1).tolist()


def test_labels_are_stored_by_request_id_and_the_check_reports_performance(
    redis_server: LocalRedis, tmp_path: Path, started: list[RuntimeServer]
) -> None:
    server = _serve(tmp_path, started, "iris-truth", redis_server.url)
    requests = [_logged_id(server, redis_server.url, row) for row in
                (SETOSA, VERSICOLOR, VIRGINICA, SETOSA)]  # fmt: skip
    two_rows, two_predicted = _logged_id(server, redis_server.url, SETOSA, VIRGINICA)
    # The truth: the first three predictions right, the fourth wrong, the pair as it is.
    labels = [{"id": rid, "label": classes[0]} for rid, classes in requests[:3]]
    labels.append({"id": requests[3][0], "label": (requests[3][1][0] + 1) % 3})
    labels.append({"id": two_rows, "label": [0, 2]})
    response = _label(server, {"labels": labels})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 5}
    stored = read_labels(redis_server.url, labels_key("iris-truth"))
    assert stored[two_rows] == [0, 2]

    reference = tmp_path / "ref.parquet"
    rng = np.random.default_rng(1)
    pq.write_table(pa.table({f"measurements_{i}": rng.normal(4, 2, 300) for i in range(4)}),
                   reference)  # fmt: skip
    args = ["drift", "check", "-r", str(reference), "--redis-url", redis_server.url,
            "--model", "iris-truth", "--window", "100"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    performance = json.loads(result.stdout)["performance"]
    assert performance["task"] == "classification"
    assert performance["prediction"] == "probabilities"
    assert performance["sampleSize"] == 6  # 4 one-row requests + 2 rows
    assert performance["windowRows"] == 6
    assert performance["average"] == "macro"
    right = 3 + sum(p == t for p, t in zip(two_predicted, [0, 2], strict=True))
    assert performance["metrics"]["accuracy"] == pytest.approx(right / 6)


def test_bad_labels_are_refused_by_field_and_nothing_is_stored(
    redis_server: LocalRedis, tmp_path: Path, started: list[RuntimeServer]
) -> None:
    server = _serve(tmp_path, started, "iris-badtruth", redis_server.url)
    known, _ = _logged_id(server, redis_server.url, SETOSA)
    cases = [
        (b"not json", 400, "not JSON"),
        ({"label": 1}, 400, '{"labels"'),
        ({"labels": [{"id": known, "label": "setosa"}]}, 400, "labels[0].label must be a number"),
        ({"labels": [{"id": known, "label": True}]}, 400, "labels[0].label must be a number"),
        ({"labels": [{"id": known, "label": {"a": 1}}]}, 400, "labels[0].label"),
        ({"labels": [{"id": 7, "label": 1}]}, 400, "labels[0].id"),
        ({"labels": [{"id": known}]}, 400, "labels[0].label is missing"),
        ({"labels": [{"id": known, "label": 0}, {"id": "nope-1", "label": 1}]}, 404, "nope-1"),
        ({"labels": [{"id": known, "label": [0, 1]}]}, 404, f"{known} (2 rows)"),
    ]
    url = f"{server.url}/v2/models/{server.name}/ground-truth"
    for body, status, message in cases:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        response = httpx.post(url, content=content, timeout=10)
        assert response.status_code == status, (body, response.text)
        assert message in response.json()["error"], (body, response.text)
    assert httpx.get(url, timeout=10).status_code == 405
    assert redis.Redis.from_url(redis_server.url).xlen(labels_key("iris-badtruth")) == 0
    assert server.infer(_row(SETOSA)).status_code == 200  # still serving


def test_unsampled_requests_get_no_id_and_a_runtime_without_the_log_says_why(
    tmp_path: Path, started: list[RuntimeServer]
) -> None:
    server = _serve(tmp_path, started, "iris-nolog", None)
    response = server.infer(_row(SETOSA))
    assert "sextant-request-id" not in response.headers
    labelled = _label(server, {"labels": [{"id": "x-1", "label": 0}]})
    assert labelled.status_code == 404
    assert "prediction log, which is off here" in labelled.json()["error"]


def test_a_redis_outage_is_a_503_for_labels_while_inference_goes_on(
    tmp_path: Path, started: list[RuntimeServer]
) -> None:
    down = f"redis://127.0.0.1:{free_port()}/0"
    server = _serve(tmp_path, started, "iris-truthdown", down)
    response = server.infer(_row(SETOSA))
    assert response.status_code == 200
    labelled = _label(server, {"labels": [{"id": response.headers["sextant-request-id"],
                                           "label": 0}]})  # fmt: skip
    assert labelled.status_code == 503
    assert "Redis" in labelled.json()["error"]
    assert server.infer(_row(SETOSA)).status_code == 200
