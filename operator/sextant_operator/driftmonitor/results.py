"""A drift check's JSON result (as `sextant drift check` prints it) into status.lastCheck,
and reading it from Redis, where the job left it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import redis
from pydantic import ValidationError

from sextant_operator.api.driftmonitor import DriftCheck, FeatureDrift, PerformanceCheck

_REDIS_TIMEOUT_SECONDS = 5.0
_MESSAGE_LIMIT = 512


class ResultUnavailable(Exception):
    """The result cannot be read: Redis unreachable, the key gone, or not a result."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def read_result(redis_url: str, key: str) -> dict[str, Any]:
    try:
        with redis.Redis.from_url(
            redis_url,
            socket_timeout=_REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=_REDIS_TIMEOUT_SECONDS,
        ) as client:
            raw = client.get(key)
    except (redis.RedisError, OSError) as err:
        raise ResultUnavailable("RedisUnavailable", f"reading {key}: {err}") from err
    if raw is None:
        raise ResultUnavailable("ResultMissing", f"{key} is not in Redis (expired or deleted)")
    try:
        parsed = json.loads(raw)
    except ValueError as err:
        raise ResultUnavailable("ResultInvalid", f"{key}: not JSON: {err}") from err
    if not isinstance(parsed, dict):
        raise ResultUnavailable("ResultInvalid", f"{key}: not a JSON object")
    return parsed


def to_last_check(result: dict[str, Any], finished_at: datetime) -> DriftCheck:
    """status.lastCheck from a result; raises ResultUnavailable if it is not one."""
    try:
        return DriftCheck(
            time=finished_at,
            sample_size=result["sampleSize"],
            dataset_drift=result["datasetDrift"],
            drift_share=result["driftShare"] or 0.0,
            features=[_feature(f) for f in result["features"]],
            performance=_performance(result.get("performance")),
        )
    except (KeyError, TypeError, ValidationError) as err:
        raise ResultUnavailable("ResultInvalid", f"not a drift check result: {err}") from err


def _performance(result: dict[str, Any] | None) -> PerformanceCheck | None:
    if result is None:
        return None
    message = result.get("message") or ""
    return PerformanceCheck(
        task=result["task"],
        prediction=result["prediction"],
        sample_size=result["sampleSize"],
        # JSON null is an undefined metric (r2 of constant labels): left out of the map.
        metrics={k: v for k, v in (result.get("metrics") or {}).items() if v is not None},
        message=message[:_MESSAGE_LIMIT] or None,
    )


def _feature(result: dict[str, Any]) -> FeatureDrift:
    tested = result.get("status", "ok") == "ok"
    message = result.get("message") or ("" if tested else str(result.get("status")))
    return FeatureDrift(
        name=result["name"],
        test=result.get("test"),
        statistic=result.get("statistic"),
        p_value=result.get("pValue"),
        drifted=bool(result.get("drifted")),
        role="prediction" if result.get("role") == "prediction" else None,
        message=message[:_MESSAGE_LIMIT] or None,
    )
