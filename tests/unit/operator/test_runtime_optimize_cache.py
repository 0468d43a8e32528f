"""spec.runtime.optimize and spec.runtime.cache reach `sextant serve` as its own settings,
and a cache that cannot work (no Redis URL) is said in a condition, never dropped."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime

import click
import pytest
from pydantic import ValidationError

from sextant import serving
from sextant.commands.serve import serve
from sextant_operator.render.deployment import render_deployment
from sextant_operator.responsecache import CONDITION, with_response_cache_condition
from sextant_operator.settings import OperatorSettings
from sextant_runtime.config import ServeConfig
from tests.unit.operator.builders import SETTINGS, context, model_deployment

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WITH_REDIS = replace(SETTINGS, redis_url="redis://redis.data:6379/0")
MODEL = {"uri": "file:///models/fraud.onnx"}


def runtime_env(spec: dict[str, object], settings: OperatorSettings = WITH_REDIS) -> dict[str, str]:
    ctx = replace(context(model_deployment(spec)), settings=settings)
    deployment = render_deployment(ctx, "stable", 1)
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e["value"] for e in container["env"]}


def test_optimize_renders_only_what_differs_from_the_runtime_defaults() -> None:
    plain = runtime_env({"model": MODEL})
    assert serving.GRAPH_OPTIMIZATION.env not in plain
    assert serving.QUANTIZE.env not in plain
    env = runtime_env(
        {
            "model": MODEL,
            "runtime": {"optimize": {"graphOptimization": "basic", "quantize": "dynamic-int8"}},
        }
    )
    assert env["SEXTANT_GRAPH_OPTIMIZATION"] == "basic"
    assert env["SEXTANT_QUANTIZE"] == "dynamic-int8"


def test_an_unknown_optimization_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError, match="quantize"):
        model_deployment({"model": MODEL, "runtime": {"optimize": {"quantize": "int4"}}})


def test_an_enabled_cache_gets_the_operators_redis_and_its_ttl_in_seconds() -> None:
    env = runtime_env({"model": MODEL, "runtime": {"cache": {"enabled": True, "ttl": "90m"}}})
    assert env["SEXTANT_RESPONSE_CACHE_URL"] == "redis://redis.data:6379/0"
    assert float(env["SEXTANT_RESPONSE_CACHE_TTL_SECONDS"]) == 5400.0
    md = model_deployment({"model": MODEL, "runtime": {"cache": {"enabled": True}}})
    [condition] = with_response_cache_condition([], md, WITH_REDIS, T0)
    assert (condition.type, condition.status, condition.reason) == (CONDITION, "True", "Caching")


def test_a_cache_without_a_redis_url_renders_nothing_and_the_condition_says_so() -> None:
    spec = {"model": MODEL, "runtime": {"cache": {"enabled": True}}}
    assert serving.RESPONSE_CACHE_URL.env not in runtime_env(spec, SETTINGS)
    [condition] = with_response_cache_condition([], model_deployment(spec), SETTINGS, T0)
    assert (condition.status, condition.reason) == ("False", "RedisNotConfigured")
    assert "spec.runtime.cache.enabled" in condition.message
    assert condition.observed_generation == 3


def test_a_disabled_cache_has_no_variables_and_no_condition() -> None:
    spec = {"model": MODEL, "runtime": {"cache": {"enabled": False}}}
    assert serving.RESPONSE_CACHE_URL.env not in runtime_env(spec)
    cached = with_response_cache_condition(
        [], model_deployment({"model": MODEL, "runtime": {"cache": {"enabled": True}}}), SETTINGS
    )
    assert with_response_cache_condition(cached, model_deployment(spec), SETTINGS) == []


def test_every_rendered_serve_variable_is_one_sextant_serve_reads() -> None:
    """The operator writes names `sextant serve` takes, from the one shared definition."""
    read = {p.envvar for p in serve.params if isinstance(p, click.Parameter)}
    spec = {
        "model": MODEL,
        "runtime": {"optimize": {"quantize": "dynamic-int8"}, "cache": {"enabled": True}},
        "predictionLog": {"sampleRate": 0.5},
    }
    rendered = {name for name in runtime_env(spec) if name.startswith("SEXTANT_")}
    assert rendered <= read


def test_serve_options_and_serve_config_share_names_and_defaults() -> None:
    options = {p.name: p for p in serve.params}
    fields = {f.name: f for f in dataclasses.fields(ServeConfig)}
    for setting in serving.SETTINGS:
        assert setting.field in fields, setting
        option = options.get(setting.field) or options[_OPTION_NAMES[setting.field]]
        assert option.envvar == setting.env, setting
        if setting.default not in (None, ""):
            assert option.default == setting.default, setting
            assert fields[setting.field].default == setting.default, setting


_OPTION_NAMES = {
    "source": "model_source",
    "format": "model_format",
    "version": "model_version",
    "tracking_uri": "mlflow_tracking_uri",
}
