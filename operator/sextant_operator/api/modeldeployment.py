"""ModelDeployment: one model served by the runtime, rolled out with a strategy."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from sextant_operator.api.common import (
    AGE_COLUMN,
    ApiModel,
    CrdNames,
    DataUri,
    Duration,
    HttpUrl,
    Int32,
    Matches,
    ObjectName,
    PrinterColumn,
    Resource,
    ResourceStatus,
    S3Access,
    cel,
    nested,
)
from sextant_operator.api.core import (
    EnvVar,
    ResourceRequirements,
    Toleration,
    TopologySpreadConstraint,
    Unstructured,
)

ModelFormat = Literal["onnx", "torchscript", "torch-export", "mlflow-pyfunc"]
RolloutStrategy = Literal["RollingUpdate", "Canary", "BlueGreen"]

# --- spec.model ---------------------------------------------------------------------------


class RegistryModel(ApiModel):
    """A model version in an MLflow model registry, by alias or by version number."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="Registered model name, such as fraud-detector."
    )
    alias: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=255),
            Matches(r"^[A-Za-z0-9_-]+$", "must be an MLflow alias: letters, digits, '-', '_'"),
        ]
        | None
    ) = Field(
        default=None,
        description="Alias to follow, such as champion. When the alias moves to another "
        "version, a rollout starts. Exclusive with version.",
    )
    version: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=16),
            Matches(r"^[1-9][0-9]*$", 'must be an MLflow model version number such as "7"'),
        ]
        | None
    ) = Field(
        default=None,
        description='Fixed version number, as a string such as "7". Exclusive with alias.',
    )
    tracking_uri: HttpUrl | None = Field(
        default=None,
        description="MLflow tracking server URL, such as http://mlflow:5000. "
        "Default: the operator's setting.",
    )

    @cel(
        "has(self.alias) != has(self.version)",
        "spec.model.registry: set exactly one of alias or version",
    )
    def _alias_or_version(self) -> bool:
        return (self.alias is None) != (self.version is None)


class ModelSource(ApiModel):
    """Where the model comes from: a URI, or a version in the MLflow registry."""

    uri: DataUri | None = Field(
        default=None,
        description="Model location: file:///PATH (inside the runtime image), http(s)://, "
        "pvc://CLAIM/PATH (mounted read-only) or s3://BUCKET/KEY. Exclusive with registry.",
    )
    registry: RegistryModel | None = Field(
        default=None, description="A model version in an MLflow registry. Exclusive with uri."
    )
    format: ModelFormat | None = Field(
        default=None,
        description="Serialization format: onnx, torchscript, torch-export or mlflow-pyfunc. "
        "Detected from the file when omitted.",
    )
    s3: S3Access | None = Field(
        default=None,
        description="Endpoint, region and credentials Secret of an s3:// uri; only with one.",
    )

    @cel(
        "has(self.uri) != has(self.registry)",
        "spec.model: set exactly one of uri or registry",
    )
    def _one_source(self) -> bool:
        return (self.uri is None) != (self.registry is None)

    @cel(
        "!has(self.s3) || (has(self.uri) && self.uri.startsWith('s3://'))",
        "spec.model.s3 is only for an s3://BUCKET/KEY spec.model.uri",
        field_path=".s3",
    )
    def _s3_only_for_s3(self) -> bool:
        return self.s3 is None or (self.uri is not None and self.uri.startswith("s3://"))


# --- spec.runtime -------------------------------------------------------------------------


class Batching(ApiModel):
    """Dynamic batching: requests wait up to maxDelayMs to share one model call."""

    max_batch_size: Annotated[Int32, Field(ge=1, le=4096)] = Field(
        default=32, description="Largest number of requests run as one batch."
    )
    max_delay_ms: Annotated[Int32, Field(ge=0, le=10000)] = Field(
        default=5,
        description="Longest time in milliseconds a request waits for others to join its batch.",
    )
    max_queue_size: Annotated[Int32, Field(ge=1, le=1_000_000)] = Field(
        default=1024,
        description="Requests waiting beyond this many are refused with 429 (back-pressure).",
    )

    @cel(
        "self.maxQueueSize >= self.maxBatchSize",
        "spec.runtime.batching.maxQueueSize must be at least maxBatchSize",
        field_path=".maxQueueSize",
    )
    def _queue_holds_a_batch(self) -> bool:
        return self.max_queue_size >= self.max_batch_size


class Optimize(ApiModel):
    """Load-time optimization of ONNX models (onnxruntime); other formats load unchanged."""

    graph_optimization: Literal["all", "extended", "basic", "disabled"] = Field(
        default="all",
        description="onnxruntime graph optimization level: all, extended, basic or disabled.",
    )
    quantize: Literal["none", "dynamic-int8"] = Field(
        default="none",
        description="dynamic-int8 quantizes the weights at load and keeps the result only if "
        "its outputs on a random sample stay within 5% of the float model's (max |int8 - "
        "float| <= 0.05 x max(1, max |float|), per output); otherwise the float model is "
        "served, and the metric sextant_model_quantization_accepted and the model metadata "
        "say why.",
    )


class Cache(ApiModel):
    """A Redis response cache: the same input tensors to the same model version."""

    enabled: bool = Field(
        default=False,
        description="Answer repeated requests from Redis (the operator's Redis URL), keyed by "
        "model name, model version and the request's input tensors; never across versions.",
    )
    ttl: Duration = Field(default="1h", description="How long a response stays cached.")


class Runtime(ApiModel):
    """The serving container: image, batching, device, optimization, cache and extra env."""

    image: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=512),
            Matches(r"^[^\s]+$", "must be a container image reference without spaces"),
        ]
        | None
    ) = Field(default=None, description="Runtime container image. Default: the operator's setting.")
    batching: Batching = nested(Batching, "Dynamic batching of inference requests.")
    device: Literal["auto", "cpu", "cuda"] = Field(
        default="auto",
        description="Where the model runs: cuda, cpu, or auto (cuda when the pod has a GPU).",
    )
    env: Annotated[list[EnvVar], Field(max_length=64)] = Field(
        default_factory=list, description="Extra environment variables of the runtime container."
    )
    optimize: Optimize = nested(Optimize, "Load-time model optimization (ONNX models).")
    cache: Cache = nested(Cache, "Response cache in Redis (opt-in).")


# --- spec.gpu, spec.scheduling, spec.autoscaling -----------------------------------------


class Gpu(ApiModel):
    """NVIDIA GPUs for each replica: whole GPUs, or one MIG slice."""

    count: Annotated[Int32, Field(ge=1, le=16)] = Field(
        default=1, description="GPUs per replica; becomes the nvidia.com/gpu limit."
    )
    product: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=63),
            Matches(
                r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$",
                "must be a node label value such as NVIDIA-H100-80GB-HBM3",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="GPU model, such as NVIDIA-H100-80GB-HBM3; becomes a nodeSelector on "
        "nvidia.com/gpu.product.",
    )
    mig_profile: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=32),
            Matches(
                r"^([0-9]+c\.)?[0-9]+g\.[0-9]+gb(\+me)?$",
                "must be a MIG profile such as 1g.10gb or 3g.40gb",
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="MIG slice, such as 1g.10gb; requests nvidia.com/mig-PROFILE instead of "
        "nvidia.com/gpu. Only with count 1.",
    )

    @cel(
        "!(self.count > 1 && has(self.migProfile))",
        "spec.gpu.migProfile requests one MIG slice: it cannot be combined with count > 1",
        field_path=".migProfile",
    )
    def _mig_is_one_slice(self) -> bool:
        return not (self.count > 1 and self.mig_profile is not None)


class Scheduling(ApiModel):
    """Where replicas may run; each field is copied to the pod spec."""

    node_selector: Annotated[
        dict[
            Annotated[str, StringConstraints(max_length=316)],
            Annotated[str, StringConstraints(max_length=63)],
        ],
        Field(max_length=32),
    ] = Field(default_factory=dict, description="Node labels a node must have.")
    tolerations: Annotated[list[Toleration], Field(max_length=32)] = Field(
        default_factory=list, description="Taints the pods tolerate."
    )
    affinity: Unstructured | None = Field(
        default=None, description="Node and pod (anti-)affinity, as core/v1 Affinity."
    )
    priority_class_name: Annotated[str, StringConstraints(max_length=253)] | None = Field(
        default=None, description="PriorityClass of the pods."
    )
    runtime_class_name: Annotated[str, StringConstraints(max_length=253)] | None = Field(
        default=None, description="RuntimeClass of the pods, such as nvidia."
    )
    topology_spread_constraints: Annotated[list[TopologySpreadConstraint], Field(max_length=8)] = (
        Field(default_factory=list, description="How replicas spread across zones or nodes.")
    )


class Autoscaling(ApiModel):
    """A HorizontalPodAutoscaler that scales this ModelDeployment through its scale subresource."""

    min_replicas: Annotated[Int32, Field(ge=1, le=1000)] = Field(
        default=1, description="Fewest replicas."
    )
    max_replicas: Annotated[Int32, Field(ge=1, le=1000)] = Field(
        description="Most replicas; at least minReplicas."
    )
    target_cpu_utilization: Annotated[Int32, Field(ge=1, le=100)] | None = Field(
        default=None,
        alias="targetCPUUtilization",
        description="Average CPU use, in percent of the CPU request, to hold replicas at.",
    )
    target_inflight_requests: Annotated[Int32, Field(ge=1, le=100000)] | None = Field(
        default=None,
        description="Average in-flight requests per replica to hold (Pods metric "
        "sextant_inference_inflight_requests).",
    )

    @cel(
        "self.maxReplicas >= self.minReplicas",
        "spec.autoscaling.maxReplicas must be greater than or equal to minReplicas",
        field_path=".maxReplicas",
    )
    def _max_at_least_min(self) -> bool:
        return self.max_replicas >= self.min_replicas

    @cel(
        "has(self.targetCPUUtilization) || has(self.targetInflightRequests)",
        "spec.autoscaling needs a target: targetCPUUtilization or targetInflightRequests",
    )
    def _has_target(self) -> bool:
        return self.target_cpu_utilization is not None or self.target_inflight_requests is not None


# --- spec.rollout -------------------------------------------------------------------------


class Pause(ApiModel):
    """Hold the rollout at the current weight."""

    duration: Duration | None = Field(
        default=None,
        description="How long to wait, such as 2m. Omitted: wait for `sextant promote` or the "
        "sextant.dev/promote annotation.",
    )


class StepAnalysis(ApiModel):
    """Run spec.rollout.analysis once, now; the rollout aborts if it fails."""


HeaderName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    Matches(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", "must be an HTTP header name, such as x-cohort"),
]


class HeaderMatch(ApiModel):
    """One request header a cohort carries (a Gateway API HTTPHeaderMatch)."""

    header: HeaderName = Field(description="Header name, such as x-cohort; case-insensitive.")
    value: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="The value it must have (Exact) or match (RegularExpression)."
    )
    type: Literal["Exact", "RegularExpression"] = Field(
        default="Exact",
        description="Exact, or RegularExpression (its dialect is the Gateway implementation's).",
    )


class SetHeaderRoute(ApiModel):
    """Send every request that carries these headers to the canary (GatewayAPI routing)."""

    name: Annotated[
        str,
        StringConstraints(min_length=1, max_length=63),
        Matches(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "must be lowercase letters, digits and '-'"),
    ] = Field(description="Names the header route; a later step with this name replaces it.")
    match: Annotated[list[HeaderMatch], Field(min_length=1, max_length=8)] | None = Field(
        default=None,
        description="Headers a request must all carry to go to the canary. Omitted: the "
        "header route of this name is removed.",
    )

    @cel(
        "!has(self.match) || self.match.all(m, "
        "self.match.exists_one(n, n.header.lowerAscii() == m.header.lowerAscii()))",
        "spec.rollout.canary.steps[*].setHeaderRoute.match: each header may appear only once",
        field_path=".match",
    )
    def _unique_headers(self) -> bool:
        names = [m.header.lower() for m in self.match or []]
        return len(set(names)) == len(names)


class CanaryStep(ApiModel):
    """One step of a canary rollout; exactly one of setWeight, pause, analysis, setHeaderRoute."""

    set_weight: Annotated[Int32, Field(ge=0, le=100)] | None = Field(
        default=None, description="Send this percentage (0-100) of traffic to the canary."
    )
    pause: Pause | None = Field(default=None, description="Wait for a duration, or until promoted.")
    analysis: StepAnalysis | None = Field(
        default=None, description="Run spec.rollout.analysis once; abort when it fails."
    )
    set_header_route: SetHeaderRoute | None = Field(
        default=None,
        description="GatewayAPI routing only: send a cohort (requests with these headers) to "
        "the canary, whatever the weight; removed at promotion and abort.",
    )

    @cel(
        "(has(self.setWeight) ? 1 : 0) + (has(self.pause) ? 1 : 0) + "
        "(has(self.analysis) ? 1 : 0) + (has(self.setHeaderRoute) ? 1 : 0) == 1",
        "spec.rollout.canary.steps: each step must have exactly one of setWeight, pause, "
        "analysis or setHeaderRoute",
    )
    def _exactly_one_action(self) -> bool:
        actions = [self.set_weight, self.pause, self.analysis, self.set_header_route]
        return actions.count(None) == 3


class GatewayApiRouting(ApiModel):
    """Weights are set on a Gateway API HTTPRoute the user owns."""

    http_route: ObjectName = Field(
        description="Name of the HTTPRoute in this namespace whose backend weights the "
        "operator sets: its rules send traffic to backendRefs NAME-stable and NAME-canary "
        "(Services the operator makes for this ModelDeployment NAME), and only the weights "
        "of those two backendRefs ever change."
    )


class TrafficRouting(ApiModel):
    """How canary weight becomes traffic."""

    type: Literal["Replicas", "GatewayAPI"] = Field(
        default="Replicas",
        description="Replicas: weight approximated by the canary's share of replicas behind "
        "one Service. GatewayAPI: exact weights on an HTTPRoute.",
    )
    gateway_api: GatewayApiRouting | None = Field(
        default=None,
        alias="gatewayAPI",
        description="The HTTPRoute to drive; required with type GatewayAPI.",
    )

    @cel(
        "self.type != 'GatewayAPI' || has(self.gatewayAPI)",
        "spec.rollout.canary.trafficRouting.gatewayAPI is required when type is GatewayAPI",
        field_path=".gatewayAPI",
        reason="FieldValueRequired",
    )
    def _gateway_api_when_type(self) -> bool:
        return self.type != "GatewayAPI" or self.gateway_api is not None

    @cel(
        "self.type == 'GatewayAPI' || !has(self.gatewayAPI)",
        "spec.rollout.canary.trafficRouting.gatewayAPI is only allowed when type is GatewayAPI",
        field_path=".gatewayAPI",
        reason="FieldValueForbidden",
    )
    def _gateway_api_only_with_type(self) -> bool:
        return self.type == "GatewayAPI" or self.gateway_api is None


class Canary(ApiModel):
    """Shift traffic to the new version step by step."""

    steps: Annotated[list[CanaryStep], Field(min_length=1, max_length=32)] = Field(
        description="Steps run in order; after the last one the canary is promoted."
    )
    traffic_routing: TrafficRouting = nested(TrafficRouting, "How weights become traffic.")
    abort_scale_down_delay_seconds: Annotated[Int32, Field(ge=0, le=86400)] | None = Field(
        default=None,
        description="GatewayAPI routing only: seconds an aborted canary keeps its pods after "
        "its traffic went back to stable (in-flight requests finish, the gateway catches up); "
        "0 removes them at once. Default 30. With Replicas routing the canary's pods are its "
        "traffic, so they go at once.",
    )

    @cel(
        "self.trafficRouting.type == 'GatewayAPI' || !self.steps.exists(s, has(s.setHeaderRoute))",
        "spec.rollout.canary.steps: setHeaderRoute needs trafficRouting.type GatewayAPI",
        field_path=".trafficRouting.type",
        reason="FieldValueInvalid",
    )
    def _header_routes_need_gateway_api(self) -> bool:
        return self.traffic_routing.type == "GatewayAPI" or all(
            step.set_header_route is None for step in self.steps
        )

    @cel(
        "self.steps.all(s, !has(s.setHeaderRoute) || has(s.setHeaderRoute.match) || "
        "self.steps.exists(t, has(t.setHeaderRoute) && has(t.setHeaderRoute.match) && "
        "t.setHeaderRoute.name == s.setHeaderRoute.name))",
        "spec.rollout.canary.steps: a setHeaderRoute without match removes a header route, "
        "but no step sets one of that name",
        field_path=".steps",
    )
    def _removed_header_routes_exist(self) -> bool:
        routes = [s.set_header_route for s in self.steps if s.set_header_route is not None]
        named = {r.name for r in routes if r.match is not None}
        return all(r.name in named for r in routes)

    @cel(
        "!has(self.abortScaleDownDelaySeconds) || self.trafficRouting.type == 'GatewayAPI'",
        "spec.rollout.canary.abortScaleDownDelaySeconds needs trafficRouting.type GatewayAPI: "
        "with Replicas routing an aborted canary's pods take traffic until they are gone",
        field_path=".abortScaleDownDelaySeconds",
        reason="FieldValueForbidden",
    )
    def _abort_delay_needs_gateway_api(self) -> bool:
        return self.abort_scale_down_delay_seconds is None or (
            self.traffic_routing.type == "GatewayAPI"
        )


class BlueGreen(ApiModel):
    """Run the new version beside the old one and switch all traffic at once."""

    auto_promotion: bool = Field(
        default=True,
        description="Switch traffic as soon as the preview is ready (and analysis passed); "
        "false waits for `sextant promote`.",
    )
    pre_promotion_analysis: bool = Field(
        default=False,
        description="Run spec.rollout.analysis against the preview before switching.",
    )
    scale_down_delay_seconds: Annotated[Int32, Field(ge=0, le=86400)] = Field(
        default=30,
        description="Seconds the old version keeps running after the switch, for rollback.",
    )
    abort_scale_down_delay_seconds: Annotated[Int32, Field(ge=0, le=86400)] = Field(
        default=30,
        description="Seconds an aborted preview keeps its pods after active went back to "
        "stable; 0 removes them at once.",
    )


MetricName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=63),
    Matches(r"^[a-z][a-z0-9_-]*$", "must be lowercase letters, digits, '-' and '_'"),
]


class MetricCheck(ApiModel):
    """A PromQL query whose result must stay at or below max."""

    name: MetricName = Field(description="Name shown in status.rollout.analysis.")
    query: Annotated[str, StringConstraints(min_length=1, max_length=4096)] = Field(
        description="PromQL evaluated for the new version; {{model}}, {{version}}, {{track}} "
        "and {{namespace}} are substituted. The largest value of the series it returns is "
        "compared with max; no series or NaN is inconclusive, never a pass."
    )
    max: float = Field(description="Largest passing value.")


class Analysis(ApiModel):
    """Measurements from Prometheus that decide whether a new version is healthy."""

    interval: Duration = Field(default="30s", description="Time between measurements, such as 30s.")
    failure_limit: Annotated[Int32, Field(ge=0, le=100)] = Field(
        default=2, description="Failed measurements tolerated; one more aborts the rollout."
    )
    prometheus_url: HttpUrl | None = Field(
        default=None, description="Prometheus base URL. Default: the operator's setting."
    )
    max_error_rate: Annotated[float, Field(ge=0, le=1)] | None = Field(
        default=None, description="Largest share (0-1) of requests answered with an error."
    )
    max_latency_p99_ms: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="Largest 99th percentile request latency in milliseconds."
    )
    max_prediction_psi: Annotated[float, Field(ge=0)] | None = Field(
        default=None,
        alias="maxPredictionPSI",
        description="Largest population stability index between canary and stable outputs.",
    )
    compare_to_stable: bool = Field(
        default=False,
        description="Also test canary against stable statistically (error rate and latency), "
        "not only against the thresholds.",
    )
    metrics: Annotated[list[MetricCheck], Field(max_length=16)] = Field(
        default_factory=list, description="Extra PromQL checks."
    )
    count: Annotated[Int32, Field(ge=1, le=100)] = Field(
        default=3,
        description="Passing measurements an analysis step or pre-promotion analysis needs "
        "before the rollout goes on.",
    )
    inconclusive_limit: Annotated[Int32, Field(ge=0, le=100)] = Field(
        default=1,
        description="Inconclusive measurements (no data, too few samples) tolerated; one more "
        "pauses the rollout until `sextant promote` or `sextant abort`.",
    )
    consecutive_error_limit: Annotated[Int32, Field(ge=0, le=100)] = Field(
        default=4,
        description="Measurements in a row that could not be taken (Prometheus unreachable, "
        "a query error) tolerated; one more pauses the rollout until a measurement succeeds.",
    )
    min_samples: Annotated[Int32, Field(ge=3, le=10000)] = Field(
        default=10,
        description="compareToStable: samples (one per pod and sampleInterval) each of canary "
        "and stable needs; fewer is inconclusive.",
    )
    sample_interval: Duration = Field(
        default="10s",
        description="compareToStable: length of each per-interval sample (at least twice the "
        "Prometheus scrape interval); the comparison looks back minSamples of them, or one "
        "interval if that is longer.",
    )

    @cel(
        "has(self.maxErrorRate) || has(self.maxLatencyP99Ms) || has(self.maxPredictionPSI) || "
        "self.compareToStable || (has(self.metrics) && size(self.metrics) > 0)",
        "spec.rollout.analysis checks nothing: set maxErrorRate, maxLatencyP99Ms, "
        "maxPredictionPSI, compareToStable or metrics",
    )
    def _checks_something(self) -> bool:
        return (
            self.max_error_rate is not None
            or self.max_latency_p99_ms is not None
            or self.max_prediction_psi is not None
            or self.compare_to_stable
            or bool(self.metrics)
        )

    @cel(
        "!has(self.metrics) || self.metrics.all(m, self.metrics.exists_one(n, n.name == m.name))",
        "spec.rollout.analysis.metrics: names must be unique",
        field_path=".metrics",
    )
    def _unique_metric_names(self) -> bool:
        return len({m.name for m in self.metrics}) == len(self.metrics)


class Rollout(ApiModel):
    """How a new model version replaces the old one."""

    strategy: RolloutStrategy = Field(
        default="RollingUpdate",
        description="RollingUpdate (replace pods), Canary (shift traffic in steps) or "
        "BlueGreen (switch all at once after a preview).",
    )
    canary: Canary | None = Field(
        default=None, description="Canary steps; only with strategy Canary."
    )
    blue_green: BlueGreen | None = Field(
        default=None, description="Blue-green settings; only with strategy BlueGreen."
    )
    analysis: Analysis | None = Field(
        default=None, description="Health checks used by analysis steps and pre-promotion analysis."
    )
    progress_deadline_seconds: Annotated[Int32, Field(ge=1, le=86400)] = Field(
        default=600,
        description="Seconds a new version may take to get the ready pods a step needs; "
        "past it the rollout aborts. Pauses and analysis do not count.",
    )

    @cel(
        "!has(self.canary) || self.strategy == 'Canary'",
        "spec.rollout.canary is only allowed with strategy: Canary",
        field_path=".canary",
        reason="FieldValueForbidden",
    )
    def _canary_only_with_canary(self) -> bool:
        return self.canary is None or self.strategy == "Canary"

    @cel(
        "self.strategy != 'Canary' || has(self.canary)",
        "spec.rollout.canary is required with strategy: Canary",
        field_path=".canary",
        reason="FieldValueRequired",
    )
    def _canary_needs_steps(self) -> bool:
        return self.strategy != "Canary" or self.canary is not None

    @cel(
        "!has(self.blueGreen) || self.strategy == 'BlueGreen'",
        "spec.rollout.blueGreen is only allowed with strategy: BlueGreen",
        field_path=".blueGreen",
        reason="FieldValueForbidden",
    )
    def _blue_green_only_with_blue_green(self) -> bool:
        return self.blue_green is None or self.strategy == "BlueGreen"

    @cel(
        "has(self.analysis) || !has(self.canary) || !self.canary.steps.exists(s, has(s.analysis))",
        "spec.rollout.analysis is required by the analysis steps in spec.rollout.canary.steps",
        field_path=".analysis",
        reason="FieldValueRequired",
    )
    def _analysis_steps_need_analysis(self) -> bool:
        return (
            self.analysis is not None
            or self.canary is None
            or all(step.analysis is None for step in self.canary.steps)
        )

    @cel(
        "has(self.analysis) || !has(self.blueGreen) || !self.blueGreen.prePromotionAnalysis",
        "spec.rollout.analysis is required by spec.rollout.blueGreen.prePromotionAnalysis",
        field_path=".analysis",
        reason="FieldValueRequired",
    )
    def _pre_promotion_needs_analysis(self) -> bool:
        return (
            self.analysis is not None
            or self.blue_green is None
            or not self.blue_green.pre_promotion_analysis
        )


# --- spec.features, spec.predictionLog, spec.monitoring ----------------------------------


class FeatureLookup(ApiModel):
    """Online enrichment: look up features for the entity key a request carries."""

    feature_view: ObjectName = Field(description="FeatureView in this namespace to read.")
    entity_input: Annotated[
        str,
        StringConstraints(min_length=1, max_length=256),
        Matches(r"^[A-Za-z0-9_.:/-]+$", "must be a model input name"),
    ] = Field(description="Request input that holds the entity key, such as user_id.")
    on_missing: Literal["default", "null", "reject"] = Field(
        default="default",
        description="What a row gets when its entity has no online value (never materialized, "
        "or expired after the FeatureView's ttl) or a feature of it is null: default (the "
        "model input type's zero), null (NaN; floating-point model inputs only) or reject "
        "(the request is answered 404, naming the entity).",
    )


class PredictionLog(ApiModel):
    """Sampled inputs and outputs written to a Redis stream; DriftMonitor reads it."""

    sample_rate: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.1, description="Share (0-1) of requests logged."
    )
    max_length: Annotated[Int32, Field(ge=1, le=10_000_000)] = Field(
        default=100000, description="Entries kept in the stream; older ones are trimmed."
    )


class Monitoring(ApiModel):
    """Prometheus scraping of the runtime pods."""

    service_monitor: bool = Field(
        default=False,
        description="Create a ServiceMonitor (only where the Prometheus Operator CRDs exist).",
    )


class ModelDeploymentSpec(ApiModel):
    """The desired state of a served model."""

    model: ModelSource = Field(description="The model to serve: exactly one of uri or registry.")
    runtime: Runtime = nested(Runtime, "The serving container.")
    replicas: Annotated[Int32, Field(ge=0, le=1000)] = Field(
        default=1,
        description="Replicas of the stable version; the scale subresource. Ignored while "
        "spec.autoscaling is set.",
    )
    resources: ResourceRequirements = nested(
        ResourceRequirements, "CPU and memory requests and limits of each replica."
    )
    gpu: Gpu | None = Field(default=None, description="NVIDIA GPUs for each replica.")
    scheduling: Scheduling = nested(Scheduling, "Node selection, tolerations and spreading.")
    autoscaling: Autoscaling | None = Field(
        default=None, description="Scale with load through a HorizontalPodAutoscaler."
    )
    rollout: Rollout = nested(Rollout, "How a new model version replaces the old one.")
    features: FeatureLookup | None = Field(
        default=None, description="Enrich requests with online features from a FeatureView."
    )
    prediction_log: PredictionLog | None = Field(
        default=None, description="Log sampled predictions for drift monitoring."
    )
    monitoring: Monitoring = nested(Monitoring, "Prometheus scraping.")

    @cel(
        "!has(self.gpu) || self.runtime.device != 'cpu'",
        "spec.runtime.device is cpu but spec.gpu requests GPUs: use device auto or cuda",
        field_path=".runtime.device",
    )
    def _gpu_not_on_cpu(self) -> bool:
        return self.gpu is None or self.runtime.device != "cpu"


# --- status -------------------------------------------------------------------------------

Version = Annotated[str, StringConstraints(max_length=256)]


class ResolvedModel(ApiModel):
    """The model the spec resolves to right now."""

    version: Version | None = Field(default=None, description="Resolved version, such as 7.")
    uri: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="Where the runtime downloads it."
    )
    resolved_from: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="What was resolved, such as models:/fraud-detector@champion."
    )


class TrackStatus(ApiModel):
    """The stable version's pods."""

    version: Version | None = Field(default=None, description="Model version served.")
    uri: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None,
        description="Where this version's pods download the model; kept so that a registry "
        "alias move never loses the version that serves.",
    )
    replicas: Annotated[Int32, Field(ge=0)] | None = Field(
        default=None, description="Desired replicas."
    )
    ready_replicas: Annotated[Int32, Field(ge=0)] | None = Field(
        default=None, description="Replicas ready to serve."
    )


class CanaryStatus(TrackStatus):
    """The new version during a rollout: the canary, or the blue-green preview."""

    weight: Annotated[Int32, Field(ge=0, le=100)] | None = Field(
        default=None, description="Percentage of traffic sent to it."
    )
    step: Annotated[Int32, Field(ge=0)] | None = Field(
        default=None, description="Index of the current canary step."
    )


class AnalysisMeasurement(ApiModel):
    """One analysis measurement."""

    time: datetime = Field(description="When it was taken.")
    metric: MetricName = Field(description="Which check: error-rate, latency-p99, a metric name.")
    value: float | None = Field(
        default=None, description="Measured value; absent when there was no data."
    )
    passed: bool = Field(description="Whether the measurement passed.")
    phase: AnalysisPhase | None = Field(
        default=None,
        description="Successful, Failed, Inconclusive (no data, too few samples: never a "
        "pass) or Error (Prometheus unreachable, a query error).",
    )
    message: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        default=None, description="What was measured, or why nothing could be."
    )


AnalysisPhase = Literal["Successful", "Failed", "Inconclusive", "Error"]


class AnalysisRunStatus(ApiModel):
    """The analysis of the new version under way at one gate, kept across operator restarts."""

    version: Version = Field(description="The model version analysed.")
    gate: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="Where the rollout asked: step N, prePromotion, or background (while a "
        "canary takes traffic)."
    )
    phase: Literal["Running", "Successful", "Failed", "Inconclusive", "Error"] = Field(
        default="Running", description="Running, Successful, Failed, Inconclusive or Error."
    )
    message: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None, description="Why, in words a person can act on."
    )
    start_time: datetime = Field(description="When this analysis began.")
    last_measurement_time: datetime | None = Field(
        default=None,
        description="When the last measurement was taken; the next one is due an interval "
        "later, whatever else triggers a reconcile.",
    )
    successful: Annotated[Int32, Field(ge=0)] = Field(
        default=0, description="Passing measurements."
    )
    failed: Annotated[Int32, Field(ge=0)] = Field(default=0, description="Failed measurements.")
    inconclusive: Annotated[Int32, Field(ge=0)] = Field(
        default=0, description="Inconclusive measurements."
    )
    consecutive_errors: Annotated[Int32, Field(ge=0)] = Field(
        default=0, description="Measurements in a row that could not be taken."
    )


class RolloutStatus(ApiModel):
    """Progress of the current or last rollout."""

    state: Literal["Idle", "Progressing", "Paused", "Promoting", "Aborted", "Succeeded"] = Field(
        default="Idle", description="Idle, Progressing, Paused, Promoting, Aborted or Succeeded."
    )
    message: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None, description="What the rollout is doing or why it stopped."
    )
    analysis: Annotated[list[AnalysisMeasurement], Field(max_length=100)] = Field(
        default_factory=list, description="Recent analysis measurements, newest last."
    )
    analysis_run: AnalysisRunStatus | None = Field(
        default=None, description="The analysis under way, or the last one."
    )
    steps_hash: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None,
        description="Digest of the canary steps the step index refers to; new steps restart "
        "the rollout at step 0.",
    )
    pause_start_time: datetime | None = Field(
        default=None, description="When the current pause began; its end is computed from it."
    )
    progress_start_time: datetime | None = Field(
        default=None,
        description="Since when the new version has been short of the ready pods its step "
        "needs; the progress deadline counts from here.",
    )
    switch_time: datetime | None = Field(
        default=None,
        description="When a blue-green rollout switched active to the new version; the old "
        "one is scaled down scaleDownDelaySeconds later.",
    )
    full_promotion: bool | None = Field(
        default=None, description="Whether the remaining steps were skipped by promote --full."
    )
    aborted_version: Version | None = Field(
        default=None,
        description="The version whose rollout was aborted; it is not rolled out again until "
        "retried, while a newer version starts afresh.",
    )
    abort_time: datetime | None = Field(default=None, description="When the abort happened.")
    abort_scale_down_time: datetime | None = Field(
        default=None,
        description="When the aborted version's pods are removed: abortScaleDownDelaySeconds "
        "after the abort.",
    )
    header_routes: Annotated[list[SetHeaderRoute], Field(max_length=32)] = Field(
        default_factory=list,
        description="Header routes the canary steps so far put on the HTTPRoute (GatewayAPI); "
        "all are removed at promotion and abort.",
    )


class ModelDeploymentStatus(ResourceStatus):
    """What the operator observed and did."""

    phase: Literal["Pending", "Progressing", "Paused", "Ready", "Degraded", "Failed"] | None = (
        Field(default=None, description="Pending, Progressing, Paused, Ready, Degraded or Failed.")
    )
    url: Annotated[str, StringConstraints(max_length=2048)] | None = Field(
        default=None, description="In-cluster inference URL (Open Inference Protocol v2)."
    )
    model: ResolvedModel | None = Field(default=None, description="The resolved model.")
    stable: TrackStatus | None = Field(default=None, description="The stable version.")
    canary: CanaryStatus | None = Field(
        default=None, description="The new version while a rollout runs."
    )
    rollout: RolloutStatus | None = Field(default=None, description="Rollout progress.")
    replicas: Annotated[Int32, Field(ge=0)] | None = Field(
        default=None, description="Desired replicas; the scale subresource reads it."
    )
    ready_replicas: Annotated[Int32, Field(ge=0)] | None = Field(
        default=None, description="Ready replicas of every version together."
    )
    ready: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None,
        description="Ready replicas over desired, such as 2/3, as kubectl get shows it.",
    )
    selector: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None, description="Label selector of the pods, for the scale subresource and HPAs."
    )


class ModelDeployment(Resource):
    """A model served over the Open Inference Protocol, rolled out with a strategy."""

    crd: ClassVar[CrdNames] = CrdNames(
        plural="modeldeployments",
        short_names=("md",),
        printer_columns=(
            PrinterColumn("Phase", "string", ".status.phase", "Lifecycle phase."),
            PrinterColumn("Version", "string", ".status.model.version", "Resolved model version."),
            PrinterColumn(
                "Canary", "integer", ".status.canary.weight", "Traffic percentage on the canary."
            ),
            PrinterColumn("Ready", "string", ".status.ready", "Ready replicas over desired."),
            AGE_COLUMN,
        ),
        scale=(".spec.replicas", ".status.replicas", ".status.selector"),
    )

    kind: Literal["ModelDeployment"] = Field(
        default="ModelDeployment", description="ModelDeployment."
    )
    spec: ModelDeploymentSpec = Field(description="The desired state.")
    status: ModelDeploymentStatus | None = Field(default=None, description="The observed state.")

    @cel(
        "!has(self.metadata.name) || (size(self.metadata.name) <= 50 && "
        "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$'))",
        "metadata.name of a ModelDeployment must be a DNS-1035 label of at most 50 characters "
        "(it names a Service): lowercase letters, digits and '-', starting with a letter",
    )
    def _name_is_service_name(self) -> bool:
        name = self.metadata.name
        return name is None or (
            len(name) <= 50 and re.fullmatch(r"[a-z]([-a-z0-9]*[a-z0-9])?", name) is not None
        )
