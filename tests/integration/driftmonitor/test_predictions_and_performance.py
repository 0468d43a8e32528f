"""Prediction drift and ground-truth performance from a real runtime's log to a
DriftMonitor's status: a real `sextant serve` logs to the real Redis and takes labels, the
check runs with the very arguments of the operator's CronJob, and the real operator copies
the result into status.lastCheck (the prediction column and `performance`) and exports
`sextant_drift_performance`."""

from __future__ import annotations

import json
import uuid
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
from sextant.devenv.cluster import KubeAccess
from sextant.devenv.redis import LocalRedis
from sextant_operator.driftmonitor import contract
from sextant_runtime.predictionlog import ids_key
from tests.integration.driftmonitor.test_driftmonitor import (
    CRONJOB,
    MODEL_A,
    apply_dm,
    dm_condition,
    md_spec,
)
from tests.integration.operator.kubeobjects import apply_md, get
from tests.integration.runtime.conftest import RuntimeServer
from tests.polling import wait_for

IRIS = Path(__file__).resolve().parents[3] / "examples" / "models" / "iris.onnx"
SETOSA, VIRGINICA = [5.1, 3.5, 1.4, 0.2], [7.7, 3.0, 6.1, 2.3]


@pytest.fixture
def iris(redis_server: LocalRedis, tmp_path: Path, dm_namespace: str) -> Iterator[RuntimeServer]:
    """The runtime as the operator renders it: its Redis keys scoped by the namespace."""
    name = f"iris-{uuid.uuid4().hex[:6]}"
    args = ["--prediction-log-url", redis_server.url, "--prediction-log-sample-rate", "1.0",
            "--namespace", dm_namespace]  # fmt: skip
    server = RuntimeServer(tmp_path, IRIS, name, args, None)
    server.start()
    yield server
    server.stop()


def _traffic(server: RuntimeServer, redis_url: str, namespace: str) -> list[tuple[str, int]]:
    """20 virginica and 10 setosa rows, one request each: (request id, predicted class)."""
    sent: list[tuple[str, int]] = []
    for row in [VIRGINICA] * 20 + [SETOSA] * 10:
        tensor = {"name": "measurements", "shape": [1, 4], "datatype": "FP32", "data": row}
        response = server.infer([tensor])
        assert response.status_code == 200, response.text
        [output] = response.json()["outputs"]
        sent.append((response.headers["sextant-request-id"], int(np.argmax(output["data"]))))
    client = redis.Redis.from_url(redis_url)
    wait_for(lambda: client.zcard(ids_key(f"{namespace}/{server.name}")) == len(sent), timeout=10,
             what="every request in the log")  # fmt: skip
    return sent


@pytest.mark.usefixtures("drift_operator")
def test_the_logs_predictions_drift_and_labels_give_performance_in_status(
    *,
    kube: KubeAccess,
    redis_server: LocalRedis,
    metrics_port: int,
    dm_namespace: str,
    iris: RuntimeServer,
    tmp_path: Path,
) -> None:
    ns, model = dm_namespace, iris.name
    sent = _traffic(iris, redis_server.url, dm_namespace)
    # Labels arrive later: the first 24 predictions were right, the last 6 wrong.
    labels = [{"id": rid, "label": predicted if i < 24 else (predicted + 1) % 3}
              for i, (rid, predicted) in enumerate(sent)]  # fmt: skip
    response = httpx.post(f"{iris.url}/v2/models/{model}/ground-truth",
                          json={"labels": labels}, timeout=10)  # fmt: skip
    assert response.json() == {"accepted": 30}

    # Training data: iris measurements, and the model mostly predicting class 0 (setosa).
    rng = np.random.default_rng(3)
    reference = tmp_path / "train.parquet"
    columns: dict[str, np.ndarray] = {
        f"measurements_{i}": rng.normal(v, 0.3, 300) for i, v in enumerate(SETOSA)
    }
    columns["prediction"] = rng.choice(3, 300, p=[0.8, 0.1, 0.1])
    pq.write_table(pa.table(columns), reference)

    apply_md(kube, ns, model, md_spec(MODEL_A))
    spec = {"target": {"modelDeployment": model}, "reference": {"uri": f"file://{reference}"},
            "features": [], "predictions": True, "window": {"size": 100},
            "performance": {"task": "classification"}}  # fmt: skip
    apply_dm(kube, ns, **spec)
    dm_condition(kube, ns, "Ready", "Scheduled")
    cronjob = get(kube, ns, "cronjob", CRONJOB) or {}
    [container] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]

    # What the Job's container runs, here: the CronJob's own arguments, the job name in
    # place of the variable the kubelet expands.
    args = [a.replace(f"$({contract.JOB_NAME_ENV})", "check-1") for a in container["args"]]
    run = CliRunner().invoke(main, args)
    assert run.exit_code == 0, run.output
    kube.kubectl("create", "job", "check-1", f"--from=cronjob/{CRONJOB}", "-n", ns)

    dm = dm_condition(kube, ns, "Drifted", "DatasetDrift")
    last = dm["status"]["lastCheck"]
    assert "NotImplemented" not in {c["type"] for c in dm["status"]["conditions"]}
    prediction = next(f for f in last["features"] if f["name"] == "prediction")
    assert (prediction["test"], prediction["drifted"], prediction["role"]) == (
        "chisquare",
        True,
        "prediction",
    )
    assert all("role" not in f for f in last["features"] if f["name"] != "prediction")
    assert len(last["features"]) == 5  # four measurements and the prediction
    performance = last["performance"]
    assert (performance["task"], performance["prediction"], performance["sampleSize"]) == (
        "classification",
        "probabilities",
        30,
    )
    assert performance["metrics"]["accuracy"] == pytest.approx(0.8)
    assert set(performance["metrics"]) == {"accuracy", "precision", "recall", "f1"}
    text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    labels_ = f'metric="accuracy",monitor="fraud-drift",namespace="{ns}"'
    assert f"sextant_drift_performance{{{labels_}}} 0.8" in text
    stored = json.loads(redis.Redis.from_url(redis_server.url).get(
        contract.result_key(ns, "fraud-drift", "check-1")) or b"{}")  # fmt: skip
    assert next(f for f in stored["features"] if f["name"] == "prediction")["role"] == "prediction"
