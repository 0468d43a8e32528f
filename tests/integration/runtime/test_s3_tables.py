"""Tables (drift references and windows, FeatureView sources, entity frames) from s3:// on
a real S3-compatible server: `sextant drift check` and `sextant features historical` read
parquet and csv straight from a bucket."""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from sextant.cli import main
from sextant.devenv.s3 import LocalS3
from sextant_runtime.drift.sources import read_table
from sextant_runtime.tables import SourceError

BUCKET = "tables"

MANIFEST = """
apiVersion: sextant.dev/v1alpha1
kind: FeatureView
metadata: {name: users}
spec:
  entities: [{name: user_id}]
  features: [{name: age, dtype: int32}]
  source: {uri: s3://tables/features/users.parquet}
  ttl: 1h
"""


@pytest.fixture(scope="module")
def s3(s3_server: LocalS3) -> LocalS3:
    s3_server.create_bucket(BUCKET)
    return s3_server


@pytest.fixture(autouse=True)
def s3_env(s3: LocalS3, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3.env().items():
        monkeypatch.setenv(name, value)


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _csv(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink)
    return sink.getvalue()


def test_parquet_and_csv_tables_are_read_from_s3(s3: LocalS3) -> None:
    table = pa.table({"amount": [1.5, 2.5, 3.5], "country": ["de", "fr", "it"]})
    parquet = s3.put(BUCKET, "read/train.parquet", _parquet(table))
    csv = s3.put(BUCKET, "read/window.csv", _csv(table))
    assert read_table(parquet).equals(table)
    assert read_table(csv).to_pydict() == table.to_pydict()


def test_a_missing_table_names_bucket_and_key() -> None:
    with pytest.raises(SourceError, match=r"s3://tables/read/nope\.parquet: no such key"):
        read_table("s3://tables/read/nope.parquet")


def test_drift_check_reads_reference_and_window_from_s3(s3: LocalS3) -> None:
    rng = np.random.default_rng(3)
    reference = pa.table({"amount": rng.normal(0, 1, 800)})
    window = pa.table({"amount": rng.normal(1, 1, 500)})
    ref_uri = s3.put(BUCKET, "drift/train.parquet", _parquet(reference))
    cur_uri = s3.put(BUCKET, "drift/window.csv", _csv(window))
    result = CliRunner().invoke(main, ["drift", "check", "-r", ref_uri, "-c", cur_uri])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["sampleSize"] == 500
    assert verdict["features"][0]["drifted"] is True


def test_features_historical_joins_a_source_in_s3(s3: LocalS3, tmp_path: Path) -> None:
    rows = pa.table({
        "user_id": ["a", "a"], "age": [1, 2],
        "event_timestamp": pa.array([datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 11)],
                                    pa.timestamp("us")),
    })  # fmt: skip
    s3.put(BUCKET, "features/users.parquet", _parquet(rows))
    entities = pa.table({
        "user_id": ["a", "a", "b"],
        "event_timestamp": ["2024-01-01T10:00:00", "2024-01-01T11:30:00", "2024-01-01T12:00:00"],
    })  # fmt: skip
    entities_uri = s3.put(BUCKET, "features/entities.csv", _csv(entities))
    manifest, output = tmp_path / "fv.yaml", tmp_path / "t.parquet"
    manifest.write_text(MANIFEST)
    args = ["features", "historical", "-f", str(manifest), "-e", entities_uri,
            "-o", str(output), "--full-feature-names"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert pq.read_table(output)["users__age"].to_pylist() == [1, 2, None]
