"""Building blocks shared by the three kinds: the base model, CEL rules, conditions.

Every rule the API server enforces is declared once, next to the field it guards, and
carries both its CEL text (for the CRD) and a Python check (for the operator, which
parses every object into these models). The unit tests hold the two to the same table
of invalid manifests, so they cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

GROUP = "sextant.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"


@dataclass(frozen=True)
class CelRule:
    """One `x-kubernetes-validations` entry."""

    rule: str
    message: str
    field_path: str | None = None
    reason: str | None = None

    def as_schema(self) -> dict[str, str]:
        entry = {"rule": self.rule, "message": self.message}
        if self.field_path is not None:
            entry["fieldPath"] = self.field_path
        if self.reason is not None:
            entry["reason"] = self.reason
        return entry


_Check = TypeVar("_Check", bound=Callable[[Any], bool])


def cel(
    rule: str, message: str, *, field_path: str | None = None, reason: str | None = None
) -> Callable[[_Check], _Check]:
    """Declare a cross-field rule on an ApiModel method that returns True when valid.

    The API server evaluates `rule`; Python evaluates the decorated method. Both report
    `message`, which names the field so that a person knows what to fix.
    """

    def register(check: _Check) -> _Check:
        check.__cel_rule__ = CelRule(rule, message, field_path, reason)  # type: ignore[attr-defined]
        return check

    return register


def _add_rules_to_schema(schema: dict[str, Any], cls: type) -> None:
    rules: tuple[tuple[CelRule, Callable[[Any], bool]], ...] = getattr(cls, "_rules", ())
    if rules:
        schema["x-kubernetes-validations"] = [rule.as_schema() for rule, _ in rules]


# Validation context of objects read from the cluster: see ApiModel and Resource.from_cluster.
_FROM_CLUSTER = "sextant.from_cluster"


class ApiModel(BaseModel):
    """Base of every API object: camelCase on the wire, unknown fields rejected.

    `forbid` catches typos in manifests typed by hand, and keeps the generated CRD strict
    (no field the models do not declare). Objects read from the cluster are another
    matter: while a newer CRD is installed beside an older operator (during an upgrade,
    or a rollback of the operator), the API server keeps fields this operator has never
    heard of. Those are ignored, not fatal: see Resource.from_cluster.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        json_schema_extra=_add_rules_to_schema,
    )

    _rules: ClassVar[tuple[tuple[CelRule, Callable[[Any], bool]], ...]] = ()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        found: dict[str, tuple[CelRule, Callable[[Any], bool]]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                rule = getattr(value, "__cel_rule__", None)
                if isinstance(rule, CelRule):
                    found[name] = (rule, value)
        cls._rules = tuple(found.values())

    @classmethod
    def cel_rules(cls) -> tuple[CelRule, ...]:
        return tuple(rule for rule, _ in cls._rules)

    @model_validator(mode="before")
    @classmethod
    def _ignore_unknown_from_cluster(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not (info.context or {}).get(_FROM_CLUSTER):
            return data
        if cls.model_config.get("extra") != "forbid":
            return data
        known: set[str] = set()
        for name, found in cls.model_fields.items():
            known.add(name)
            if found.alias:
                known.add(found.alias)
        return {key: value for key, value in data.items() if key in known}

    @model_validator(mode="after")
    def _check_cel_rules(self) -> Self:
        failed = [rule.message for rule, check in self._rules if not check(self)]
        if failed:
            raise ValueError("; ".join(failed))
        return self


@dataclass(frozen=True)
class Matches:
    """A regular expression on a string, enforced by CEL `matches` with a readable message.

    A plain OpenAPI `pattern` would be rejected with the regex itself as the message;
    CEL lets the message say what is expected. The expression must be anchored (^...$)
    so that CEL's find semantics and Python's `re.search` agree.
    """

    regex: str
    message: str

    def __post_init__(self) -> None:
        if not (self.regex.startswith("^") and self.regex.endswith("$")):
            raise ValueError(f"Matches regex must be anchored: {self.regex}")

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        compiled = re.compile(self.regex)
        message = self.message

        def check(value: str) -> str:
            if compiled.search(value) is None:
                raise ValueError(message)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        rule = CelRule(f"self.matches({cel_string(self.regex)})", self.message)
        json_schema.setdefault("x-kubernetes-validations", []).append(rule.as_schema())
        return json_schema


@dataclass(eq=False)  # hashed by identity: typing hashes Annotated metadata, dicts cannot be
class SchemaExtra:
    """Keys added verbatim to a type's OpenAPI schema (format, x-kubernetes-* markers)."""

    values: dict[str, Any] = field(default_factory=dict)

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(self.values)
        return json_schema


def cel_string(text: str) -> str:
    """`text` as a single-quoted CEL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def nested(model: type[BaseModel], description: str) -> Any:
    """A sub-object that always exists: Python builds it, the API server defaults it to {}.

    The `{}` default makes the API server apply the defaults of the fields inside it, so a
    stored object shows every effective setting.
    """
    return Field(default_factory=model, description=description, json_schema_extra={"default": {}})


# --- scalar types shared by the kinds ---------------------------------------------------

Int32 = Annotated[int, SchemaExtra({"format": "int32"})]
Int64 = Annotated[int, SchemaExtra({"format": "int64"})]

_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
DNS_SUBDOMAIN_REGEX = rf"^{_DNS_LABEL}(\.{_DNS_LABEL})*$"
ObjectName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=253),
    Matches(
        DNS_SUBDOMAIN_REGEX,
        "must be a Kubernetes object name: lowercase letters, digits, '-' and '.'",
    ),
]

IDENTIFIER_REGEX = r"^[A-Za-z_][A-Za-z0-9_]*$"
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    Matches(
        IDENTIFIER_REGEX,
        "must be an identifier: letters, digits and '_', not starting with a digit",
    ),
]

DURATION_REGEX = r"^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$"
Duration = Annotated[
    str,
    StringConstraints(min_length=2, max_length=32),
    Matches(DURATION_REGEX, "must be a duration such as 30s, 2m, 1h30m or 24h"),
]


def _cron_field(value: str) -> str:
    element = rf"(\*|\?|({value})(-({value}))?)(/[0-9]{{1,2}})?"
    return rf"{element}(,{element})*"


_MONTHS = "JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC"
_DAYS = "SUN|MON|TUE|WED|THU|FRI|SAT"
CRON_REGEX = (
    r"^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|"
    + " ".join(
        _cron_field(value)
        for value in (
            "[0-5]?[0-9]",  # minute
            "[01]?[0-9]|2[0-3]",  # hour
            "0?[1-9]|[12][0-9]|3[01]",  # day of month
            f"0?[1-9]|1[0-2]|{_MONTHS}",  # month
            f"[0-7]|{_DAYS}",  # day of week
        )
    )
    + ")$"
)
Cron = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128),
    Matches(
        CRON_REGEX,
        "must be a cron schedule of five fields (minute hour day-of-month month "
        "day-of-week) such as '*/15 * * * *', or @hourly, @daily, @weekly, @monthly, @yearly",
    ),
]

DATA_URI_REGEX = (
    r"^(file:///[^\s]*|https?://[^\s/]+(/[^\s]*)?|"
    rf"pvc://{_DNS_LABEL}(\.{_DNS_LABEL})*/[^\s]+|s3://[a-z0-9][-a-z0-9.]*[a-z0-9]/[^\s]*)$"
)
DataUri = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    Matches(
        DATA_URI_REGEX,
        "must be a file:///PATH, http(s)://HOST/PATH, pvc://CLAIM/PATH or s3://BUCKET/KEY URI",
    ),
]

HTTP_URL_REGEX = r"^https?://[^\s/]+(/[^\s]*)?$"
HttpUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    Matches(HTTP_URL_REGEX, "must be an http:// or https:// URL"),
    SchemaExtra({"format": "uri"}),
]

DataFormat = Literal["parquet", "csv"]


class S3Access(ApiModel):
    """How pods reach an s3:// object (a model, a FeatureView source), as the standard AWS
    variables the runtime reads."""

    endpoint: HttpUrl | None = Field(
        default=None,
        description="S3-compatible endpoint, such as http://minio.storage:9000 "
        "(AWS_ENDPOINT_URL_S3). AWS S3 when omitted.",
    )
    region: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=64),
            Matches(r"^[a-z0-9-]+$", "must be a region name such as us-east-1"),
        ]
        | None
    ) = Field(default=None, description="Region (AWS_REGION). Default: us-east-1.")
    credentials_secret: ObjectName | None = Field(
        default=None,
        description="Secret in this namespace whose keys AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, optional) become the pods' "
        "credentials. When omitted, none are set (a ModelDeployment's runtime then uses "
        "AWS_* variables of spec.runtime.env).",
    )


class TableLocation(ApiModel):
    """A table file: where it is and how it is stored (FeatureView source, drift reference)."""

    uri: DataUri = Field(
        description="Table location: file:///PATH, http(s)://, pvc://CLAIM/PATH or s3://BUCKET/KEY."
    )
    format: DataFormat = Field(default="parquet", description="File format: parquet or csv.")


# --- status -------------------------------------------------------------------------------


class Condition(ApiModel):
    """The standard Kubernetes condition (metav1.Condition), so kstatus and Argo CD read it."""

    type: Annotated[
        str,
        StringConstraints(min_length=1, max_length=316),
        Matches(
            r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
            r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$",
            "must be a CamelCase condition type such as Ready",
        ),
    ] = Field(description="Condition type in CamelCase, such as Ready or Progressing.")
    status: Literal["True", "False", "Unknown"] = Field(
        description="Whether the condition holds: True, False or Unknown."
    )
    observed_generation: Annotated[Int64, Field(ge=0)] | None = Field(
        default=None,
        description="metadata.generation of the spec this condition was computed from.",
    )
    last_transition_time: datetime = Field(
        description="When the status last changed from one value to another."
    )
    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=1024),
        Matches(
            r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
            "must be a CamelCase reason such as ModelNotFound",
        ),
    ] = Field(description="CamelCase reason a program can switch on, such as ModelNotFound.")
    message: Annotated[str, StringConstraints(max_length=32768)] = Field(
        description="Human-readable details: what happened and what to do about it."
    )


Conditions = Annotated[
    list[Condition],
    Field(max_length=16),
    SchemaExtra({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}),
]


class ResourceStatus(ApiModel):
    """Fields every kind's status has."""

    observed_generation: Annotated[Int64, Field(ge=0)] | None = Field(
        default=None, description="metadata.generation the operator last acted on."
    )
    conditions: Conditions = Field(
        default_factory=list,
        description="Current state as standard conditions; Ready follows kstatus rules.",
    )

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


# --- top-level objects --------------------------------------------------------------------


class ObjectMeta(BaseModel):
    """The parts of metav1.ObjectMeta the operator reads; the API server owns the rest."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    generation: int | None = None
    resource_version: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class PrinterColumn:
    """One `additionalPrinterColumns` entry of `kubectl get`."""

    name: str
    type: Literal["string", "integer", "number", "boolean", "date"]
    json_path: str
    description: str
    priority: int = 0

    def as_schema(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            column["priority"] = self.priority
        return column


READY_COLUMN = PrinterColumn(
    "Ready",
    "string",
    '.status.conditions[?(@.type=="Ready")].status',
    "Status of the Ready condition.",
)
AGE_COLUMN = PrinterColumn(
    "Age", "date", ".metadata.creationTimestamp", "Time since the object was created."
)


@dataclass(frozen=True)
class CrdNames:
    """How Kubernetes names and shows a kind: plural, short names, columns, scale."""

    plural: str
    short_names: tuple[str, ...]
    printer_columns: tuple[PrinterColumn, ...]
    categories: tuple[str, ...] = ("sextant",)
    # The scale subresource's spec, status and selector paths, when the kind scales.
    scale: tuple[str, str, str] | None = None


class Resource(ApiModel):
    """A whole custom object as stored: apiVersion, kind, metadata, spec, status."""

    crd: ClassVar[CrdNames]

    api_version: Literal["sextant.dev/v1alpha1"] = Field(
        default="sextant.dev/v1alpha1", description="The API version: sextant.dev/v1alpha1."
    )
    metadata: ObjectMeta = Field(
        default_factory=ObjectMeta, description="Standard Kubernetes object metadata."
    )

    @classmethod
    def from_cluster(cls, body: Mapping[str, Any]) -> Self:
        """The object as the API server hands it over. Fields a newer CRD added (in spec,
        status, anywhere) are ignored; every field this operator knows is still checked."""
        return cls.model_validate(body, context={_FROM_CLUSTER: True})

    @classmethod
    def kind_name(cls) -> str:
        return cls.__name__
