"""`sextant features historical` and `sextant materialize`: the FeatureView jobs.

FeatureViews come from YAML manifests (`-f`, repeatable, several documents per file);
`--source NAME=URI` reads a view from another file than its manifest says (a local copy
of a pvc:// source). Sources and entity frames are parquet or csv, from a path,
file://, http(s):// or s3:// (S3 or S3-compatible: the standard AWS_* variables).

Exit status: 0 on success, 1 when a source, a manifest or Redis cannot be used, 2 on a
usage error.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import pyarrow as pa

    from sextant_runtime.features import View

_manifests = click.option(
    "--filename", "-f", "manifests", multiple=True, required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML manifest with FeatureViews. Repeatable.",
)  # fmt: skip
_memory_limit = click.option(
    "--memory-limit", metavar="SIZE",
    help="DuckDB's memory limit, such as 1GB; past it, the join or aggregate spills to disk.",
)  # fmt: skip


@click.group()
def features() -> None:
    """FeatureViews offline: point-in-time correct training frames."""


@features.command()
@_manifests
@click.option(
    "--entities",
    "-e",
    required=True,
    metavar="URI",
    help="Entity frame: the entity key columns and a timestamp column.",
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Training frame to write: .parquet or .csv.",
)
@click.option(
    "--view",
    "view_names",
    multiple=True,
    metavar="NAME",
    help="Join only these FeatureViews (default: every one in the manifests).",
)
@click.option(
    "--timestamp-column",
    default="event_timestamp",
    show_default=True,
    help="The entity frame's timestamp column.",
)
@click.option(
    "--full-feature-names",
    is_flag=True,
    help="Name the columns VIEW__FEATURE (needed when two views share a name).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    metavar="NAME=URI",
    help="Read FeatureView NAME from URI instead. Repeatable.",
)
@click.option(
    "--format",
    "data_format",
    type=click.Choice(["parquet", "csv"]),
    help="Format of the entity frame (default: from the name's extension).",
)
@_memory_limit
def historical(
    *,
    manifests: Sequence[Path],
    entities: str,
    output: Path,
    view_names: Sequence[str],
    timestamp_column: str,
    full_feature_names: bool,
    sources: Sequence[str],
    data_format: str | None,
    memory_limit: str | None,
) -> None:
    """Join an entity frame with FeatureViews as of each row's time; print a JSON summary."""
    from sextant_runtime.features import SourceError, ViewError, get_historical_features
    from sextant_runtime.features.sources import read_table

    started = time.monotonic()
    views = _views(manifests, sources)
    if view_names:
        by_name = {v.name: v for v in views}
        unknown = [n for n in view_names if n not in by_name]
        if unknown:
            raise click.UsageError(f"no FeatureView {', '.join(unknown)} in the manifests")
        views = [by_name[n] for n in view_names]
    try:
        entity_df = read_table(entities, data_format)  # type: ignore[arg-type]
        frame = get_historical_features(
            entity_df, views, timestamp_column=timestamp_column,
            full_feature_names=full_feature_names, memory_limit=memory_limit,
        )  # fmt: skip
    except (SourceError, ViewError) as err:
        raise click.ClickException(str(err)) from err
    _write(frame, output)
    summary = {
        "output": str(output),
        "rows": frame.num_rows,
        "columns": frame.column_names,
        "featureViews": [v.name for v in views],
        "durationSeconds": round(time.monotonic() - started, 3),
    }
    click.echo(json.dumps(summary))


@click.command()
@_manifests
@click.option(
    "--name",
    metavar="NAME",
    help="The FeatureView to materialize (needed when the manifests hold several).",
)
@click.option(
    "--source",
    "source_uri",
    metavar="URI",
    help="Read the rows from URI (or NAME=URI) instead of the manifest's source.",
)
@click.option(
    "--redis-url",
    metavar="URL",
    help="Redis to write to (default: the manifest's spec.online.redisUrl).",
)
@click.option(
    "--redis-password",
    envvar="SEXTANT_REDIS_PASSWORD",
    metavar="PASSWORD",
    help="Redis password (or SEXTANT_REDIS_PASSWORD).",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="End of the window, inclusive (default: now; naive times are UTC).",
)
@click.option("--full", is_flag=True, help="Ignore the watermark: re-read every row within ttl.")
@click.option(
    "--shard",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    envvar=["SEXTANT_SHARD", "JOB_COMPLETION_INDEX"],
    help="This run's share of the entities (an Indexed Job's completion index).",
)
@click.option(
    "--shards",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    envvar="SEXTANT_SHARDS",
    help="How many runs share the entities.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=5000,
    show_default=True,
    help="Entities per pipelined Redis round trip (and per Arrow batch).",
)
@_memory_limit
def materialize(
    *,
    manifests: Sequence[Path],
    name: str | None,
    source_uri: str | None,
    redis_url: str | None,
    redis_password: str | None,
    until: datetime | None,
    full: bool,
    shard: int,
    shards: int,
    batch_size: int,
    memory_limit: str | None,
) -> None:
    """Write the latest value of every entity into Redis; print a JSON summary.

    Incremental from the watermark kept in Redis (the newest event time written), unless
    --full or the manifest's materialization.incremental is false."""
    import redis

    from sextant_runtime.features import SourceError
    from sextant_runtime.features import materialize as run

    if shard >= shards:
        raise click.UsageError(f"--shard {shard} must be below --shards {shards}")
    view = _one_view(_views(manifests, ()), name)
    if source_uri:
        # NAME=URI as `features historical` takes it, or the URI alone.
        prefix = f"{view.name}="
        view = view.with_source(source_uri.removeprefix(prefix))
    url = redis_url or view.redis_url
    if not url:
        raise click.UsageError("no --redis-url and no spec.online.redisUrl in the manifest")
    client = redis.Redis.from_url(url, password=redis_password)
    try:
        summary = run(
            view, client, until=until.replace(tzinfo=until.tzinfo or UTC) if until else None,
            full=full, shard=shard, shards=shards, batch_size=batch_size,
            memory_limit=memory_limit,
        )  # fmt: skip
    except SourceError as err:
        raise click.ClickException(str(err)) from err
    except redis.RedisError as err:
        raise click.ClickException(f"Redis {url}: {err}") from err
    finally:
        client.close()
    click.echo(json.dumps(summary.to_json()))


def _views(manifests: Sequence[Path], sources: Sequence[str]) -> list[View]:
    from sextant_runtime.features import ViewError, load_views

    try:
        views = load_views(manifests)
    except ViewError as err:
        raise click.ClickException(str(err)) from err
    if not views:
        raise click.UsageError("the manifests hold no FeatureView")
    overrides: dict[str, str] = {}
    for item in sources:
        view_name, sep, uri = item.partition("=")
        if not sep or not uri:
            raise click.BadParameter(f"{item!r} is not NAME=URI", param_hint="--source")
        overrides[view_name] = uri
    unknown = sorted(set(overrides) - {v.name for v in views})
    if unknown:
        raise click.BadParameter(f"no FeatureView {', '.join(unknown)}", param_hint="--source")
    return [v.with_source(overrides[v.name]) if v.name in overrides else v for v in views]


def _one_view(views: list[View], name: str | None) -> View:
    if name:
        for view in views:
            if view.name == name:
                return view
        raise click.UsageError(f"no FeatureView {name} in the manifests")
    if len(views) > 1:
        raise click.UsageError(
            f"the manifests hold {len(views)} FeatureViews; choose one with --name"
        )
    return views[0]


def _write(frame: pa.Table, output: Path) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    suffix = output.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise click.UsageError(f"{output}: write .parquet or .csv")
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        pacsv.write_csv(frame, output)
    else:
        pq.write_table(frame, output)
