"""A FeatureView as the feature jobs read it: a small frozen dataclass.

The typed API model (`sextant_operator.api.FeatureView`, pydantic only, no kopf) is the
source of truth; `View.from_resource` derives this view of it, and `load_views` reads
YAML manifests. The dataclass also takes what the API does not: a plain local path as the
source (the API asks for file:///, pvc://, s3:// or http(s)://), for a run on a laptop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from sextant_operator.api import FeatureView
from sextant_runtime.tables import Format, SourceError, guess_format

ValueType = Literal["string", "bytes", "bool", "int32", "int64", "float32", "float64", "timestamp"]
EntityType = Literal["string", "bytes", "int32", "int64"]

# The DuckDB type each API dtype is cast to, on both sides of a join and on output.
SQL_TYPES: Mapping[str, str] = {
    "string": "VARCHAR",
    "bytes": "BLOB",
    "bool": "BOOLEAN",
    "int32": "INTEGER",
    "int64": "BIGINT",
    "float32": "FLOAT",
    "float64": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
}

_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


class ViewError(ValueError):
    """A FeatureView definition that cannot be used: a bad manifest, an unknown name."""


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str


@dataclass(frozen=True)
class View:
    """One FeatureView: its keys, its features, where they are read from, how long they hold.

    `ttl` None (or a zero duration in the manifest) means values never expire."""

    name: str
    entities: tuple[Column, ...]
    features: tuple[Column, ...]
    source_uri: str
    source_format: Format | None = None
    timestamp_field: str = "event_timestamp"
    created_timestamp_field: str | None = None
    ttl: timedelta | None = None
    namespace: str = "default"
    redis_url: str | None = None
    incremental: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.entities or not self.features:
            raise ViewError(f"FeatureView {self.name}: needs at least one entity and feature")
        names = [c.name for c in (*self.entities, *self.features)]
        if len(set(names)) != len(names):
            raise ViewError(f"FeatureView {self.name}: entity and feature names must be unique")
        for column in (*self.entities, *self.features):
            if column.dtype not in SQL_TYPES:
                raise ViewError(f"FeatureView {self.name}: {column.name}: bad dtype {column.dtype}")
        if self.ttl is not None and self.ttl <= timedelta(0):
            object.__setattr__(self, "ttl", None)

    @property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.entities)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.features)

    def with_source(self, uri: str) -> View:
        """Rows from `uri` instead; its own name says its format when it can (a local
        users.csv standing in for a parquet source)."""
        try:
            data_format: Format | None = guess_format(uri)
        except SourceError:
            data_format = self.source_format
        return replace(self, source_uri=uri, source_format=data_format)

    @classmethod
    def from_resource(cls, resource: FeatureView) -> View:
        spec = resource.spec
        if not resource.metadata.name:
            raise ViewError("FeatureView without metadata.name")
        return cls(
            name=resource.metadata.name,
            namespace=resource.metadata.namespace or "default",
            entities=tuple(Column(e.name, e.dtype) for e in spec.entities),
            features=tuple(Column(f.name, f.dtype) for f in spec.features),
            source_uri=spec.source.uri,
            source_format=spec.source.format,
            timestamp_field=spec.source.timestamp_field,
            created_timestamp_field=spec.source.created_timestamp_field,
            ttl=parse_duration(spec.ttl) if spec.ttl else None,
            redis_url=spec.online.redis_url,
            incremental=spec.materialization.incremental if spec.materialization else True,
        )


def parse_duration(text: str) -> timedelta:
    """A Go/Kubernetes duration such as 30s, 1h30m or 24h."""
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ViewError(f"{text!r} is not a duration such as 30s, 2m, 1h30m or 24h")
    return timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u] for n, u in parts))


def views_from_documents(documents: Iterable[Mapping[str, Any] | None]) -> list[View]:
    """Every FeatureView among parsed YAML documents (other kinds are skipped)."""
    views = []
    for document in documents:
        if not document or document.get("kind") != "FeatureView":
            continue
        try:
            views.append(View.from_resource(FeatureView.model_validate(document)))
        except ValidationError as err:
            name = (document.get("metadata") or {}).get("name", "?")
            raise ViewError(f"FeatureView {name}: {err}") from err
    return views


def load_views(paths: Iterable[Path | str]) -> list[View]:
    """The FeatureViews in YAML manifests (several documents per file allowed)."""
    views: list[View] = []
    for path in paths:
        try:
            text = Path(path).read_text()
            views.extend(views_from_documents(yaml.safe_load_all(text)))
        except (OSError, yaml.YAMLError) as err:
            raise ViewError(f"{path}: {err}") from err
    names = [v.name for v in views]
    if len(set(names)) != len(names):
        raise ViewError(f"FeatureView names must be unique, got {names}")
    return views
