"""spec.runtime.cache: the condition that says whether the response cache can work.

The runtime caches in Redis only when it is given a URL, the operator's `--redis-url`
(SEXTANT_REDIS_URL); runtime_contract.cache_env renders it. Without one the field cannot
work, so `ResponseCache=False` says so instead of the field being dropped. Pure.
"""

from __future__ import annotations

from datetime import datetime

from sextant_operator.api import Condition
from sextant_operator.api.modeldeployment import ModelDeployment
from sextant_operator.conditions import set_feature_condition
from sextant_operator.settings import OperatorSettings

CONDITION = "ResponseCache"


def with_response_cache_condition(
    conditions: list[Condition],
    md: ModelDeployment,
    settings: OperatorSettings,
    now: datetime | None = None,
) -> list[Condition]:
    """`ResponseCache` True (caching) or False (no Redis URL); absent while it is off."""
    cache = md.spec.runtime.cache
    problem = None
    if not settings.redis_url:
        problem = (
            "RedisNotConfigured",
            "spec.runtime.cache.enabled is true, but the operator has no Redis URL "
            "(--redis-url / SEXTANT_REDIS_URL, chart value operator.redisUrl): "
            "responses are not cached",
        )
    working = (
        "Caching",
        f"responses are cached in the operator's Redis for {cache.ttl}, keyed by model "
        "version and input tensors (hits and misses: sextant_response_cache_requests_total)",
    )
    return set_feature_condition(
        conditions,
        CONDITION,
        working=working if cache.enabled else None,
        problem=problem,
        generation=md.metadata.generation,
        now=now,
    )
