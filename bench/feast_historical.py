"""Point-in-time historical retrieval: `sextant features historical` against Feast.

    .venv/bin/python -m bench.feast_historical            # 100k x 100k, and 10k x 10k first
    .venv/bin/python -m bench.feast_historical --quick    # 10k x 10k only

Both read the same parquet feature table and the same entity frame in the same run:
Sextant's `get_historical_features` (DuckDB ASOF join) in this process, and Feast's
`FeatureStore.get_historical_features(...).to_arrow()` with its DuckDB offline store in a
subprocess of a virtualenv of its own (~/.cache/sextant/bench-feast/, made here with
`python -m venv` and pip from PyPI on first use: Feast is not a Sextant dependency).
This file is also that subprocess's script (`--feast-worker`): its module level imports
only the standard library, so the Feast venv needs nothing of Sextant's.

The data: one FeatureView of 10 float64 features keyed by an int64 user id (20 rows each), with a
created timestamp, ttl 2 days, on a one-minute grid so that exact boundaries occur:
2% of feature rows repeat a (user, event time) with another created time and values (a
tie), 1% of entity rows sit exactly at a feature row's event time + ttl (the inclusive
lower bound), 1% exactly at its event time (the inclusive upper bound), and some users
have no rows at all. Each side is timed best of --repeat (wall clock, the query and its
result in Arrow; Feast's registry `apply` is not timed). Then every value is compared
row by row (by a row id column carried through), and the rows that differ are classified
(tie, ttl boundary, other). Results go to bench/results/feast_historical.json.
"""

# Imports sit in the functions that need them: the Feast venv runs this file with none of
# Sextant's dependencies, and the module level must import only the standard library.
# ruff: noqa: PLC0415

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FEAST_REQUIREMENT = "feast[duckdb]==0.67.*"
FEAST_HOME = Path.home() / ".cache" / "sextant" / "bench-feast"
ROOT = Path(__file__).resolve().parent.parent
FEATURES = [f"f{i}" for i in range(10)]
TTL_SECONDS = 2 * 86400
VIEW = "users"


# --- the Feast side (runs in the Feast virtualenv) ------------------------------------------


def feast_worker(work: Path, repeat: int) -> None:
    """Register the view in a fresh Feast repo, time the retrieval, write its result."""
    from datetime import timedelta

    import pandas as pd
    import pyarrow.parquet as pq
    from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
    from feast.types import Float64

    repo = work / "feast_repo"
    repo.mkdir(exist_ok=True)
    (repo / "feature_store.yaml").write_text(
        "project: bench\n"
        f"registry: {repo / 'registry.db'}\n"
        "provider: local\n"
        f"online_store: {{type: sqlite, path: {repo / 'online.db'}}}\n"
        "offline_store: {type: duckdb}\n"
        "entity_key_serialization_version: 3\n"
    )
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.INT64)
    source = FileSource(
        path=str(work / "features.parquet"),
        timestamp_field="event_timestamp",
        created_timestamp_column="created",
    )
    view = FeatureView(
        name=VIEW,
        entities=[user],
        ttl=timedelta(seconds=TTL_SECONDS),
        schema=[Field(name=f, dtype=Float64) for f in FEATURES],
        source=source,
        online=False,
    )
    store = FeatureStore(repo_path=str(repo))
    store.apply([user, view])
    entity_df = pd.read_parquet(work / "entities.parquet")
    refs = [f"{VIEW}:{f}" for f in FEATURES]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = store.get_historical_features(entity_df=entity_df, features=refs).to_arrow()
        times.append(time.perf_counter() - started)
    pq.write_table(result, work / "feast_out.parquet")
    import feast

    (work / "feast_times.json").write_text(
        json.dumps({"seconds": times, "feast": feast.__version__})
    )


def feast_python() -> Path:
    """The Feast venv's interpreter, made on first use (a few minutes of pip)."""
    python = FEAST_HOME / "venv" / "bin" / "python"
    if not python.exists():
        FEAST_HOME.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(FEAST_HOME / "venv")], check=True)
    probe = subprocess.run(
        [str(python), "-c", "import feast, duckdb, ibis; print(feast.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        pip = [str(python), "-m", "pip", "install", "-q", FEAST_REQUIREMENT]
        subprocess.run(pip, check=True)
    return python


# --- data, the Sextant side, the comparison (runs in Sextant's .venv) -------------------------


def make_data(work: Path, feature_rows: int, entity_rows: int, seed: int = 7) -> dict[str, int]:
    """The feature table and entity frame described in the module docstring."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    users = max(10, feature_rows // 20)
    minutes = 30 * 24 * 60
    start = np.datetime64("2026-01-01T00:00:00", "us")
    minute = np.timedelta64(60_000_000, "us")
    user = rng.integers(0, users, feature_rows)
    event = rng.integers(0, minutes, feature_rows)
    created = event + rng.integers(0, 60, feature_rows)
    ties = rng.choice(feature_rows, feature_rows // 50, replace=False)
    # A tie: the same user and event time as another row, written at another time.
    other = rng.choice(feature_rows, ties.size, replace=False)
    user[ties], event[ties] = user[other], event[other]
    created[ties] = event[ties] + rng.integers(0, 60, ties.size)
    values = {f: rng.normal(0, 1, feature_rows) for f in FEATURES}
    features = pa.table({
        "user_id": pa.array(user, pa.int64()),
        "event_timestamp": pa.array(start + event * minute, pa.timestamp("us", tz="UTC")),
        "created": pa.array(start + created * minute, pa.timestamp("us", tz="UTC")),
        **{f: pa.array(v, pa.float64()) for f, v in values.items()},
    })  # fmt: skip
    pq.write_table(features, work / "features.parquet")

    ent_user = rng.integers(0, users + users // 10, entity_rows)  # ~9% never seen
    ent_time = rng.integers(-60, minutes + 3 * 24 * 60, entity_rows)
    picks = rng.choice(entity_rows, entity_rows // 50, replace=False)
    half = picks.size // 2
    source = rng.integers(0, feature_rows, picks.size)
    ent_user[picks] = user[source]
    ttl_minutes = TTL_SECONDS // 60
    ent_time[picks[:half]] = event[source[:half]] + ttl_minutes  # at the ttl's lower bound
    ent_time[picks[half:]] = event[source[half:]]  # at the row's own event time
    entities = pa.table({
        "row_id": pa.array(np.arange(entity_rows), pa.int64()),
        "user_id": pa.array(ent_user, pa.int64()),
        "event_timestamp": pa.array(start + ent_time * minute, pa.timestamp("us", tz="UTC")),
    })  # fmt: skip
    pq.write_table(entities, work / "entities.parquet")
    return {"users": users, "ties": int(ties.size), "ttlBoundaryRows": half,
            "eventTimeRows": int(picks.size - half)}  # fmt: skip


def run_sextant(work: Path, repeat: int) -> list[float]:
    from datetime import timedelta

    import pyarrow.parquet as pq

    from sextant_runtime.features import Column, View, get_historical_features

    view = View(
        name=VIEW,
        entities=(Column("user_id", "int64"),),
        features=tuple(Column(f, "float64") for f in FEATURES),
        source_uri=str(work / "features.parquet"),
        created_timestamp_field="created",
        ttl=timedelta(seconds=TTL_SECONDS),
    )
    times = []
    for _ in range(repeat):
        entities = pq.read_table(work / "entities.parquet")
        started = time.perf_counter()
        result = get_historical_features(entities, [view])
        times.append(time.perf_counter() - started)
    pq.write_table(result, work / "sextant_out.parquet")
    return times


def compare(work: Path) -> dict[str, Any]:
    """Rows where any feature differs (null vs value, or two values), and why."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name in ("sextant_out", "feast_out", "features"):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM '{work / name}.parquet'")
    same = " AND ".join(f"s.{f} IS NOT DISTINCT FROM f.{f}" for f in FEATURES)
    con.execute(
        "CREATE TABLE diff AS SELECT s.row_id, s.user_id, s.event_timestamp AS t, "
        "s.f0 AS sextant_f0, f.f0 AS feast_f0 "
        f"FROM sextant_out s JOIN feast_out f USING (row_id) WHERE NOT ({same})"
    )
    counts = con.execute(
        "SELECT (SELECT count(*) FROM sextant_out), (SELECT count(*) FROM feast_out), "
        "(SELECT count(*) FROM diff), (SELECT count(*) FROM sextant_out WHERE f0 IS NULL), "
        "(SELECT count(*) FROM feast_out WHERE f0 IS NULL)"
    ).fetchone()
    assert counts is not None
    boundary = (
        f"EXISTS (SELECT 1 FROM features x WHERE x.user_id = d.user_id "
        f"AND x.event_timestamp = d.t - INTERVAL {TTL_SECONDS} SECOND)"
    )

    def tie(columns: str) -> str:
        return (
            "EXISTS (SELECT 1 FROM features x WHERE x.user_id = d.user_id "
            f"AND x.event_timestamp <= d.t AND x.event_timestamp >= d.t - INTERVAL {TTL_SECONDS} "
            f"SECOND GROUP BY {columns} HAVING count(*) > 1)"
        )

    # fullTie: two rows with the same event and created time, where any choice is right.
    kinds = con.execute(
        f"SELECT CASE WHEN {boundary} THEN 'ttlBoundary' "
        f"WHEN {tie('x.event_timestamp, x.created')} THEN 'fullTie' "
        f"WHEN {tie('x.event_timestamp')} THEN 'eventTimeTie' ELSE 'other' END "
        "AS kind, count(*), count(*) FILTER (WHERE sextant_f0 IS NULL), "
        "count(*) FILTER (WHERE feast_f0 IS NULL) FROM diff d GROUP BY kind ORDER BY kind"
    ).fetchall()
    examples = con.execute("SELECT * FROM diff ORDER BY row_id LIMIT 3").fetchall()
    con.close()
    return {
        "rows": {"sextant": counts[0], "feast": counts[1]},
        "nullRows": {"sextant": counts[3], "feast": counts[4]},
        "differingRows": counts[2],
        "differences": [
            {"kind": k, "rows": n, "sextantNull": sn, "feastNull": fn} for k, n, sn, fn in kinds
        ],
        "examples": [[str(v) for v in row] for row in examples],
    }


def one_size(feature_rows: int, entity_rows: int, repeat: int, python: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sextant-bench-feast-") as folder:
        work = Path(folder)
        shape = make_data(work, feature_rows, entity_rows)
        sextant = run_sextant(work, repeat)
        started = time.perf_counter()
        subprocess.run(
            [str(python), __file__, "--feast-worker", str(work), "--repeat", str(repeat)],
            check=True,
            env={**os.environ, "FEAST_USAGE": "False"},  # no telemetry call
        )
        worker_seconds = time.perf_counter() - started
        feast = json.loads((work / "feast_times.json").read_text())
        agreement = compare(work)
    best_s, best_f = min(sextant), min(feast["seconds"])
    return {
        "featureRows": feature_rows,
        "entityRows": entity_rows,
        "data": shape,
        "sextantSeconds": sextant,
        "feastSeconds": feast["seconds"],
        "feastVersion": feast["feast"],
        "feastProcessSeconds": round(worker_seconds, 2),
        "speedup": round(best_f / best_s, 2),
        "agreement": agreement,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10k x 10k only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--feast-worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=ROOT / "bench/results/feast_historical.json")
    args = parser.parse_args()
    if args.feast_worker:
        feast_worker(args.feast_worker, args.repeat)
        return
    python = feast_python()
    sizes = [(10_000, 10_000)] if args.quick else [(10_000, 10_000), (100_000, 100_000)]
    results = []
    for feature_rows, entity_rows in sizes:
        result = one_size(feature_rows, entity_rows, args.repeat, python)
        print(json.dumps(result, indent=1), flush=True)
        results.append(result)
    import duckdb

    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "duckdb": {"sextant": duckdb.__version__},
        "results": results,
    }
    if not args.quick:
        args.output.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
