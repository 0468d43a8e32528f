"""`sextant serve`: run one model behind the Open Inference Protocol v2, with dynamic batching.

Thin on purpose: options in, `sextant_runtime.main.run` out. Every option also reads a
SEXTANT_* environment variable (named explicitly: click's auto prefix would give
SEXTANT_SERVE_*), which is how the operator configures runtime pods.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

# Names and defaults live in sextant.serving (stdlib only, so `--help` imports no runtime
# code), shared with sextant_runtime.config and the operator's rendering.
from sextant import serving as s


@click.command(context_settings={"show_default": True})
@click.argument("model_source", envvar=s.SOURCE.env)
@click.option("--name", required=True, envvar=s.NAME.env, help="Model name in /v2/models/NAME.")
@click.option("--host", default=s.HOST.default, envvar=s.HOST.env, help="Address to listen on.")
@click.option("--port", default=s.PORT.default, type=click.IntRange(1, 65535), envvar=s.PORT.env)
@click.option(
    "--max-batch-size",
    default=s.MAX_BATCH_SIZE.default,
    type=click.IntRange(min=1),
    envvar=s.MAX_BATCH_SIZE.env,
    help="Rows per batch; 1 turns batching off.",
)
@click.option(
    "--max-delay-ms",
    default=s.MAX_DELAY_MS.default,
    type=click.FloatRange(min=0),
    envvar=s.MAX_DELAY_MS.env,
    help="How long a batch waits for more rows after its first request.",
)
@click.option(
    "--max-queue-size",
    default=s.MAX_QUEUE_SIZE.default,
    type=click.IntRange(min=1),
    envvar=s.MAX_QUEUE_SIZE.env,
    help="Requests that may wait; past it, 429 at once.",
)
@click.option(
    "--device", default=s.DEVICE.default, type=click.Choice(s.DEVICES), envvar=s.DEVICE.env
)
@click.option(
    "--format",
    "model_format",
    type=click.Choice(s.FORMATS),
    envvar=s.FORMAT.env,
    help="Model format; detected from the artifact when omitted.",
)
@click.option(
    "--model-version",
    envvar=s.VERSION.env,
    help="Version label (default: the registry version, else 1).",
)
@click.option(
    "--track", default=s.TRACK.default, envvar=s.TRACK.env, help="Metric label: stable, canary, ..."
)
@click.option(
    "--threads",
    default=s.THREADS.default,
    type=click.IntRange(min=0),
    envvar=s.THREADS.env,
    help="Backend intra-op threads; 0 lets the backend choose.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar=s.CACHE_DIR.env,
    help="Where downloaded models are kept (default: ~/.cache/sextant/models).",
)
@click.option(
    "--max-request-bytes",
    default=s.MAX_REQUEST_BYTES.default,
    type=click.IntRange(min=1),
    envvar=s.MAX_REQUEST_BYTES.env,
)
@click.option(
    "--drain-seconds",
    default=s.DRAIN_SECONDS.default,
    type=click.FloatRange(min=0),
    envvar=s.DRAIN_SECONDS.env,
    help="After SIGTERM, keep serving this long (readiness 503) before closing the listener.",
)
@click.option(
    "--log-format",
    default=s.LOG_FORMAT.default,
    type=click.Choice(["json", "text"]),
    envvar=s.LOG_FORMAT.env,
)
@click.option(
    "--cpu-scheduling",
    default=s.CPU_SCHEDULING.default,
    type=click.Choice(s.CPU_SCHEDULINGS),
    envvar=s.CPU_SCHEDULING.env,
    help="batch: run the server's threads under Linux SCHED_BATCH, so a thread that wakes "
    "another is not preempted by it (fewer context switches under load); normal: leave "
    "the scheduling policy as launched; auto: batch with --threads 1, else normal.",
)
@click.option(
    "--namespace",
    envvar=s.NAMESPACE.env,
    help="Scope the Redis keys (prediction log, labels, response cache) as NAMESPACE/NAME; "
    "the operator sets it to the ModelDeployment's namespace.",
)
@click.option(
    "--prediction-log-url",
    envvar=s.PREDICTION_LOG_URL.env,
    metavar="REDIS_URL",
    help="Log sampled requests to this Redis (stream sextant:predictions:[NAMESPACE/]NAME); "
    "off if unset.",
)
@click.option(
    "--prediction-log-sample-rate",
    default=s.PREDICTION_LOG_SAMPLE_RATE.default,
    type=click.FloatRange(0, 1),
    envvar=s.PREDICTION_LOG_SAMPLE_RATE.env,
)
@click.option(
    "--prediction-log-max-length",
    default=s.PREDICTION_LOG_MAX_LENGTH.default,
    type=click.IntRange(min=1),
    envvar=s.PREDICTION_LOG_MAX_LENGTH.env,
    help="The stream is trimmed to about this many entries.",
)
@click.option(
    "--features",
    envvar=s.FEATURES.env,
    metavar="JSON",
    help="Enrich requests with a FeatureView's online values from Redis: "
    '{"featureView": "NS/NAME", "redisUrl": ..., "entityInput": ..., "entity": {name, dtype}, '
    '"features": [{name, dtype}, ...], "onMissing": "default|null|reject"}. '
    "The operator sets it from spec.features.",
)
@click.option(
    "--features-redis-password",
    envvar=s.FEATURES_REDIS_PASSWORD.env,
    metavar="PASSWORD",
    help="Password of the features' Redis (the operator sets it from the FeatureView's secretRef).",
)
@click.option(
    "--mlflow-tracking-uri",
    envvar=s.TRACKING_URI.env,
    help="MLflow tracking server for models:/ sources.",
)
@click.option(
    "--graph-optimization",
    default=s.GRAPH_OPTIMIZATION.default,
    type=click.Choice(s.GRAPH_OPTIMIZATIONS),
    envvar=s.GRAPH_OPTIMIZATION.env,
    help="onnxruntime graph optimization level (ONNX models).",
)
@click.option(
    "--quantize",
    default=s.QUANTIZE.default,
    type=click.Choice(s.QUANTIZATIONS),
    envvar=s.QUANTIZE.env,
    help="dynamic-int8: quantize an ONNX model's weights at load, kept only when its outputs "
    "on a sample stay within --quantize-tolerance of the float model's.",
)
@click.option(
    "--quantize-tolerance",
    default=s.QUANTIZE_TOLERANCE.default,
    type=click.FloatRange(0, 1, min_open=True),
    envvar=s.QUANTIZE_TOLERANCE.env,
    help="Largest |quantized - float| per output, as a share of the float output's largest "
    "magnitude (floor 1).",
)
@click.option(
    "--response-cache-url",
    envvar=s.RESPONSE_CACHE_URL.env,
    metavar="REDIS_URL",
    help="Cache responses in this Redis, keyed by model version and input tensors; off if unset.",
)
@click.option(
    "--response-cache-ttl-seconds",
    default=s.RESPONSE_CACHE_TTL_SECONDS.default,
    type=click.FloatRange(0, min_open=True),
    envvar=s.RESPONSE_CACHE_TTL_SECONDS.env,
    help="How long a cached response is kept.",
)
def serve(
    *,
    model_source: str,
    name: str,
    host: str,
    port: int,
    max_batch_size: int,
    max_delay_ms: float,
    max_queue_size: int,
    device: str,
    model_format: str | None,
    model_version: str | None,
    track: str,
    threads: int,
    cache_dir: Path | None,
    max_request_bytes: int,
    drain_seconds: float,
    log_format: str,
    cpu_scheduling: str,
    namespace: str | None,
    prediction_log_url: str | None,
    prediction_log_sample_rate: float,
    prediction_log_max_length: int,
    features: str | None,
    features_redis_password: str | None,
    mlflow_tracking_uri: str | None,
    graph_optimization: str,
    quantize: str,
    quantize_tolerance: float,
    response_cache_url: str | None,
    response_cache_ttl_seconds: float,
) -> None:
    """Serve MODEL_SOURCE over the Open Inference Protocol v2.

    MODEL_SOURCE is a local path, file://, http(s):// URL, or an MLflow registry URI
    (models:/NAME@ALIAS, models:/NAME/VERSION). The format (onnx, torchscript,
    torch-export, mlflow-pyfunc) is detected from the artifact.
    """
    from sextant_runtime.config import ServeConfig
    from sextant_runtime.main import run

    try:
        config = ServeConfig(
            source=model_source,
            name=name,
            host=host,
            port=port,
            max_batch_size=max_batch_size,
            max_delay_ms=max_delay_ms,
            max_queue_size=max_queue_size,
            device=device,
            format=model_format,
            version=model_version,
            track=track,
            threads=threads,
            cache_dir=cache_dir,
            max_request_bytes=max_request_bytes,
            drain_seconds=drain_seconds,
            log_format=log_format,
            cpu_scheduling=cpu_scheduling,
            tracking_uri=mlflow_tracking_uri,
            namespace=namespace,
            prediction_log_url=prediction_log_url,
            prediction_log_sample_rate=prediction_log_sample_rate,
            prediction_log_max_length=prediction_log_max_length,
            features=features,
            features_redis_password=features_redis_password,
            graph_optimization=graph_optimization,
            quantize=quantize,
            quantize_tolerance=quantize_tolerance,
            response_cache_url=response_cache_url,
            response_cache_ttl_seconds=response_cache_ttl_seconds,
        )
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    sys.exit(run(config))
