"""Online enrichment in a real `sextant serve` against a real Redis seeded by `materialize`.

The model's inputs are features (age, ltv) and one request input (amount); its output is
its inputs side by side, so every answer shows exactly what enrichment fed the model.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from sextant.devenv.redis import LocalRedis
from sextant_runtime.features import Column, View, materialize
from sextant_runtime.features.online import OnlineFeatures
from tests.integration.features.feature_model import concat_model
from tests.integration.runtime.conftest import RuntimeServer, Serve, _serve_factory

NOW = datetime.now(UTC).replace(microsecond=0)  # set again as each test starts (conftest)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    yield from _serve_factory(tmp_path)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return concat_model(tmp_path_factory.mktemp("model") / "m.onnx", ["age", "ltv", "amount"])


def _view(source: Path, redis_url: str, ttl: timedelta | None = timedelta(hours=1)) -> View:
    return View(
        name="users",
        namespace=f"t{uuid.uuid4().hex[:10]}",
        entities=(Column("user_id", "string"),),
        features=(Column("age", "int64"), Column("ltv", "float64"), Column("tier", "string")),
        source_uri=str(source),
        ttl=ttl,
        redis_url=redis_url,
    )


def _seed(
    view: View, client: redis.Redis, rows: list[tuple[str, datetime, int, float | None]]
) -> None:
    ids, times, ages, ltvs = zip(*rows, strict=True)
    pq.write_table(pa.table({
        "user_id": list(ids),
        "event_timestamp": pa.array(times, pa.timestamp("us", tz="UTC")),
        "age": pa.array(ages, pa.int64()),
        "ltv": pa.array(ltvs, pa.float64()),
        "tier": ["gold"] * len(ids),
    }), view.source_uri)  # fmt: skip
    materialize(view, client, until=datetime.now(UTC))


def _features(view: View, on_missing: str = "default") -> str:
    assert view.redis_url is not None
    return OnlineFeatures(
        namespace=view.namespace,
        view=view.name,
        redis_url=view.redis_url,
        entity_input="user_id",
        entity=view.entities[0],
        features=view.features,
        on_missing=on_missing,  # type: ignore[arg-type]
    ).to_json()


def _request(server: RuntimeServer, ids: list[str], amounts: list[float]) -> httpx.Response:
    return server.infer([
        {"name": "user_id", "shape": [len(ids)], "datatype": "BYTES", "data": ids},
        {"name": "amount", "shape": [len(ids), 1], "datatype": "FP32", "data": amounts},
    ])  # fmt: skip


def _rows(response: httpx.Response) -> list[list[float]]:
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    width = output["shape"][1]
    data = output["data"]
    return [data[i : i + width] for i in range(0, len(data), width)]


def _metrics(server: RuntimeServer) -> dict[str, float]:
    text = httpx.get(f"{server.url}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.startswith("sextant_feature_") and "le" not in sample.labels:
                out[sample.name] = sample.value
    return out


@pytest.fixture
def client(redis_server: LocalRedis) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_server.url) as connection:
        yield connection


def test_requests_carry_the_entity_key_and_the_model_gets_its_features(
    serve: Serve, model: Path, client: redis.Redis, redis_server: LocalRedis, tmp_path: Path
) -> None:
    view = _view(tmp_path / "users.parquet", redis_server.url)
    minute = timedelta(minutes=1)
    _seed(view, client, [
        ("u1", NOW - 30 * minute, 30, 10.0),
        ("u1", NOW - 5 * minute, 31, 12.5),   # the latest row wins
        ("u2", NOW - 2 * minute, 47, None),   # a null feature: default policy gives 0
    ])  # fmt: skip
    server = serve(model, env={"SEXTANT_FEATURES": _features(view)})

    rows = _rows(_request(server, ["u1", "u2", "ghost"], [1.5, 2.5, 3.5]))

    assert rows == [[31.0, 12.5, 1.5], [47.0, 0.0, 2.5], [0.0, 0.0, 3.5]]
    metadata = httpx.get(f"{server.url}/v2/models/model", timeout=5).json()
    assert [i["name"] for i in metadata["inputs"]] == ["user_id", "amount"]
    metrics = _metrics(server)
    assert metrics["sextant_feature_lookup_duration_seconds_count"] == 1
    assert metrics["sextant_feature_missing_entities_total"] == 1
    assert metrics["sextant_feature_lookup_errors_total"] == 0
    # Features come from the online store only: sending one inline is a mistake.
    inline = server.infer([
        {"name": "user_id", "shape": [1], "datatype": "BYTES", "data": ["u1"]},
        {"name": "amount", "shape": [1, 1], "datatype": "FP32", "data": [1.0]},
        {"name": "age", "shape": [1, 1], "datatype": "FP32", "data": [99.0]},
    ])  # fmt: skip
    assert inline.status_code == 400
    assert "unknown input 'age'" in inline.json()["error"]


def test_concurrent_requests_each_get_their_own_entities(
    serve: Serve, model: Path, client: redis.Redis, redis_server: LocalRedis, tmp_path: Path
) -> None:
    view = _view(tmp_path / "users.parquet", redis_server.url)
    _seed(view, client, [(f"u{i}", NOW - timedelta(seconds=i), i, i / 4) for i in range(200)])
    server = serve(model, "--max-batch-size", "16", env={"SEXTANT_FEATURES": _features(view)})

    def one(i: int) -> tuple[int, list[list[float]]]:
        return i, _rows(_request(server, [f"u{i}"], [float(-i)]))

    from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(one, range(200)))

    for i, rows in answers:
        assert rows == [[float(i), i / 4, float(-i)]]


def test_reject_policy_answers_404_naming_the_entity_and_expired_entities_count_as_missing(
    serve: Serve, model: Path, client: redis.Redis, redis_server: LocalRedis, tmp_path: Path
) -> None:
    view = _view(tmp_path / "users.parquet", redis_server.url, ttl=timedelta(seconds=6))
    server = serve(model, env={"SEXTANT_FEATURES": _features(view, "reject")})
    # u-old's value is 3 s old: its key expires 3 s from now (event time + ttl).
    _seed(view, client, [
        ("u-old", datetime.now(UTC) - timedelta(seconds=3), 1, 1.0),
        ("u-new", datetime.now(UTC), 2, 2.0),
    ])  # fmt: skip
    assert _rows(_request(server, ["u-old", "u-new"], [0.0, 0.0])) == [
        [1.0, 1.0, 0.0],
        [2.0, 2.0, 0.0],
    ]

    time.sleep(3.5)
    response = _request(server, ["u-new", "u-old"], [0.0, 0.0])

    assert response.status_code == 404
    error = response.json()["error"]
    assert "user_id='u-old'" in error
    assert f"{view.namespace}/users" in error
    assert "expired" in error
    unknown = _request(server, ["nobody"], [0.0])
    assert unknown.status_code == 404
    assert "user_id='nobody'" in unknown.json()["error"]


def test_redis_down_answers_503_keeps_serving_and_recovers(
    serve: Serve, model: Path, tmp_path: Path
) -> None:
    store = LocalRedis(tmp_path / "redis")
    store.start()
    try:
        with redis.Redis.from_url(store.url) as client:
            view = _view(tmp_path / "users.parquet", store.url)
            _seed(view, client, [("u1", NOW, 5, 0.5)])
        server = serve(model, env={"SEXTANT_FEATURES": _features(view)})
        assert _rows(_request(server, ["u1"], [1.0])) == [[5.0, 0.5, 1.0]]

        store.stop()
        down = _request(server, ["u1"], [1.0])

        assert down.status_code == 503
        assert f"FeatureView {view.namespace}/users" in down.json()["error"]
        assert "did not answer" in down.json()["error"]
        assert httpx.get(f"{server.url}/v2/health/ready", timeout=5).status_code == 200
        assert _metrics(server)["sextant_feature_lookup_errors_total"] == 1

        store.start()  # same port, empty (no persistence): the entity is now missing
        assert _rows(_request(server, ["u1"], [1.0])) == [[0.0, 0.0, 1.0]]
    finally:
        store.stop()


def test_a_model_that_does_not_fit_the_view_fails_to_start_with_a_clear_log(
    serve: Serve, tmp_path: Path, redis_server: LocalRedis
) -> None:
    other = concat_model(tmp_path / "other.onnx", ["x"])
    view = _view(tmp_path / "users.parquet", redis_server.url)
    server = serve(other, env={"SEXTANT_FEATURES": _features(view)}, wait=False)
    deadline = time.monotonic() + 60
    while server.process.exited() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert server.process.exited() == 1
    assert "no input of the model is a feature of FeatureView" in server.log()
