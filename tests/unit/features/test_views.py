"""FeatureView manifests become the jobs' views; the online layout's keys and values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sextant_runtime.features import ViewError, load_views, parse_duration
from sextant_runtime.features.layout import decode_value, encode_value, entity_key

MANIFEST = """
apiVersion: sextant.dev/v1alpha1
kind: FeatureView
metadata: {name: users, namespace: fraud}
spec:
  entities: [{name: user_id, dtype: string}]
  features: [{name: age, dtype: int64}, {name: ltv, dtype: float64}]
  source: {uri: pvc://data/users.parquet, timestampField: ts, createdTimestampField: created}
  ttl: 1h30m
  online: {redisUrl: redis://redis:6379/0}
  materialization: {schedule: "*/15 * * * *", incremental: false}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: unrelated}
"""


def test_a_manifest_gives_a_view_with_its_spec(tmp_path: Path) -> None:
    path = tmp_path / "fv.yaml"
    path.write_text(MANIFEST)
    [view] = load_views([path])
    assert (view.name, view.namespace) == ("users", "fraud")
    assert view.entity_names == ("user_id",)
    assert view.feature_names == ("age", "ltv")
    assert (view.timestamp_field, view.created_timestamp_field) == ("ts", "created")
    assert view.ttl == timedelta(hours=1, minutes=30)
    assert view.redis_url == "redis://redis:6379/0"
    assert view.incremental is False


def test_an_invalid_manifest_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "fv.yaml"
    path.write_text(MANIFEST.replace("dtype: int64", "dtype: int128"))
    with pytest.raises(ViewError, match="FeatureView users"):
        load_views([path])


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("1h30m", 5400), ("0s", 0),
                                                ("1.5h", 5400), ("250ms", 0.25)])  # fmt: skip
def test_durations_read_as_kubernetes_writes_them(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


def test_entity_keys_are_unambiguous() -> None:
    assert entity_key("ns", "users", ["a:b"]) == "sextant:fv:ns/users:a%3Ab"
    assert entity_key("ns", "pairs", ["a", 7]) == "sextant:fv:ns/pairs:a:7"
    assert entity_key("ns", "pairs", ["a:7"]) != entity_key("ns", "pairs", ["a", 7])
    assert entity_key("ns", "raw", [b"\x00\xff"]) == "sextant:fv:ns/raw:%00%FF"


@pytest.mark.parametrize(("dtype", "value"), [
    ("string", "héllo"), ("bytes", b"\x00\x01"), ("bool", True), ("bool", False),
    ("int64", -(2**62)), ("float64", 0.1), ("float64", float("inf")),
    ("timestamp", datetime(2024, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)),
])  # fmt: skip
def test_values_read_back_as_written(dtype: str, value: object) -> None:
    raw = encode_value(dtype, value)  # type: ignore[arg-type]
    assert decode_value(dtype, raw.encode() if isinstance(raw, str) else raw) == value
