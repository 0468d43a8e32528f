"""FeatureView materialization on the real node: the operator's Jobs really run `sextant
materialize` from the runtime image, Redis holds the features, status reports the runs.

The source is a parquet file served over HTTP on the host address pods reach, and Redis
listens there too. The first run is the one the operator starts at creation; the next
ones are started as `kubectl create job --from=cronjob/...` does, instead of waiting for
the schedule. Last, a request through a ModelDeployment's Service is enriched with what
the runs wrote.
"""

from __future__ import annotations

import json
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
from sextant_operator.featureview.render import cronjob_name, initial_job_name
from sextant_runtime.features.layout import entity_key
from tests.e2e.conftest import ModelFiles
from tests.e2e.workloads import apply, cpu_model_deployment, wait_ready
from tests.integration.features.feature_model import concat_model

NAMESPACE = "e2e-featureview"
NAME = "user-features"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def pod_redis(real_kube: KubeAccess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """redis-server on the host address that the jobs and the operator reach."""
    workdir = tmp_path_factory.mktemp("featureview-redis")
    port = free_port()
    server = ManagedProcess(
        "featureview-redis",
        [require_executable("redis-server", "run `make setup`"), "--bind", API_ADDRESS,
         "--port", str(port), "--protected-mode", "no", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        log_path=workdir / "redis.log",
    )  # fmt: skip
    url = f"redis://{API_ADDRESS}:{port}/0"
    with server:
        server.wait_until(lambda: bool(redis.Redis.from_url(url).ping()), 15, "answering PING")
        yield url


def write_users(path: Path, rows: list[tuple[str, float, int, float]]) -> None:
    """(user_id, minutes ago, age, ltv) rows."""
    users, minutes, ages, ltvs = zip(*rows, strict=True)
    pq.write_table(pa.table({
        "user_id": list(users),
        "event_timestamp": pa.array([NOW - timedelta(minutes=m) for m in minutes],
                                    pa.timestamp("us", tz="UTC")),
        "age": pa.array(ages, pa.int64()),
        "ltv": pa.array(ltvs, pa.float64()),
    }), path)  # fmt: skip


def feature_view(source_uri: str, redis_url: str) -> dict[str, Any]:
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "FeatureView",
        "metadata": {"name": NAME, "namespace": NAMESPACE},
        "spec": {
            "entities": [{"name": "user_id", "dtype": "string"}],
            "features": [{"name": "age", "dtype": "int64"}, {"name": "ltv", "dtype": "float64"}],
            "source": {"uri": source_uri, "format": "parquet"},
            "ttl": "24h",
            "online": {"redisUrl": redis_url},
            "materialization": {"schedule": "0 0 1 1 *"},  # runs are started here
        },
    }


def view_status(kube: KubeAccess) -> dict[str, Any]:
    out = kube.kubectl("get", "featureview", NAME, "-n", NAMESPACE, "-o", "json").stdout
    found: dict[str, Any] = json.loads(out).get("status") or {}
    return found


def ready(found: dict[str, Any]) -> dict[str, Any]:
    return next((c for c in found.get("conditions") or [] if c["type"] == "Ready"), {})


def wait_for_run(
    kube: KubeAccess, job: str, after: str | None, timeout: float = 300
) -> dict[str, Any]:
    """Status once it reports a run newer than `after`; fails with the Job's logs."""
    deadline = time.monotonic() + timeout
    found: dict[str, Any] = {}
    while time.monotonic() < deadline:
        found = view_status(kube)
        last = (found.get("lastMaterialization") or {}).get("time")
        if last and last != after and ready(found).get("status") == "True":
            return found
        if ready(found).get("reason") in ("SourceUnavailable", "RedisUnavailable"):
            break
        time.sleep(2)
    logs = kube.kubectl("logs", f"job/{job}", "-n", NAMESPACE, check=False)
    raise AssertionError(f"no run of {job} in status: {found}\n{logs.stdout}{logs.stderr}")


def online(redis_url: str, user: str) -> dict[bytes, bytes]:
    with redis.Redis.from_url(redis_url) as client:
        values: dict[bytes, bytes] = client.hgetall(entity_key(NAMESPACE, NAME, [user]))
        return values


def test_the_cronjobs_runs_materialize_the_source_into_redis_and_status(
    real_kube: KubeAccess,
    sextant_release: str,
    model_files: ModelFiles,
    pod_redis: str,
) -> None:
    source = model_files.folder / "users.parquet"
    write_users(source, [("a", 30, 30, 1.5), ("a", 10, 31, 2.5), ("b", 5, 40, 3.0)])
    real_kube.kubectl("create", "namespace", NAMESPACE)
    apply(real_kube, feature_view(model_files.uri("users.parquet"), pod_redis))

    # The run the operator starts at creation, on the real node.
    found = wait_for_run(real_kube, initial_job_name(NAME), None)
    first = found["lastMaterialization"]
    assert (first["rows"], first["entities"]) == (3, 2)
    assert found["onlineEntities"] == 2
    assert online(pod_redis, "a")[b"age"] == b"31"
    assert online(pod_redis, "b")[b"ltv"] == b"3.0"

    # New rows for b and c; a run of the CronJob reads only what is past the watermark.
    write_users(source, [("a", 10, 31, 2.5), ("b", 5, 40, 3.0), ("b", 1, 41, 4.0),
                         ("c", 2, 50, 5.0)])  # fmt: skip
    job = "user-features-by-hand"
    real_kube.kubectl("create", "job", job, f"--from=cronjob/{cronjob_name(NAME)}",
                      "-n", NAMESPACE)  # fmt: skip
    found = wait_for_run(real_kube, job, first["time"])
    second = found["lastMaterialization"]
    assert (second["rows"], second["entities"]) == (2, 2)
    assert second["watermark"] > first["watermark"]
    assert found["onlineEntities"] == 3
    assert online(pod_redis, "b")[b"age"] == b"41"
    assert online(pod_redis, "c")[b"ltv"] == b"5.0"
    assert online(pod_redis, "a")[b"age"] == b"31"  # untouched

    # Two shards: an Indexed Job of two pods, each with a watermark of its own (so each
    # reads its share of every row within ttl), summed in status.
    sharded = feature_view(model_files.uri("users.parquet"), pod_redis)
    sharded["spec"]["materialization"]["parallelism"] = 2
    apply(real_kube, sharded)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        mode = "jsonpath={.spec.jobTemplate.spec.completionMode}"
        out = real_kube.kubectl("get", "cronjob", cronjob_name(NAME), "-n", NAMESPACE, "-o", mode)
        if out.stdout == "Indexed":
            break
        time.sleep(1)
    job = "user-features-sharded"
    real_kube.kubectl("create", "job", job, f"--from=cronjob/{cronjob_name(NAME)}",
                      "-n", NAMESPACE)  # fmt: skip
    found = wait_for_run(real_kube, job, second["time"])
    third = found["lastMaterialization"]
    assert (third["rows"], third["entities"]) == (4, 3)
    pods = real_kube.kubectl("get", "pods", "-n", NAMESPACE, "-l", f"job-name={job}",
                             "-o", "json").stdout  # fmt: skip
    indexes = {
        p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
        for p in json.loads(pods)["items"]
    }
    assert indexes == {"0", "1"}

    # A model reading this FeatureView: a request through its Service carries only user_id
    # and is enriched with what the runs above wrote.
    concat_model(model_files.folder / "scorer.onnx", ["age", "ltv", "amount"])
    scorer = cpu_model_deployment("scorer", NAMESPACE, model_files.uri("scorer.onnx"), 1)
    scorer["spec"]["features"] = {"featureView": NAME, "entityInput": "user_id"}
    apply(real_kube, scorer)
    wait_ready(real_kube, "scorer", NAMESPACE)
    response = httpx.post(
        f"{service_url(real_kube, 'scorer', NAMESPACE)}/v2/models/scorer/infer",
        json={"inputs": [
            {"name": "user_id", "shape": [3], "datatype": "BYTES", "data": ["b", "c", "zed"]},
            {"name": "amount", "shape": [3, 1], "datatype": "FP32", "data": [1.0, 2.0, 3.0]},
        ]},
        timeout=30,
        trust_env=False,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    # b's and c's features as materialized by the Jobs; zed never was: zeros (default).
    assert response.json()["outputs"][0]["data"] == [41.0, 4.0, 1.0, 50.0, 5.0, 2.0, 0, 0, 3.0]
