"""The operator turns a FeatureView into a CronJob, a first run, and status from Redis."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis
from tests.integration.featureview.data import NAME, manifest, materialized, write_users
from tests.integration.operator.kubeobjects import condition, get
from tests.polling import wait_for


def apply(kube: KubeAccess, body: dict[str, Any]) -> None:
    kube.kubectl("apply", "-f", "-", input=json.dumps(body))


def view_when(kube: KubeAccess, namespace: str, type_: str, status: str, reason: str) -> Any:
    def check() -> dict[str, Any] | None:
        fv = get(kube, namespace, "featureview", NAME)
        cond = condition(fv, type_)
        current = (
            fv is not None
            and (fv.get("status") or {}).get("observedGeneration") == fv["metadata"]["generation"]
        )
        return (
            fv if current and (cond.get("status"), cond.get("reason")) == (status, reason) else None
        )

    return wait_for(check, timeout=60, what=f"{NAME} {type_}={status} ({reason})")


def event_reasons(kube: KubeAccess, namespace: str) -> set[str]:
    found = get(kube, namespace, "events") or {}
    return {e.get("reason") for e in found.get("items", [])}


def test_a_feature_view_gets_its_cronjob_a_first_run_and_status_from_redis(
    kube: KubeAccess,
    sextant_operator: LocalOperator,
    redis_server: LocalRedis,
    namespace: str,
    tmp_path: Path,
) -> None:
    apply(kube, manifest(namespace, redis_server.url))

    fv = view_when(kube, namespace, "Ready", "False", "NotMaterialized")
    assert "user-features-materialize-initial is running" in condition(fv, "Ready")["message"]
    assert condition(fv, "RedisUnavailable")["status"] == "False"
    cronjob = get(kube, namespace, "cronjob", "user-features-materialize")
    assert cronjob is not None
    assert cronjob["spec"]["schedule"] == "*/5 * * * *"
    assert cronjob["metadata"]["ownerReferences"][0]["uid"] == fv["metadata"]["uid"]
    job = get(kube, namespace, "job", "user-features-materialize-initial")
    assert job is not None
    assert job["spec"]["template"]["spec"]["containers"][0]["args"][0] == "materialize"

    # What the Job's pod does (the local cluster's nodes run no containers): a real run.
    summary = materialized(redis_server.url, namespace, write_users(tmp_path / "users.parquet"))

    fv = view_when(kube, namespace, "Ready", "True", "Materialized")
    last = fv["status"]["lastMaterialization"]
    assert (last["rows"], last["entities"]) == (summary.rows, summary.entities)
    assert fv["status"]["onlineEntities"] == 2
    assert summary.watermark is not None
    assert last["watermark"].startswith(summary.watermark.strftime("%Y-%m-%dT%H:%M:%S"))
    assert "Materialized" in wait_for(
        lambda: event_reasons(kube, namespace) & {"Materialized"}, timeout=30, what="an Event"
    )


def test_parallelism_turns_the_runs_into_indexed_jobs(
    kube: KubeAccess, sextant_operator: LocalOperator, redis_server: LocalRedis, namespace: str
) -> None:
    body = manifest(namespace, redis_server.url)
    body["spec"]["materialization"]["parallelism"] = 3  # type: ignore[index]
    apply(kube, body)

    def indexed() -> dict[str, Any] | None:
        cronjob = get(kube, namespace, "cronjob", "user-features-materialize") or {}
        job = (cronjob.get("spec") or {}).get("jobTemplate", {}).get("spec", {})
        return job if job.get("completionMode") == "Indexed" else None

    job = wait_for(indexed, timeout=60, what="an Indexed Job template")
    assert (job["completions"], job["parallelism"]) == (3, 3)


def test_unreachable_redis_is_a_condition_and_the_view_recovers_when_it_answers(
    kube: KubeAccess,
    sextant_operator: LocalOperator,
    redis_server: LocalRedis,
    namespace: str,
) -> None:
    apply(kube, manifest(namespace, f"redis://127.0.0.1:{free_port()}/0"))

    fv = view_when(kube, namespace, "RedisUnavailable", "True", "RedisError")
    assert condition(fv, "Ready")["reason"] == "RedisUnavailable"
    assert "127.0.0.1" in condition(fv, "Ready")["message"]
    wait_for(lambda: {"RedisError"} <= event_reasons(kube, namespace), timeout=30, what="a Warning")

    apply(kube, manifest(namespace, redis_server.url))  # the operator kept going: it heals
    view_when(kube, namespace, "RedisUnavailable", "False", "RedisReachable")


def test_a_password_secret_the_operator_may_not_read_is_named_in_status(
    kube: KubeAccess, sextant_operator: LocalOperator, redis_server: LocalRedis, namespace: str
) -> None:
    body = manifest(namespace, redis_server.url)
    body["spec"]["online"]["secretRef"] = {"name": "redis-auth", "key": "password"}  # type: ignore[index]
    kube.kubectl("create", "secret", "generic", "redis-auth", "-n", namespace,
                 "--from-literal=password=unused")  # fmt: skip
    apply(kube, body)

    fv = view_when(kube, namespace, "RedisUnavailable", "True", "RedisError")
    assert "operator.readRedisSecrets=true" in condition(fv, "RedisUnavailable")["message"]
    cronjob = get(kube, namespace, "cronjob", "user-features-materialize") or {}
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [env] = [e for e in pod["containers"][0]["env"] if e["name"] == "SEXTANT_REDIS_PASSWORD"]
    assert env["valueFrom"]["secretKeyRef"] == {"name": "redis-auth", "key": "password"}
