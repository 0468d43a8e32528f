"""Kubernetes core/v1 types embedded in Sextant specs, as much of each as Sextant checks.

Deeply nested core types (affinity, a volume source) are kept as objects the API
server stores without pruning: the pod that uses them validates them in full.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, WithJsonSchema

from sextant_operator.api.common import (
    ApiModel,
    Int32,
    Int64,
    Matches,
    ObjectName,
    cel,
)

# resource.Quantity exactly as upstream CRDs (controller-gen) declare it.
QUANTITY_REGEX = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
Quantity = Annotated[
    int | Annotated[str, StringConstraints(max_length=64, pattern=QUANTITY_REGEX)],
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY_REGEX,
            "x-kubernetes-int-or-string": True,
        }
    ),
]

# A resource name such as cpu, memory or nvidia.com/gpu.
_RESOURCE_NAME = Annotated[str, StringConstraints(min_length=1, max_length=253)]
ResourceList = Annotated[dict[_RESOURCE_NAME, Quantity], Field(max_length=32)]

Unstructured = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]
"""A nested core/v1 object kept as given; the pod that uses it validates it."""


class ResourceRequirements(ApiModel):
    """Compute resources of each serving container (core/v1 ResourceRequirements)."""

    requests: ResourceList = Field(
        default_factory=dict,
        description="Minimum resources, such as cpu: 500m or memory: 1Gi; used for scheduling.",
    )
    limits: ResourceList = Field(
        default_factory=dict,
        description="Maximum resources. spec.gpu adds the GPU limit; do not set it here too.",
    )


class EnvVar(ApiModel):
    """One extra environment variable of the runtime container (core/v1 EnvVar)."""

    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=256),
        Matches(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$", "must be an environment variable name"),
    ] = Field(description="Variable name.")
    value: Annotated[str, StringConstraints(max_length=32768)] | None = Field(
        default=None, description="Literal value. Exclusive with valueFrom."
    )
    value_from: Unstructured | None = Field(
        default=None,
        description="Source of the value (secretKeyRef, configMapKeyRef, fieldRef, "
        "resourceFieldRef) as in core/v1 EnvVarSource. Exclusive with value.",
    )

    @cel(
        "!(has(self.value) && has(self.valueFrom))",
        "spec.runtime.env: set value or valueFrom, not both",
    )
    def _value_or_value_from(self) -> bool:
        return not (self.value is not None and self.value_from is not None)


class Toleration(ApiModel):
    """Lets pods schedule onto nodes with a matching taint (core/v1 Toleration)."""

    key: Annotated[str, StringConstraints(max_length=316)] | None = Field(
        default=None,
        description="Taint key to match; empty with operator Exists matches every taint.",
    )
    operator: Literal["Exists", "Equal"] = Field(default="Equal", description="Exists or Equal.")
    value: Annotated[str, StringConstraints(max_length=63)] | None = Field(
        default=None, description="Taint value to match with operator Equal."
    )
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"] | None = Field(
        default=None, description="Taint effect to match; empty matches every effect."
    )
    toleration_seconds: Int64 | None = Field(
        default=None,
        description="With effect NoExecute: how long the pod stays bound after the taint.",
    )


class TopologySpreadConstraint(ApiModel):
    """How replicas spread across zones or nodes (core/v1 TopologySpreadConstraint).

    The selector and the less common fields are passed through to the pod unchanged.
    """

    model_config = ConfigDict(extra="allow")

    max_skew: Annotated[Int32, Field(ge=1)] = Field(
        description="Largest allowed difference in replica count between two domains."
    )
    topology_key: Annotated[str, StringConstraints(min_length=1, max_length=316)] = Field(
        description="Node label that defines a domain, such as topology.kubernetes.io/zone."
    )
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = Field(
        description="DoNotSchedule or ScheduleAnyway."
    )


class SecretKeySelector(ApiModel):
    """One key of a Secret in the object's namespace."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: Annotated[
        str,
        StringConstraints(min_length=1, max_length=253),
        Matches(r"^[-._a-zA-Z0-9]+$", "must be a Secret key: letters, digits, '-', '_' and '.'"),
    ] = Field(description="Key inside the Secret.")
