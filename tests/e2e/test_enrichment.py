"""Online enrichment on the real node: a ModelDeployment with spec.features reads its
FeatureView's values from Redis, and a request through its Service carries only user_id.

Redis listens on the host address pods reach; `materialize` seeds it from the host. The
ModelDeployment is applied before its FeatureView exists: it waits (FeaturesResolved
False, FeatureViewNotFound), then serves once the FeatureView is created.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.cluster.realnode.config import API_ADDRESS
from sextant.devenv.demo import service_url
from sextant.devenv.process import ManagedProcess, free_port, require_executable
from sextant_runtime.features import Column, View, materialize
from tests.e2e.conftest import ModelFiles
from tests.e2e.workloads import apply, cpu_model_deployment, wait_ready
from tests.integration.features.feature_model import concat_model

NAMESPACE = "e2e-features"
NAME = "scorer"


@pytest.fixture(scope="module")
def host_redis(real_kube: KubeAccess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """redis-server on the host address pods reach (no persistence)."""
    workdir = tmp_path_factory.mktemp("features-redis")
    port = free_port()
    server = ManagedProcess(
        "redis-server",
        [
            require_executable("redis-server", "run `make setup`"),
            "--bind", API_ADDRESS, "--port", str(port), "--protected-mode", "no",
            "--dir", str(workdir), "--save", "", "--appendonly", "no",
        ],
        log_path=workdir / "redis.log",
    )  # fmt: skip
    url = f"redis://{API_ADDRESS}:{port}/0"

    def answers() -> bool:
        with redis.Redis.from_url(url, socket_timeout=1) as client:
            return bool(client.ping())

    with server:
        server.wait_until(answers, 20, what="answering PING")
        yield url


def _condition(kube: KubeAccess, kind: str, name: str, type_: str) -> dict[str, Any] | None:
    out = kube.kubectl("get", kind, name, "-n", NAMESPACE, "-o", "json").stdout
    conditions = (json.loads(out).get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), None)


def test_requests_through_the_service_are_enriched_from_redis(
    real_kube: KubeAccess,
    sextant_release: str,
    model_files: ModelFiles,
    host_redis: str,
    tmp_path: Path,
) -> None:
    model = concat_model(tmp_path / "scorer.onnx", ["age", "ltv", "amount"])
    shutil.copy(model, model_files.folder / "scorer.onnx")
    source = tmp_path / "users.parquet"
    now = datetime.now(UTC)
    pq.write_table(pa.table({
        "user_id": ["alice", "bob"],
        "event_timestamp": pa.array([now - timedelta(minutes=3), now - timedelta(minutes=1)]),
        "age": pa.array([34, 58], pa.int64()),
        "ltv": pa.array([120.5, 8.25], pa.float64()),
    }), source)  # fmt: skip
    view = View(
        name="users",
        namespace=NAMESPACE,
        entities=(Column("user_id", "string"),),
        features=(Column("age", "int64"), Column("ltv", "float64")),
        source_uri=str(source),
        ttl=timedelta(hours=1),
    )
    with redis.Redis.from_url(host_redis) as client:
        assert materialize(view, client, until=now).entities == 2

    real_kube.kubectl("create", "namespace", NAMESPACE)
    manifest = cpu_model_deployment(NAME, NAMESPACE, model_files.uri("scorer.onnx"), replicas=1)
    manifest["spec"]["features"] = {"featureView": "users", "entityInput": "user_id"}
    apply(real_kube, manifest)
    # No FeatureView yet: the ModelDeployment says so and renders no runtime.
    deadline = time.monotonic() + 60
    while (found := _condition(real_kube, "modeldeployment", NAME, "FeaturesResolved")) is None:
        assert time.monotonic() < deadline, "no FeaturesResolved condition"
        time.sleep(1)
    assert (found["status"], found["reason"]) == ("False", "FeatureViewNotFound")

    apply(real_kube, {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "FeatureView",
        "metadata": {"name": "users", "namespace": NAMESPACE},
        "spec": {
            "entities": [{"name": "user_id", "dtype": "string"}],
            "features": [{"name": "age", "dtype": "int64"}, {"name": "ltv", "dtype": "float64"}],
            "source": {"uri": "file:///data/users.parquet"},
            "ttl": "1h",
            "online": {"redisUrl": host_redis},
        },
    })  # fmt: skip
    wait_ready(real_kube, NAME, NAMESPACE)
    resolved = _condition(real_kube, "modeldeployment", NAME, "FeaturesResolved")
    assert resolved is not None
    assert resolved["status"] == "True"

    url = service_url(real_kube, NAME, NAMESPACE)
    response = httpx.post(
        f"{url}/v2/models/{NAME}/infer",
        json={"inputs": [
            {"name": "user_id", "shape": [3], "datatype": "BYTES", "data": ["bob", "alice", "eve"]},
            {"name": "amount", "shape": [3, 1], "datatype": "FP32", "data": [1.0, 2.0, 3.0]},
        ]},
        timeout=30,
        trust_env=False,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    assert output["shape"] == [3, 3]
    # bob's and alice's features from Redis; eve was never materialized: zeros (default).
    assert output["data"] == [58.0, 8.25, 1.0, 34.0, 120.5, 2.0, 0.0, 0.0, 3.0]
