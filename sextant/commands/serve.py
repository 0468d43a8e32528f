"""`sextant serve`: run one model behind the Open Inference Protocol v2, with dynamic batching.

Thin on purpose: options in, `sextant_runtime.main.run` out. Every option also reads a
SEXTANT_* environment variable (named explicitly: click's auto prefix would give
SEXTANT_SERVE_*), which is how the operator configures runtime pods.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

# Same names as sextant_runtime.config.ENV; duplicated so `--help` imports no runtime code.
_DEVICES = ("auto", "cpu", "cuda")
_FORMATS = ("onnx", "torchscript", "torch-export", "mlflow-pyfunc")


@click.command(context_settings={"show_default": True})
@click.argument("model_source", envvar="SEXTANT_MODEL_SOURCE")
@click.option(
    "--name", required=True, envvar="SEXTANT_MODEL_NAME", help="Model name in /v2/models/NAME."
)
@click.option("--host", default="0.0.0.0", envvar="SEXTANT_HOST", help="Address to listen on.")
@click.option("--port", default=8080, type=click.IntRange(1, 65535), envvar="SEXTANT_PORT")
@click.option(
    "--max-batch-size",
    default=32,
    type=click.IntRange(min=1),
    envvar="SEXTANT_MAX_BATCH_SIZE",
    help="Rows per batch; 1 turns batching off.",
)
@click.option(
    "--max-delay-ms",
    default=5.0,
    type=click.FloatRange(min=0),
    envvar="SEXTANT_MAX_DELAY_MS",
    help="How long a batch waits for more rows after its first request.",
)
@click.option(
    "--max-queue-size",
    default=1024,
    type=click.IntRange(min=1),
    envvar="SEXTANT_MAX_QUEUE_SIZE",
    help="Requests that may wait; past it, 429 at once.",
)
@click.option("--device", default="auto", type=click.Choice(_DEVICES), envvar="SEXTANT_DEVICE")
@click.option(
    "--format",
    "model_format",
    type=click.Choice(_FORMATS),
    envvar="SEXTANT_MODEL_FORMAT",
    help="Model format; detected from the artifact when omitted.",
)
@click.option(
    "--model-version",
    envvar="SEXTANT_MODEL_VERSION",
    help="Version label (default: the registry version, else 1).",
)
@click.option(
    "--track", default="stable", envvar="SEXTANT_TRACK", help="Metric label: stable, canary, ..."
)
@click.option(
    "--threads",
    default=0,
    type=click.IntRange(min=0),
    envvar="SEXTANT_THREADS",
    help="Backend intra-op threads; 0 lets the backend choose.",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SEXTANT_CACHE_DIR",
    help="Where downloaded models are kept (default: ~/.cache/sextant/models).",
)
@click.option(
    "--max-request-bytes",
    default=64 * 1024 * 1024,
    type=click.IntRange(min=1),
    envvar="SEXTANT_MAX_REQUEST_BYTES",
)
@click.option(
    "--drain-seconds",
    default=5.0,
    type=click.FloatRange(min=0),
    envvar="SEXTANT_DRAIN_SECONDS",
    help="After SIGTERM, keep serving this long (readiness 503) before closing the listener.",
)
@click.option(
    "--log-format", default="json", type=click.Choice(["json", "text"]), envvar="SEXTANT_LOG_FORMAT"
)
@click.option(
    "--prediction-log-url",
    envvar="SEXTANT_PREDICTION_LOG_URL",
    metavar="REDIS_URL",
    help="Log sampled requests to this Redis (stream sextant:predictions:NAME); off if unset.",
)
@click.option(
    "--prediction-log-sample-rate",
    default=0.1,
    type=click.FloatRange(0, 1),
    envvar="SEXTANT_PREDICTION_LOG_SAMPLE_RATE",
)
@click.option(
    "--prediction-log-max-length",
    default=100_000,
    type=click.IntRange(min=1),
    envvar="SEXTANT_PREDICTION_LOG_MAX_LENGTH",
    help="The stream is trimmed to about this many entries.",
)
@click.option(
    "--features",
    envvar="SEXTANT_FEATURES",
    metavar="JSON",
    help="Enrich requests with a FeatureView's online values from Redis: "
    '{"featureView": "NS/NAME", "redisUrl": ..., "entityInput": ..., "entity": {name, dtype}, '
    '"features": [{name, dtype}, ...], "onMissing": "default|null|reject"}. '
    "The operator sets it from spec.features.",
)
@click.option(
    "--features-redis-password",
    envvar="SEXTANT_FEATURES_REDIS_PASSWORD",
    metavar="PASSWORD",
    help="Password of the features' Redis (the operator sets it from the FeatureView's secretRef).",
)
@click.option(
    "--mlflow-tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    help="MLflow tracking server for models:/ sources.",
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
    prediction_log_url: str | None,
    prediction_log_sample_rate: float,
    prediction_log_max_length: int,
    features: str | None,
    features_redis_password: str | None,
    mlflow_tracking_uri: str | None,
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
            tracking_uri=mlflow_tracking_uri,
            prediction_log_url=prediction_log_url,
            prediction_log_sample_rate=prediction_log_sample_rate,
            prediction_log_max_length=prediction_log_max_length,
            features=features,
            features_redis_password=features_redis_password,
        )
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    sys.exit(run(config))
