"""spec.predictionLog reaches the runtime as environment, or a condition says why not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from sextant_operator.predictionlog import (
    STREAM_PREFIX,
    prediction_log_env,
    with_prediction_log_condition,
)
from sextant_operator.render.deployment import render_deployment
from sextant_operator.settings import OperatorSettings
from sextant_runtime.config import ENV
from sextant_runtime.predictionlog import stream_key
from tests.unit.operator.builders import SETTINGS, context, model_deployment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LOGGED = {
    "model": {"uri": "file:///models/fraud.onnx"},
    "predictionLog": {"sampleRate": 0.25, "maxLength": 5000},
}
WITH_REDIS = replace(SETTINGS, redis_url="redis://redis.data:6379/0")


def runtime_env(spec: dict[str, object], settings: OperatorSettings = WITH_REDIS) -> dict[str, str]:
    ctx = replace(context(model_deployment(spec)), settings=settings)
    deployment = render_deployment(ctx, "stable", 1)
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_prediction_log_becomes_the_runtimes_variables_with_the_operators_redis() -> None:
    env = runtime_env(LOGGED)
    assert env[ENV["prediction_log_url"]] == "redis://redis.data:6379/0"
    assert float(env[ENV["prediction_log_sample_rate"]]) == 0.25
    assert env[ENV["prediction_log_max_length"]] == "5000"
    # Keys are scoped by namespace: ml/fraud's log is not another namespace's fraud's.
    assert env[ENV["namespace"]] == "ml"


def test_no_prediction_log_no_variables() -> None:
    env = runtime_env({"model": {"uri": "file:///models/fraud.onnx"}})
    assert not any(name.startswith("SEXTANT_PREDICTION_LOG") for name in env)
    assert ENV["namespace"] not in env  # templates without Redis keys stay as they were


def test_without_a_redis_url_nothing_is_rendered_and_the_condition_says_so() -> None:
    md = model_deployment(LOGGED)
    assert prediction_log_env(md.spec, SETTINGS) == []
    [condition] = with_prediction_log_condition([], md, SETTINGS, T0)
    assert (condition.type, condition.status) == ("PredictionLog", "False")
    assert condition.reason == "RedisNotConfigured"
    assert "--redis-url" in condition.message
    assert condition.observed_generation == 3


def test_with_a_redis_url_the_condition_names_the_stream() -> None:
    md = model_deployment(LOGGED)
    [condition] = with_prediction_log_condition([], md, WITH_REDIS, T0)
    assert (condition.status, condition.reason) == ("True", "Logging")
    assert "sextant:predictions:ml/fraud" in condition.message  # scoped by namespace


def test_removing_the_field_removes_the_condition() -> None:
    logged = with_prediction_log_condition([], model_deployment(LOGGED), WITH_REDIS, T0)
    plain = model_deployment({"model": {"uri": "file:///models/fraud.onnx"}})
    assert with_prediction_log_condition(logged, plain, WITH_REDIS, T0) == []


def test_the_operators_stream_key_is_the_runtimes() -> None:
    assert stream_key("fraud") == f"{STREAM_PREFIX}fraud"
