"""`sextant features historical`: manifests and an entity file in, a training frame out."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from click.testing import CliRunner

from sextant.cli import main

MANIFEST = """
apiVersion: sextant.dev/v1alpha1
kind: FeatureView
metadata: {name: users}
spec:
  entities: [{name: user_id}]
  features: [{name: age, dtype: int32}]
  source: {uri: pvc://data/users.parquet}
  ttl: 1h
"""


def test_historical_writes_the_training_frame(tmp_path: Path) -> None:
    source, entities, output = tmp_path / "u.parquet", tmp_path / "e.csv", tmp_path / "t.parquet"
    pq.write_table(pa.table({
        "user_id": ["a", "a"], "age": [1, 2],
        "event_timestamp": pa.array([datetime(2024, 1, 1, 9), datetime(2024, 1, 1, 11)],
                                    pa.timestamp("us")),
    }), source)  # fmt: skip
    pacsv.write_csv(pa.table({
        "user_id": ["a", "a", "b"],
        "event_timestamp": ["2024-01-01T10:00:00", "2024-01-01T11:30:00", "2024-01-01T12:00:00"],
    }), entities)  # fmt: skip
    manifest = tmp_path / "fv.yaml"
    manifest.write_text(MANIFEST)
    args = ["features", "historical", "-f", str(manifest), "-e", str(entities), "-o", str(output),
            "--source", f"users={source}", "--full-feature-names"]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rows"] == 3
    frame = pq.read_table(output)
    assert frame["users__age"].to_pylist() == [1, 2, None]
    assert frame["users__age"].type == pa.int32()


def test_historical_refuses_a_pvc_source_with_a_hint(tmp_path: Path) -> None:
    entities = tmp_path / "e.csv"
    entities.write_text("user_id,event_timestamp\na,2024-01-01T10:00:00\n")
    manifest = tmp_path / "fv.yaml"
    manifest.write_text(MANIFEST)
    args = ["features", "historical", "-f", str(manifest), "-e", str(entities),
            "-o", str(tmp_path / "t.parquet")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "mounted by the operator" in result.output
