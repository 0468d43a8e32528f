"""The materialization CronJob: what it runs, with which spec, and how it shards."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sextant_operator.featureview import online
from sextant_operator.featureview.render import (
    MANIFEST_ANNOTATION,
    cronjob_name,
    render_cronjob,
    render_initial_job,
)
from sextant_runtime.features import layout
from sextant_runtime.features.views import load_views
from tests.unit.featureview.builders import feature_view

IMAGE = "registry.local/sextant-runtime:test"
REDIS = "redis://redis.shop:6379/0"


def _pod(cronjob: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    return template


def _env(pod: dict[str, Any]) -> dict[str, Any]:
    return {
        e["name"]: e.get("value", e.get("valueFrom")) for e in pod["spec"]["containers"][0]["env"]
    }


def test_cronjob_runs_sextant_materialize_on_the_schedule_owned_by_the_view() -> None:
    cronjob = render_cronjob(feature_view(), IMAGE, REDIS)
    assert cronjob["metadata"]["name"] == "user-features-materialize"
    assert cronjob["spec"]["schedule"] == "*/15 * * * *"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    [owner] = cronjob["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("FeatureView", "u-1", True)
    container = _pod(cronjob)["spec"]["containers"][0]
    assert container["image"] == IMAGE
    assert container["args"] == [
        "materialize", "--filename", "/etc/sextant/featureview.json", "--redis-url", REDIS,
    ]  # fmt: skip
    assert _pod(cronjob)["spec"]["automountServiceAccountToken"] is False
    assert "completionMode" not in cronjob["spec"]["jobTemplate"]["spec"]


def test_the_job_reads_the_view_from_its_own_pod_annotation(tmp_path: Path) -> None:
    pod = _pod(render_cronjob(feature_view(), IMAGE, REDIS))
    [item] = next(v for v in pod["spec"]["volumes"] if v["name"] == "manifest")["downwardAPI"][
        "items"
    ]
    assert item["fieldRef"]["fieldPath"] == f"metadata.annotations['{MANIFEST_ANNOTATION}']"
    manifest = tmp_path / "featureview.json"
    manifest.write_text(pod["metadata"]["annotations"][MANIFEST_ANNOTATION])
    [view] = load_views([manifest])  # what `sextant materialize -f` does with it
    assert (view.namespace, view.name) == ("shop", "user-features")
    assert view.feature_names == ("age", "ltv")
    assert view.created_timestamp_field == "created"
    assert view.ttl is not None
    assert view.ttl.total_seconds() == 86400


def test_parallelism_makes_an_indexed_job_of_that_many_shards() -> None:
    cronjob = render_cronjob(feature_view(parallelism=4), IMAGE, REDIS)
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert (job["completionMode"], job["completions"], job["parallelism"]) == ("Indexed", 4, 4)
    # JOB_COMPLETION_INDEX (set by Kubernetes) is the shard; the count comes from here.
    assert _env(_pod(cronjob))["SEXTANT_SHARDS"] == "4"


def test_a_password_secret_reaches_the_job_as_an_environment_variable() -> None:
    view = feature_view(online={"secretRef": {"name": "redis-auth", "key": "password"}})
    env = _env(_pod(render_cronjob(view, IMAGE, REDIS)))
    assert env["SEXTANT_REDIS_PASSWORD"] == {
        "secretKeyRef": {"name": "redis-auth", "key": "password"}
    }


def test_a_pvc_source_is_mounted_read_only_and_read_as_a_file() -> None:
    pod = _pod(render_cronjob(feature_view(source="pvc://data/users.parquet"), IMAGE, REDIS))
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "data", "readOnly": True}} in (
        pod["spec"]["volumes"]
    )
    mounts = pod["spec"]["containers"][0]["volumeMounts"]
    assert {"name": "data", "mountPath": "/mnt/data/data", "readOnly": True} in mounts
    spec = json.loads(pod["metadata"]["annotations"][MANIFEST_ANNOTATION])["spec"]
    assert spec["source"]["uri"] == "file:///mnt/data/data/users.parquet"


def test_the_initial_job_is_the_cronjobs_job_run_once() -> None:
    view = feature_view()
    job = render_initial_job(view, IMAGE, REDIS)
    assert job["kind"] == "Job"
    assert job["metadata"]["annotations"] == {"sextant.dev/feature-view": "user-features"}
    template = render_cronjob(view, IMAGE, REDIS)["spec"]["jobTemplate"]["spec"]["template"]
    assert job["spec"]["template"] == template


def test_long_names_are_cut_to_what_a_cronjob_allows_and_stay_distinct() -> None:
    a, b = cronjob_name("x" * 60 + "a"), cronjob_name("x" * 60 + "b")
    assert len(a) <= 52
    assert len(b) <= 52
    assert a != b


def test_the_operator_reads_the_keys_the_materialize_job_writes() -> None:
    assert online.view_key("shop", "fv") == layout.view_key("shop", "fv")
    assert online.index_key("shop", "fv") == layout.index_key("shop", "fv")
    for shard, shards in ((0, 1), (2, 4)):
        assert online.summary_field(shard, shards) == layout.summary_field(shard, shards)
