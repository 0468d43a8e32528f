"""A FeatureView whose source is in S3 (the real local versitygw): the operator renders
spec.source.s3 into the materialization CronJob, and that job's command, run with exactly
the env its pod would get (Secret keys resolved from the real API server), reads the table
from the bucket into Redis; status follows from what it wrote.

The local cluster's kwok nodes run no containers, so the job's container is run here as
a process, with nothing from this test's environment but PATH."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import redis

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.redis import LocalRedis
from sextant.devenv.s3 import LocalS3
from sextant_operator.featureview.render import MANIFEST_ANNOTATION
from sextant_runtime.features import layout
from tests.integration.featureview.data import NAME, manifest, write_users
from tests.integration.featureview.test_reconcile import apply, view_when
from tests.integration.operator.kubeobjects import condition, get
from tests.polling import wait_for

BUCKET = "feature-sources"
KEY = "users/part-0.parquet"
SECRET = "s3-keys"


@pytest.fixture(scope="module")
def s3(s3_server: LocalS3) -> LocalS3:
    s3_server.create_bucket(BUCKET)
    return s3_server


def _upload(s3: LocalS3, tmp_path: Path) -> str:
    table = pq.read_table(write_users(tmp_path / "users.parquet"))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return s3.put(BUCKET, KEY, sink.getvalue())


def _pod_template(kube: KubeAccess, namespace: str) -> dict[str, Any]:
    def template() -> dict[str, Any] | None:
        cronjob = get(kube, namespace, "cronjob", f"{NAME}-materialize")
        if cronjob is None:
            return None
        found: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]
        return found

    return wait_for(template, timeout=60, what="the materialization CronJob")


def _resolved_env(kube: KubeAccess, namespace: str, env: list[dict[str, Any]]) -> dict[str, str]:
    """The container's env as the kubelet would set it: values, and Secret keys."""
    resolved: dict[str, str] = {}
    for entry in env:
        if "value" in entry:
            resolved[entry["name"]] = entry["value"]
            continue
        ref = entry["valueFrom"]["secretKeyRef"]
        secret = get(kube, namespace, "secret", ref["name"]) or {}
        data = secret.get("data") or {}
        if ref["key"] in data:
            resolved[entry["name"]] = base64.b64decode(data[ref["key"]]).decode()
        else:
            assert ref.get("optional"), f"{ref} missing and not optional"
    return resolved


def _run_job_container(
    kube: KubeAccess, namespace: str, tmp_path: Path
) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    """The CronJob container's command, with the downward-API file and only the env its
    pod would get; returns that env and the finished process."""
    template = _pod_template(kube, namespace)
    [container] = template["spec"]["containers"]
    env = _resolved_env(kube, namespace, container["env"])
    mounted = tmp_path / "featureview.json"
    mounted.write_text(template["metadata"]["annotations"][MANIFEST_ANNOTATION])
    args = [a if a != "/etc/sextant/featureview.json" else str(mounted) for a in container["args"]]
    run = subprocess.run(
        [str(Path(sys.executable).with_name("sextant")), *args],
        env={**env, "PATH": os.environ["PATH"], "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return env, run


@pytest.mark.usefixtures("sextant_operator")
def test_an_s3_source_is_materialized_with_the_settings_the_job_pods_get(
    kube: KubeAccess, redis_server: LocalRedis, s3: LocalS3, namespace: str, tmp_path: Path
) -> None:
    uri = _upload(s3, tmp_path)
    keys = s3.env()
    kube.kubectl(
        "create", "secret", "generic", SECRET, "-n", namespace,
        f"--from-literal=AWS_ACCESS_KEY_ID={keys['AWS_ACCESS_KEY_ID']}",
        f"--from-literal=AWS_SECRET_ACCESS_KEY={keys['AWS_SECRET_ACCESS_KEY']}",
    )  # fmt: skip
    body = manifest(namespace, redis_server.url)
    body["spec"]["source"] = {  # type: ignore[index]
        "uri": uri,
        "s3": {"endpoint": s3.endpoint, "region": keys["AWS_REGION"], "credentialsSecret": SECRET},
    }
    apply(kube, body)

    # Scheduled, not refused: a CronJob and a first run, and no UnsupportedSource.
    fv = view_when(kube, namespace, "Ready", "False", "NotMaterialized")
    assert condition(fv, "SourceUnavailable").get("status") != "True"
    assert get(kube, namespace, "job", f"{NAME}-materialize-initial") is not None

    env, run = _run_job_container(kube, namespace, tmp_path)
    assert env["AWS_ENDPOINT_URL_S3"] == s3.endpoint
    assert env["AWS_ACCESS_KEY_ID"] == keys["AWS_ACCESS_KEY_ID"]
    assert "AWS_SESSION_TOKEN" not in env  # optional, and the Secret has none
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout)
    assert (summary["rows"], summary["entities"]) == (3, 2)  # c is past the 24h ttl

    with redis.Redis.from_url(redis_server.url) as client:
        values = client.hgetall(layout.entity_key(namespace, NAME, ["a"]))
    assert (values[b"age"], values[b"ltv"]) == (b"31", b"2.0")

    fv = view_when(kube, namespace, "Ready", "True", "Materialized")
    assert fv["status"]["onlineEntities"] == 2


@pytest.mark.usefixtures("sextant_operator")
def test_the_same_job_without_the_keys_fails_with_a_message_naming_the_object(
    kube: KubeAccess, redis_server: LocalRedis, s3: LocalS3, namespace: str, tmp_path: Path
) -> None:
    """No credentialsSecret: the pod has no keys, the bucket refuses it, and the job's last
    line (which becomes its termination message, then status) says so."""
    uri = _upload(s3, tmp_path)
    body = manifest(namespace, redis_server.url)
    body["spec"]["source"] = {"uri": uri, "s3": {"endpoint": s3.endpoint}}  # type: ignore[index]
    apply(kube, body)

    env, run = _run_job_container(kube, namespace, tmp_path)
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert run.returncode != 0
    assert f"s3://{BUCKET}/{KEY}" in run.stderr.strip().splitlines()[-1]
