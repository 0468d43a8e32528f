"""Invalid manifests, one per rule, with what the API server must say about each.

Shared by the unit tests (the pydantic models reject each one) and the integration
tests (the real API server rejects each one with the same message).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

API_VERSION = "sextant.dev/v1alpha1"

DELETE = object()
"""A patch value that removes the key."""


def merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`base` with `patch` merged in recursively; DELETE removes a key."""
    result = copy.deepcopy(base)
    for key, value in patch.items():
        if value is DELETE:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


BASE_SPECS: dict[str, dict[str, Any]] = {
    "ModelDeployment": {"model": {"uri": "file:///models/fraud.onnx"}},
    "FeatureView": {
        "entities": [{"name": "user_id", "dtype": "string"}],
        "features": [{"name": "age", "dtype": "int64"}, {"name": "ltv", "dtype": "float64"}],
        "source": {"uri": "pvc://data/users.parquet"},
    },
    "DriftMonitor": {
        "target": {"modelDeployment": "fraud"},
        "reference": {"uri": "pvc://data/train.parquet"},
    },
}


def manifest(kind: str, name: str, spec_patch: dict[str, Any]) -> dict[str, Any]:
    """A manifest of `kind`: the minimal valid spec with `spec_patch` merged in."""
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name},
        "spec": merged(BASE_SPECS[kind], spec_patch),
    }


@dataclass(frozen=True)
class Invalid:
    """A manifest the API server must reject."""

    id: str
    kind: str
    spec_patch: dict[str, Any]
    field: str
    """The field path the API server's message names."""
    message: str
    """Text the API server's message contains."""
    ours: bool = True
    """The message is Sextant's own (a CEL rule), so Python reports the very same text."""
    name: str | None = None

    def manifest(self) -> dict[str, Any]:
        return manifest(self.kind, self.name or self.id, self.spec_patch)


MD, FV, DM = "ModelDeployment", "FeatureView", "DriftMonitor"

_CANARY: dict[str, Any] = {"strategy": "Canary", "canary": {"steps": [{"setWeight": 10}]}}
_ANALYSIS: dict[str, Any] = {"maxErrorRate": 0.01}
_GATEWAY: dict[str, Any] = {
    "strategy": "Canary",
    "canary": {
        "steps": [{"setWeight": 10}],
        "trafficRouting": {"type": "GatewayAPI", "gatewayAPI": {"httpRoute": "fraud-route"}},
    },
}
_HEADER_ROUTE: dict[str, Any] = {"name": "beta", "match": [{"header": "x-cohort", "value": "beta"}]}
_URI_MESSAGE = "must be a file:///PATH, http(s)://HOST/PATH, pvc://CLAIM/PATH or s3://BUCKET/KEY"

CASES: tuple[Invalid, ...] = (
    # spec.model
    Invalid(
        "md-uri-and-registry",
        MD,
        {"model": {"registry": {"name": "fraud", "alias": "champion"}}},
        "spec.model",
        "set exactly one of uri or registry",
    ),
    Invalid(
        "md-no-model-source",
        MD,
        {"model": {"uri": DELETE, "format": "onnx"}},
        "spec.model",
        "set exactly one of uri or registry",
    ),
    Invalid(
        "md-alias-and-version",
        MD,
        {"model": {"uri": DELETE, "registry": {"name": "fraud", "alias": "a", "version": "7"}}},
        "spec.model.registry",
        "set exactly one of alias or version",
    ),
    Invalid(
        "md-registry-without-alias-or-version",
        MD,
        {"model": {"uri": DELETE, "registry": {"name": "fraud"}}},
        "spec.model.registry",
        "set exactly one of alias or version",
    ),
    Invalid(
        "md-uri-unknown-scheme",
        MD,
        {"model": {"uri": "ftp://models/fraud.onnx"}},
        "spec.model.uri",
        _URI_MESSAGE,
    ),
    Invalid(
        "md-s3-settings-without-s3-uri",
        MD,
        {"model": {"s3": {"endpoint": "http://minio.storage:9000"}}},
        "spec.model.s3",
        "spec.model.s3 is only for an s3://BUCKET/KEY spec.model.uri",
    ),
    Invalid(
        "md-s3-credentials-secret-not-a-name",
        MD,
        {"model": {"uri": "s3://models/m.onnx", "s3": {"credentialsSecret": "S3 Keys"}}},
        "spec.model.s3.credentialsSecret",
        "must be a Kubernetes object name",
    ),
    Invalid(
        "md-registry-version-not-a-number",
        MD,
        {"model": {"uri": DELETE, "registry": {"name": "fraud", "version": "latest"}}},
        "spec.model.registry.version",
        "must be an MLflow model version number",
    ),
    Invalid(
        "md-unknown-format",
        MD,
        {"model": {"format": "pickle"}},
        "spec.model.format",
        'Unsupported value: "pickle"',
        ours=False,
    ),
    # spec.runtime
    Invalid(
        "md-queue-smaller-than-batch",
        MD,
        {"runtime": {"batching": {"maxBatchSize": 64, "maxQueueSize": 8}}},
        "spec.runtime.batching.maxQueueSize",
        "maxQueueSize must be at least maxBatchSize",
    ),
    Invalid(
        "md-env-value-and-value-from",
        MD,
        {
            "runtime": {
                "env": [
                    {
                        "name": "TOKEN",
                        "value": "x",
                        "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                    }
                ]
            }
        },
        "spec.runtime.env[0]",
        "set value or valueFrom, not both",
    ),
    Invalid(
        "md-unknown-device",
        MD,
        {"runtime": {"device": "tpu"}},
        "spec.runtime.device",
        'Unsupported value: "tpu"',
        ours=False,
    ),
    Invalid(
        "md-unknown-quantization",
        MD,
        {"runtime": {"optimize": {"quantize": "int4"}}},
        "spec.runtime.optimize.quantize",
        'Unsupported value: "int4"',
        ours=False,
    ),
    Invalid(
        "md-unknown-graph-optimization",
        MD,
        {"runtime": {"optimize": {"graphOptimization": "max"}}},
        "spec.runtime.optimize.graphOptimization",
        'Unsupported value: "max"',
        ours=False,
    ),
    Invalid(
        "md-cache-ttl-not-a-duration",
        MD,
        {"runtime": {"cache": {"enabled": True, "ttl": "an hour"}}},
        "spec.runtime.cache.ttl",
        "must be a duration such as 30s, 2m, 1h30m or 24h",
    ),
    Invalid(
        "md-negative-replicas",
        MD,
        {"replicas": -1},
        "spec.replicas",
        "should be greater than or equal to 0",
        ours=False,
    ),
    Invalid(
        "md-malformed-quantity",
        MD,
        {"resources": {"requests": {"cpu": "lots"}}},
        "spec.resources.requests.cpu",
        "should match",
        ours=False,
    ),
    # spec.gpu
    Invalid(
        "md-gpu-count-zero",
        MD,
        {"gpu": {"count": 0}},
        "spec.gpu.count",
        "should be greater than or equal to 1",
        ours=False,
    ),
    Invalid(
        "md-gpu-count-with-mig",
        MD,
        {"gpu": {"count": 2, "migProfile": "1g.10gb"}},
        "spec.gpu.migProfile",
        "cannot be combined with count > 1",
    ),
    Invalid(
        "md-malformed-mig-profile",
        MD,
        {"gpu": {"migProfile": "small"}},
        "spec.gpu.migProfile",
        "must be a MIG profile",
    ),
    Invalid(
        "md-gpu-on-cpu-device",
        MD,
        {"gpu": {"count": 1}, "runtime": {"device": "cpu"}},
        "spec.runtime.device",
        "spec.gpu requests GPUs: use device auto or cuda",
    ),
    # spec.autoscaling
    Invalid(
        "md-max-replicas-below-min",
        MD,
        {"autoscaling": {"minReplicas": 5, "maxReplicas": 2, "targetCPUUtilization": 70}},
        "spec.autoscaling.maxReplicas",
        "maxReplicas must be greater than or equal to minReplicas",
    ),
    Invalid(
        "md-autoscaling-without-target",
        MD,
        {"autoscaling": {"maxReplicas": 4}},
        "spec.autoscaling",
        "needs a target: targetCPUUtilization or targetInflightRequests",
    ),
    # spec.rollout
    Invalid(
        "md-set-weight-over-100",
        MD,
        {"rollout": {"strategy": "Canary", "canary": {"steps": [{"setWeight": 120}]}}},
        "spec.rollout.canary.steps[0].setWeight",
        "should be less than or equal to 100",
        ours=False,
    ),
    Invalid(
        "md-step-with-two-keys",
        MD,
        {"rollout": {"strategy": "Canary", "canary": {"steps": [{"setWeight": 10, "pause": {}}]}}},
        "spec.rollout.canary.steps[0]",
        "each step must have exactly one of setWeight, pause, analysis or setHeaderRoute",
    ),
    Invalid(
        "md-empty-step",
        MD,
        {"rollout": {"strategy": "Canary", "canary": {"steps": [{"setWeight": 10}, {}]}}},
        "spec.rollout.canary.steps[1]",
        "each step must have exactly one of setWeight, pause, analysis or setHeaderRoute",
    ),
    Invalid(
        "md-no-steps",
        MD,
        {"rollout": {"strategy": "Canary", "canary": {"steps": []}}},
        "spec.rollout.canary.steps",
        "should have at least 1 items",
        ours=False,
    ),
    Invalid(
        "md-malformed-pause-duration",
        MD,
        {
            "rollout": {
                "strategy": "Canary",
                "canary": {"steps": [{"setWeight": 10}, {"pause": {"duration": "2 minutes"}}]},
            }
        },
        "spec.rollout.canary.steps[1].pause.duration",
        "must be a duration such as 30s, 2m, 1h30m or 24h",
    ),
    Invalid(
        "md-canary-with-rolling-update",
        MD,
        {"rollout": {"strategy": "RollingUpdate", "canary": {"steps": [{"setWeight": 10}]}}},
        "spec.rollout.canary",
        "spec.rollout.canary is only allowed with strategy: Canary",
    ),
    Invalid(
        "md-canary-strategy-without-canary",
        MD,
        {"rollout": {"strategy": "Canary"}},
        "spec.rollout.canary",
        "spec.rollout.canary is required with strategy: Canary",
    ),
    Invalid(
        "md-blue-green-with-canary",
        MD,
        {"rollout": {**_CANARY, "blueGreen": {"autoPromotion": True}}},
        "spec.rollout.blueGreen",
        "spec.rollout.blueGreen is only allowed with strategy: BlueGreen",
    ),
    Invalid(
        "md-unknown-strategy",
        MD,
        {"rollout": {"strategy": "Recreate"}},
        "spec.rollout.strategy",
        'Unsupported value: "Recreate"',
        ours=False,
    ),
    Invalid(
        "md-analysis-step-without-analysis",
        MD,
        {
            "rollout": {
                "strategy": "Canary",
                "canary": {"steps": [{"setWeight": 10}, {"analysis": {}}]},
            }
        },
        "spec.rollout.analysis",
        "spec.rollout.analysis is required by the analysis steps",
    ),
    Invalid(
        "md-pre-promotion-without-analysis",
        MD,
        {"rollout": {"strategy": "BlueGreen", "blueGreen": {"prePromotionAnalysis": True}}},
        "spec.rollout.analysis",
        "spec.rollout.analysis is required by spec.rollout.blueGreen.prePromotionAnalysis",
    ),
    Invalid(
        "md-gateway-api-without-route",
        MD,
        {
            "rollout": {
                **_CANARY,
                "canary": {**_CANARY["canary"], "trafficRouting": {"type": "GatewayAPI"}},
            }
        },
        "spec.rollout.canary.trafficRouting.gatewayAPI",
        "gatewayAPI is required when type is GatewayAPI",
    ),
    Invalid(
        "md-gateway-route-with-replicas",
        MD,
        {
            "rollout": {
                **_CANARY,
                "canary": {
                    **_CANARY["canary"],
                    "trafficRouting": {"type": "Replicas", "gatewayAPI": {"httpRoute": "fraud"}},
                },
            }
        },
        "spec.rollout.canary.trafficRouting.gatewayAPI",
        "gatewayAPI is only allowed when type is GatewayAPI",
    ),
    Invalid(
        "md-header-route-without-gateway-api",
        MD,
        {"rollout": {**_CANARY, "canary": {"steps": [{"setHeaderRoute": _HEADER_ROUTE}]}}},
        "spec.rollout.canary.trafficRouting.type",
        "setHeaderRoute needs trafficRouting.type GatewayAPI",
    ),
    Invalid(
        "md-header-route-header-twice",
        MD,
        {
            "rollout": {
                **_GATEWAY,
                "canary": {
                    **_GATEWAY["canary"],
                    "steps": [
                        {
                            "setHeaderRoute": {
                                "name": "beta",
                                "match": [
                                    {"header": "x-cohort", "value": "a"},
                                    {"header": "X-Cohort", "value": "b"},
                                ],
                            }
                        }
                    ],
                },
            }
        },
        "spec.rollout.canary.steps[0].setHeaderRoute.match",
        "each header may appear only once",
    ),
    Invalid(
        "md-header-route-bad-header-name",
        MD,
        {
            "rollout": {
                **_GATEWAY,
                "canary": {
                    **_GATEWAY["canary"],
                    "steps": [
                        {
                            "setHeaderRoute": {
                                "name": "beta",
                                "match": [{"header": "x cohort", "value": "a"}],
                            }
                        }
                    ],
                },
            }
        },
        "spec.rollout.canary.steps[0].setHeaderRoute.match[0].header",
        "must be an HTTP header name",
    ),
    Invalid(
        "md-header-route-removed-but-never-set",
        MD,
        {
            "rollout": {
                **_GATEWAY,
                "canary": {**_GATEWAY["canary"], "steps": [{"setHeaderRoute": {"name": "beta"}}]},
            }
        },
        "spec.rollout.canary.steps",
        "no step sets one of that name",
    ),
    Invalid(
        "md-abort-delay-with-replicas-routing",
        MD,
        {"rollout": {**_CANARY, "canary": {**_CANARY["canary"], "abortScaleDownDelaySeconds": 5}}},
        "spec.rollout.canary.abortScaleDownDelaySeconds",
        "abortScaleDownDelaySeconds needs trafficRouting.type GatewayAPI",
    ),
    Invalid(
        "md-analysis-checks-nothing",
        MD,
        {"rollout": {**_CANARY, "analysis": {"interval": "30s"}}},
        "spec.rollout.analysis",
        "spec.rollout.analysis checks nothing",
    ),
    Invalid(
        "md-malformed-analysis-interval",
        MD,
        {"rollout": {**_CANARY, "analysis": {**_ANALYSIS, "interval": "soon"}}},
        "spec.rollout.analysis.interval",
        "must be a duration such as 30s, 2m, 1h30m or 24h",
    ),
    Invalid(
        "md-error-rate-above-one",
        MD,
        {"rollout": {**_CANARY, "analysis": {"maxErrorRate": 5}}},
        "spec.rollout.analysis.maxErrorRate",
        "should be less than or equal to 1",
        ours=False,
    ),
    Invalid(
        "md-duplicate-metric-names",
        MD,
        {
            "rollout": {
                **_CANARY,
                "analysis": {
                    "metrics": [
                        {"name": "queue", "query": "up", "max": 1},
                        {"name": "queue", "query": "up", "max": 2},
                    ]
                },
            }
        },
        "spec.rollout.analysis.metrics",
        "names must be unique",
    ),
    # metadata and unknown fields
    Invalid(
        "md-name-not-a-service-name",
        MD,
        {},
        "metadata.name",
        "metadata.name of a ModelDeployment must be a DNS-1035 label of at most 50 characters",
        name="1-fraud",
    ),
    Invalid(
        "md-unknown-field",
        MD,
        {"modelz": {"uri": "file:///models/fraud.onnx"}},
        "spec.modelz",
        'unknown field "spec.modelz"',
        ours=False,
    ),
    # FeatureView
    Invalid(
        "fv-duplicate-feature-names",
        FV,
        {"features": [{"name": "age", "dtype": "int64"}, {"name": "age", "dtype": "float64"}]},
        "spec.features",
        "feature names must be unique",
    ),
    Invalid(
        "fv-duplicate-entity-names",
        FV,
        {"entities": [{"name": "user_id"}, {"name": "user_id", "dtype": "int64"}]},
        "spec.entities",
        "entity names must be unique",
    ),
    Invalid(
        "fv-feature-named-like-an-entity",
        FV,
        {"features": [{"name": "user_id", "dtype": "string"}]},
        "spec.features",
        "a feature cannot have the name of an entity",
    ),
    Invalid(
        "fv-s3-settings-without-s3-uri",
        FV,
        {"source": {"s3": {"region": "eu-west-1"}}},
        "spec.source.s3",
        "spec.source.s3 is only for an s3://BUCKET/KEY spec.source.uri",
    ),
    Invalid(
        "fv-no-entities",
        FV,
        {"entities": []},
        "spec.entities",
        "should have at least 1 items",
        ours=False,
    ),
    Invalid(
        "fv-feature-name-not-an-identifier",
        FV,
        {"features": [{"name": "life time value", "dtype": "float64"}]},
        "spec.features[0].name",
        "must be an identifier",
    ),
    Invalid(
        "fv-unknown-dtype",
        FV,
        {"features": [{"name": "age", "dtype": "decimal"}]},
        "spec.features[0].dtype",
        'Unsupported value: "decimal"',
        ours=False,
    ),
    Invalid(
        "fv-malformed-ttl",
        FV,
        {"ttl": "1 day"},
        "spec.ttl",
        "must be a duration such as 30s, 2m, 1h30m or 24h",
    ),
    Invalid(
        "fv-malformed-schedule",
        FV,
        {"materialization": {"schedule": "every 15 minutes"}},
        "spec.materialization.schedule",
        "must be a cron schedule of five fields",
    ),
    Invalid(
        "fv-schedule-minute-out-of-range",
        FV,
        {"materialization": {"schedule": "61 * * * *"}},
        "spec.materialization.schedule",
        "must be a cron schedule of five fields",
    ),
    Invalid(
        "fv-parallelism-zero",
        FV,
        {"materialization": {"schedule": "*/15 * * * *", "parallelism": 0}},
        "spec.materialization.parallelism",
        "should be greater than or equal to 1",
        ours=False,
    ),
    Invalid(
        "fv-created-timestamp-same-as-timestamp",
        FV,
        {"source": {"timestampField": "ts", "createdTimestampField": "ts"}},
        "spec.source.createdTimestampField",
        "must differ from spec.source.timestampField",
    ),
    Invalid(
        "fv-source-uri-unknown-scheme",
        FV,
        {"source": {"uri": "users.parquet"}},
        "spec.source.uri",
        _URI_MESSAGE,
    ),
    Invalid(
        "fv-malformed-redis-url",
        FV,
        {"online": {"redisUrl": "http://redis:6379"}},
        "spec.online.redisUrl",
        "must be a redis://, rediss:// or unix:// URL",
    ),
    # DriftMonitor
    Invalid(
        "dm-s3-settings-without-s3-uri",
        DM,
        {"reference": {"uri": "https://data/train.parquet", "s3": {"region": "eu-west-1"}}},
        "spec.reference.s3",
        "spec.reference.s3 is only for an s3://BUCKET/KEY spec.reference.uri",
    ),
    Invalid(
        "dm-drift-share-zero",
        DM,
        {"driftShare": 0},
        "spec.driftShare",
        "should be greater than 0",
        ours=False,
    ),
    Invalid(
        "dm-drift-share-above-one",
        DM,
        {"driftShare": 1.5},
        "spec.driftShare",
        "should be less than or equal to 1",
        ours=False,
    ),
    Invalid(
        "dm-duplicate-feature-names",
        DM,
        {
            "features": [
                {"name": "amount", "type": "numerical"},
                {"name": "amount", "type": "categorical"},
            ]
        },
        "spec.features",
        "feature names must be unique",
    ),
    Invalid(
        "dm-malformed-schedule",
        DM,
        {"schedule": "*/10 * * *"},
        "spec.schedule",
        "must be a cron schedule of five fields",
    ),
    Invalid(
        "dm-webhook-without-url",
        DM,
        {"actions": [{"type": "Alert"}, {"type": "Webhook"}]},
        "spec.actions[1].url",
        "url is required with type Webhook",
    ),
    Invalid(
        "dm-url-on-alert",
        DM,
        {"actions": [{"type": "Alert", "url": "http://hooks/drift"}]},
        "spec.actions[0].url",
        "url is only allowed with type Webhook",
    ),
    Invalid(
        "dm-categorical-test-for-numerical",
        DM,
        {"tests": {"numerical": "chisquare"}},
        "spec.tests.numerical",
        'Unsupported value: "chisquare"',
        ours=False,
    ),
    Invalid(
        "dm-missing-target",
        DM,
        {"target": DELETE},
        "spec.target",
        "Required value",
        ours=False,
    ),
)
