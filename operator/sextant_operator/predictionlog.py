"""spec.predictionLog: the runtime's environment for it, and the condition that says if it works.

The runtime logs to Redis only when it is given a URL; the URL is the operator's
`--redis-url` (SEXTANT_REDIS_URL). Without one the field cannot work, so a
`PredictionLog=False` condition says so instead of the field being dropped. Pure.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sextant import serving
from sextant_operator.api import Condition
from sextant_operator.api.modeldeployment import ModelDeployment, ModelDeploymentSpec
from sextant_operator.conditions import set_feature_condition
from sextant_operator.settings import OperatorSettings

CONDITION = "PredictionLog"
# The runtime's stream key (sextant_runtime.predictionlog.stream_key); the operator image
# does not ship the runtime package, so the prefix is repeated here and tested against it.
STREAM_PREFIX = "sextant:predictions:"


def redis_scope(namespace: str, model_deployment: str) -> str:
    """How a ModelDeployment's runtime names its model in Redis keys (`sextant serve
    --namespace`, set by the operator): NAMESPACE/NAME."""
    return f"{namespace}/{model_deployment}"


def stream_key(scope: str) -> str:
    """The Redis stream a runtime logs to, by its scope (redis_scope)."""
    return f"{STREAM_PREFIX}{scope}"


def prediction_log_env(
    spec: ModelDeploymentSpec, settings: OperatorSettings
) -> list[dict[str, Any]]:
    """The runtime variables of `sextant serve`'s prediction log; none when it is off."""
    log = spec.prediction_log
    if log is None or not settings.redis_url:
        return []
    return [
        {"name": serving.PREDICTION_LOG_URL.env, "value": settings.redis_url},
        {"name": serving.PREDICTION_LOG_SAMPLE_RATE.env, "value": repr(float(log.sample_rate))},
        {"name": serving.PREDICTION_LOG_MAX_LENGTH.env, "value": str(log.max_length)},
    ]


def with_prediction_log_condition(
    conditions: list[Condition],
    md: ModelDeployment,
    settings: OperatorSettings,
    now: datetime | None = None,
) -> list[Condition]:
    """`PredictionLog` True (logging) or False (no Redis URL); absent when the field is."""
    log = md.spec.prediction_log
    working = None
    if log is not None:
        working = (
            "Logging",
            f"{log.sample_rate:g} of requests go to the Redis stream "
            f"{stream_key(redis_scope(md.metadata.namespace or '', md.metadata.name or ''))} "
            f"(about {log.max_length} entries kept)",
        )
    problem = None
    if not settings.redis_url:
        problem = (
            "RedisNotConfigured",
            "spec.predictionLog is set, but the operator has no Redis URL "
            "(--redis-url / SEXTANT_REDIS_URL, chart value operator.redisUrl): "
            "nothing is logged",
        )
    return set_feature_condition(
        conditions,
        CONDITION,
        working=working,
        problem=problem,
        generation=md.metadata.generation,
        now=now,
    )
