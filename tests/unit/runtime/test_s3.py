"""s3:// locations, settings from the standard AWS variables, and how errors are told."""

from __future__ import annotations

from pathlib import Path

import pytest

from sextant_runtime.s3 import (
    S3AccessDenied,
    S3Error,
    S3Location,
    S3NotFound,
    S3Settings,
    S3Unavailable,
    classify,
    with_retries,
)
from sextant_runtime.sources import _inside
from sextant_runtime.tables import SourceError as TableSourceError
from sextant_runtime.tables import local_file


def test_an_s3_uri_is_split_into_bucket_and_key() -> None:
    where = S3Location.parse("s3://models/fraud/v3/model.onnx")
    assert (where.bucket, where.key) == ("models", "fraud/v3/model.onnx")
    assert where.path == "models/fraud/v3/model.onnx"
    assert S3Location.parse("s3://models/fraud/").path == "models/fraud"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3:///model.onnx", "expected s3://BUCKET/KEY"),
        ("http://models/model.onnx", "expected s3://BUCKET/KEY"),
        ("s3://models/model.onnx?versionId=3", r"no \?query"),
    ],
)
def test_malformed_s3_uris_are_refused(uri: str, message: str) -> None:
    with pytest.raises(S3Error, match=message):
        S3Location.parse(uri)


def test_settings_come_from_the_standard_aws_variables() -> None:
    settings = S3Settings.from_env(
        {
            "AWS_ENDPOINT_URL": "http://other:1",
            "AWS_ENDPOINT_URL_S3": "http://minio.storage:9000",
            "AWS_ACCESS_KEY_ID": "AK",
            "AWS_SECRET_ACCESS_KEY": "SK",
            "AWS_DEFAULT_REGION": "eu-west-1",
        }
    )
    assert settings.endpoint == "http://minio.storage:9000"  # the S3-specific name wins
    assert (settings.access_key, settings.secret_key) == ("AK", "SK")
    assert settings.region == "eu-west-1"
    defaults = S3Settings.from_env({})
    assert (defaults.endpoint, defaults.region, defaults.access_key) == (None, "us-east-1", None)


def test_an_endpoint_without_scheme_is_refused_naming_the_variable() -> None:
    with pytest.raises(S3Error, match=r"AWS_ENDPOINT_URL='minio:9000'.*http\(s\)://"):
        S3Settings.from_env({"AWS_ENDPOINT_URL": "minio:9000"})


def test_half_a_key_pair_is_refused_naming_the_missing_half() -> None:
    with pytest.raises(S3Error, match="AWS_SECRET_ACCESS_KEY is not set"):
        S3Settings.from_env({"AWS_ACCESS_KEY_ID": "AK"})


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("AWS Error ACCESS_DENIED during HeadObject operation: No response body.", S3AccessDenied),
        ("AWS Error UNKNOWN (HTTP status 403) during HeadObject operation", S3AccessDenied),
        ("AWS Error NO_SUCH_BUCKET during HeadBucket operation", S3NotFound),
        ("AWS Error NETWORK_CONNECTION during HeadObject operation: curlCode: 7", S3Unavailable),
        ("AWS Error UNKNOWN (HTTP status 503) during GetObject operation", S3Unavailable),
        ("AWS Error UNKNOWN (HTTP status 429) during GetObject operation", S3Unavailable),
        ("AWS Error UNKNOWN (HTTP status 400) during GetObject operation", S3Error),
        ("HTTP status 404 ... XAdminUserNotFound Message: No user exists", S3AccessDenied),
    ],
)
def test_sdk_errors_are_told_by_kind_naming_bucket_and_key(
    message: str, kind: type[S3Error]
) -> None:
    error = classify(S3Location.parse("s3://models/a/b.onnx"), "reading", message)
    assert type(error) is kind
    assert "s3://models/a/b.onnx" in str(error)


def test_only_an_unavailable_store_is_retried() -> None:
    where = S3Location.parse("s3://models/m.onnx")
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise S3Unavailable("down")
        return "ok"

    assert with_retries(where, flaky, attempts=3, backoff=0.0) == "ok"
    assert len(calls) == 3

    def denied() -> str:
        calls.append(1)
        raise S3AccessDenied("no")

    calls.clear()
    with pytest.raises(S3AccessDenied):
        with_retries(where, denied, attempts=3, backoff=0.0)
    assert len(calls) == 1


def test_keys_that_would_leave_the_model_folder_are_refused(tmp_path: Path) -> None:
    where = S3Location.parse("s3://models/m/")
    assert _inside(tmp_path, "sub/model.onnx", where) == tmp_path / "sub" / "model.onnx"
    with pytest.raises(S3Error, match="outside the model folder"):
        _inside(tmp_path, "../../etc/passwd", where)


def test_a_pvc_table_outside_a_pod_says_where_it_is_read() -> None:
    with (
        pytest.raises(TableSourceError, match="mounted by the operator"),
        local_file("pvc://data/users.parquet"),
    ):
        pass
