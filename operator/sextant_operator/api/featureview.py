"""FeatureView: features read from a data source, materialized into Redis for online lookup."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from sextant_operator.api.common import (
    AGE_COLUMN,
    READY_COLUMN,
    ApiModel,
    CrdNames,
    Cron,
    Duration,
    Identifier,
    Int64,
    Matches,
    PrinterColumn,
    Resource,
    ResourceStatus,
    S3Access,
    TableLocation,
    cel,
    nested,
)
from sextant_operator.api.core import SecretKeySelector

ValueType = Literal["string", "bytes", "bool", "int32", "int64", "float32", "float64", "timestamp"]
EntityType = Literal["string", "bytes", "int32", "int64"]


class Entity(ApiModel):
    """A join key, such as user_id: the value a request carries to look features up."""

    name: Identifier = Field(description="Column name of the key in the source.")
    dtype: EntityType = Field(
        default="string", description="Key type: string, bytes, int32 or int64."
    )


class Feature(ApiModel):
    """One feature column."""

    name: Identifier = Field(description="Column name in the source; also the feature's name.")
    dtype: ValueType = Field(
        description="Value type: string, bytes, bool, int32, int64, float32, float64 or timestamp."
    )


class Source(TableLocation):
    """The offline table the features are read from."""

    timestamp_field: Identifier = Field(
        default="event_timestamp",
        description="Column with the time each row's values became true (point-in-time joins).",
    )
    created_timestamp_field: Identifier | None = Field(
        default=None,
        description="Column with the time each row was written; breaks ties between rows with "
        "the same event timestamp.",
    )
    s3: S3Access | None = Field(
        default=None,
        description="Endpoint, region and credentials Secret of an s3:// uri, given to the "
        "materialization pods; only with one.",
    )

    @cel(
        "!has(self.createdTimestampField) || self.createdTimestampField != self.timestampField",
        "spec.source.createdTimestampField must differ from spec.source.timestampField",
        field_path=".createdTimestampField",
    )
    def _distinct_timestamps(self) -> bool:
        return self.created_timestamp_field != self.timestamp_field

    @cel(
        "!has(self.s3) || self.uri.startsWith('s3://')",
        "spec.source.s3 is only for an s3://BUCKET/KEY spec.source.uri",
        field_path=".s3",
    )
    def _s3_only_for_s3(self) -> bool:
        return self.s3 is None or self.uri.startswith("s3://")


RedisUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    Matches(r"^(rediss?://[^\s]+|unix:///[^\s]+)$", "must be a redis://, rediss:// or unix:// URL"),
]


class Online(ApiModel):
    """The online store: a Redis database."""

    redis_url: RedisUrl | None = Field(
        default=None,
        description="Redis URL, such as redis://redis:6379/0. Default: the operator's setting.",
    )
    secret_ref: SecretKeySelector | None = Field(
        default=None, description="Secret key holding the Redis password."
    )


class Materialization(ApiModel):
    """Periodic copy of the newest values into the online store (a CronJob)."""

    schedule: Cron = Field(description="Cron schedule, such as '*/15 * * * *'.")
    incremental: bool = Field(
        default=True,
        description="Read only rows newer than the last run's watermark; false re-reads "
        "everything within ttl.",
    )
    parallelism: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description="Pods that share the entities (by a hash of their key); above 1 each run "
        "is an Indexed Job with this many completions.",
    )


class FeatureViewSpec(ApiModel):
    """Which features, for which entities, from which source."""

    entities: Annotated[list[Entity], Field(min_length=1, max_length=8)] = Field(
        description="Join keys; names unique."
    )
    features: Annotated[list[Feature], Field(min_length=1, max_length=256)] = Field(
        description="Feature columns; names unique and distinct from entity names."
    )
    source: Source = Field(description="The offline table.")
    ttl: Duration | None = Field(
        default=None,
        description="How long a value stays valid, such as 24h. A lookup at time t sees the "
        "latest value with timestamp <= t and >= t - ttl. Omitted: values never expire.",
    )
    online: Online = nested(Online, "The online store.")
    materialization: Materialization | None = Field(
        default=None,
        description="Scheduled materialization. Omitted: run `sextant materialize` yourself.",
    )

    @cel(
        "self.entities.all(e, self.entities.exists_one(o, o.name == e.name))",
        "spec.entities: entity names must be unique",
        field_path=".entities",
    )
    def _unique_entities(self) -> bool:
        return len({e.name for e in self.entities}) == len(self.entities)

    @cel(
        "self.features.all(f, self.features.exists_one(o, o.name == f.name))",
        "spec.features: feature names must be unique",
        field_path=".features",
    )
    def _unique_features(self) -> bool:
        return len({f.name for f in self.features}) == len(self.features)

    @cel(
        "!self.features.exists(f, self.entities.exists(e, e.name == f.name))",
        "spec.features: a feature cannot have the name of an entity in spec.entities",
        field_path=".features",
    )
    def _features_are_not_entities(self) -> bool:
        return not {f.name for f in self.features} & {e.name for e in self.entities}


class MaterializationRun(ApiModel):
    """The last materialization run."""

    time: datetime | None = Field(default=None, description="When it finished.")
    rows: Annotated[Int64, Field(ge=0)] | None = Field(
        default=None, description="Source rows read."
    )
    entities: Annotated[Int64, Field(ge=0)] | None = Field(
        default=None, description="Entities written to the online store."
    )
    duration_seconds: Annotated[float, Field(ge=0)] | None = Field(
        default=None, description="How long it ran."
    )
    watermark: datetime | None = Field(
        default=None,
        description="Newest event timestamp read; the next incremental run starts after it.",
    )


class FeatureViewStatus(ResourceStatus):
    """What the operator and the materialization jobs observed."""

    last_materialization: MaterializationRun | None = Field(
        default=None, description="The last materialization run."
    )
    online_entities: Annotated[Int64, Field(ge=0)] | None = Field(
        default=None, description="Entities in the online store."
    )


class FeatureView(Resource):
    """Features for online lookup, with point-in-time correct offline reads."""

    crd: ClassVar[CrdNames] = CrdNames(
        plural="featureviews",
        short_names=("fv",),
        printer_columns=(
            PrinterColumn(
                "Entities", "integer", ".status.onlineEntities", "Entities in the online store."
            ),
            PrinterColumn(
                "Last Materialized",
                "date",
                ".status.lastMaterialization.time",
                "When the last materialization finished.",
            ),
            READY_COLUMN,
            AGE_COLUMN,
        ),
    )

    kind: Literal["FeatureView"] = Field(default="FeatureView", description="FeatureView.")
    spec: FeatureViewSpec = Field(description="The desired state.")
    status: FeatureViewStatus | None = Field(default=None, description="The observed state.")
