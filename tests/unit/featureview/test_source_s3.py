"""An s3:// FeatureView source: the API rule on spec.source.s3, and the AWS variables the
materialization pods get from it (the same rendering as a ModelDeployment's model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from sextant_operator.featureview.reconcile import unsupported_source
from sextant_operator.featureview.render import (
    MANIFEST_ANNOTATION,
    render_cronjob,
    render_initial_job,
)
from sextant_runtime.features.views import load_views
from tests.unit.featureview.builders import feature_view

IMAGE = "registry.local/sextant-runtime:test"
REDIS = "redis://redis.shop:6379/0"
SOURCE = "s3://features/users/part-0.parquet"
S3 = {"endpoint": "http://minio.storage:9000", "region": "eu-west-1", "credentialsSecret": "keys"}


def _container(job: dict[str, Any]) -> dict[str, Any]:
    spec = job["spec"].get("jobTemplate", {}).get("spec", job["spec"])
    container: dict[str, Any] = spec["template"]["spec"]["containers"][0]
    return container


def _aws_env(job: dict[str, Any]) -> dict[str, Any]:
    return {
        e["name"]: e.get("value", e.get("valueFrom"))
        for e in _container(job)["env"]
        if e["name"].startswith("AWS_")
    }


EXPECTED = {
    "AWS_ENDPOINT_URL_S3": "http://minio.storage:9000",
    "AWS_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": {"secretKeyRef": {"name": "keys", "key": "AWS_ACCESS_KEY_ID"}},
    "AWS_SECRET_ACCESS_KEY": {"secretKeyRef": {"name": "keys", "key": "AWS_SECRET_ACCESS_KEY"}},
    "AWS_SESSION_TOKEN": {
        "secretKeyRef": {"name": "keys", "key": "AWS_SESSION_TOKEN", "optional": True}
    },
}


def test_the_cronjob_and_the_initial_job_get_the_s3_settings_as_aws_variables() -> None:
    fv = feature_view(source=SOURCE, s3=S3)
    assert _aws_env(render_cronjob(fv, IMAGE, REDIS)) == EXPECTED
    assert _aws_env(render_initial_job(fv, IMAGE, REDIS)) == EXPECTED
    # The keys are references to the Secret, never values in the rendered object.
    env = _container(render_cronjob(fv, IMAGE, REDIS))["env"]
    assert all("value" not in e for e in env if e["name"].endswith(("KEY", "KEY_ID", "TOKEN")))


def test_an_s3_source_without_settings_gets_no_aws_variables() -> None:
    assert _aws_env(render_cronjob(feature_view(source=SOURCE), IMAGE, REDIS)) == {}


def test_only_the_settings_given_are_rendered() -> None:
    fv = feature_view(source=SOURCE, s3={"region": "eu-west-1"})
    assert _aws_env(render_cronjob(fv, IMAGE, REDIS)) == {"AWS_REGION": "eu-west-1"}


def test_an_s3_source_is_read_by_the_job_as_it_is(tmp_path: Path) -> None:
    """No mount and no rewrite: the pod's `sextant materialize` reads the s3:// URI."""
    cronjob = render_cronjob(feature_view(source=SOURCE, s3=S3), IMAGE, REDIS)
    template = cronjob["spec"]["jobTemplate"]["spec"]["template"]
    assert [v["name"] for v in template["spec"]["volumes"]] == ["manifest", "tmp"]
    manifest = tmp_path / "featureview.json"
    manifest.write_text(template["metadata"]["annotations"][MANIFEST_ANNOTATION])
    [view] = load_views([manifest])
    assert view.source_uri == SOURCE


def test_s3_sources_are_scheduled_not_refused() -> None:
    assert unsupported_source(SOURCE) is None


def test_s3_settings_need_an_s3_uri_and_the_error_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"spec\.source\.s3 is only for an s3://"):
        feature_view(source="https://data.example/users.parquet", s3=S3)


def test_a_credentials_secret_that_is_not_a_name_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"credentials_?[sS]ecret"):
        feature_view(source=SOURCE, s3={"credentialsSecret": "S3 Keys"})
