"""s3:// and pvc:// model sources as the runtime pod gets them."""

from __future__ import annotations

from typing import Any

from sextant_operator.render.deployment import render_deployment
from tests.unit.operator.builders import context, model_deployment

S3_MODEL = {"uri": "s3://models/fraud/v3/model.onnx"}


def container(spec: dict[str, Any]) -> dict[str, Any]:
    rendered = render_deployment(context(model_deployment(spec)), "stable", replicas=1)
    return dict(rendered["spec"]["template"]["spec"]["containers"][0])


def env_of(spec: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container(spec)["env"]}


def test_s3_settings_become_aws_variables_with_keys_from_the_secret() -> None:
    s3 = {
        "endpoint": "http://minio.storage:9000",
        "region": "eu-west-1",
        "credentialsSecret": "s3-keys",
    }
    ctr = container({"model": {**S3_MODEL, "s3": s3}})
    assert ctr["args"][:2] == ["serve", "s3://models/fraud/v3/model.onnx"]
    env = env_of({"model": {**S3_MODEL, "s3": s3}})
    assert env["AWS_ENDPOINT_URL_S3"] == "http://minio.storage:9000"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"] == {
        "secretKeyRef": {"name": "s3-keys", "key": "AWS_ACCESS_KEY_ID"}
    }
    assert env["AWS_SECRET_ACCESS_KEY"] == {
        "secretKeyRef": {"name": "s3-keys", "key": "AWS_SECRET_ACCESS_KEY"}
    }
    assert env["AWS_SESSION_TOKEN"] == {
        "secretKeyRef": {"name": "s3-keys", "key": "AWS_SESSION_TOKEN", "optional": True}
    }
    # The keys never appear in the pod spec in clear.
    assert all("value" not in e for e in ctr["env"] if e["name"].endswith(("KEY", "KEY_ID")))


def test_an_s3_model_without_settings_gets_no_aws_variables() -> None:
    env = env_of({"model": S3_MODEL})
    assert not [name for name in env if name.startswith("AWS_")]


def test_the_users_env_overrides_the_rendered_s3_settings() -> None:
    spec = {
        "model": {**S3_MODEL, "s3": {"endpoint": "http://minio.storage:9000"}},
        "runtime": {"env": [{"name": "AWS_ENDPOINT_URL_S3", "value": "http://other:9000"}]},
    }
    names = [e["name"] for e in container(spec)["env"]]
    assert names.count("AWS_ENDPOINT_URL_S3") == 1  # one entry: server-side apply needs it
    assert env_of(spec)["AWS_ENDPOINT_URL_S3"] == "http://other:9000"


def test_a_pvc_model_is_served_from_its_read_only_mount_with_no_s3_settings() -> None:
    ctr = container({"model": {"uri": "pvc://weights/fraud/model.onnx"}})
    assert ctr["args"][1] == "/mnt/models/weights/fraud/model.onnx"
    mount = next(m for m in ctr["volumeMounts"] if m["name"] == "model")
    assert mount == {"name": "model", "mountPath": "/mnt/models/weights", "readOnly": True}
    assert not [e for e in ctr["env"] if e["name"].startswith("AWS_")]
