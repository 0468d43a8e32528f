"""`sextant serve`'s settings: one environment variable name and one default each.

The single source for the CLI (`sextant serve` options), the runtime (ServeConfig) and the
operator (the runtime container's environment). Plain stdlib on purpose: the operator
image has no onnxruntime and the runtime image has no kopf, and both import this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One `sextant serve` option: its ServeConfig field, variable and default."""

    field: str
    env: str
    default: T


SOURCE = Setting("source", "SEXTANT_MODEL_SOURCE", "")
NAME = Setting("name", "SEXTANT_MODEL_NAME", "")
# The ModelDeployment's namespace: Redis keys (prediction log, labels, response cache) are
# scoped NAMESPACE/NAME, so same-named models in two namespaces never share them.
NAMESPACE = Setting[str | None]("namespace", "SEXTANT_NAMESPACE", None)
HOST = Setting("host", "SEXTANT_HOST", "0.0.0.0")
PORT = Setting("port", "SEXTANT_PORT", 8080)
MAX_BATCH_SIZE = Setting("max_batch_size", "SEXTANT_MAX_BATCH_SIZE", 32)
MAX_DELAY_MS = Setting("max_delay_ms", "SEXTANT_MAX_DELAY_MS", 5.0)
MAX_QUEUE_SIZE = Setting("max_queue_size", "SEXTANT_MAX_QUEUE_SIZE", 1024)
DEVICE = Setting("device", "SEXTANT_DEVICE", "auto")
FORMAT = Setting[str | None]("format", "SEXTANT_MODEL_FORMAT", None)
VERSION = Setting[str | None]("version", "SEXTANT_MODEL_VERSION", None)
TRACK = Setting("track", "SEXTANT_TRACK", "stable")
THREADS = Setting("threads", "SEXTANT_THREADS", 0)
CACHE_DIR = Setting[str | None]("cache_dir", "SEXTANT_CACHE_DIR", None)
MAX_REQUEST_BYTES = Setting("max_request_bytes", "SEXTANT_MAX_REQUEST_BYTES", 64 * 1024 * 1024)
DRAIN_SECONDS = Setting("drain_seconds", "SEXTANT_DRAIN_SECONDS", 5.0)
LOG_FORMAT = Setting("log_format", "SEXTANT_LOG_FORMAT", "json")
# The Linux scheduling policy of the runtime's threads (sextant_runtime.scheduling).
CPU_SCHEDULING = Setting("cpu_scheduling", "SEXTANT_CPU_SCHEDULING", "auto")
TRACKING_URI = Setting[str | None]("tracking_uri", "MLFLOW_TRACKING_URI", None)
PREDICTION_LOG_URL = Setting[str | None]("prediction_log_url", "SEXTANT_PREDICTION_LOG_URL", None)
PREDICTION_LOG_SAMPLE_RATE = Setting(
    "prediction_log_sample_rate", "SEXTANT_PREDICTION_LOG_SAMPLE_RATE", 0.1
)
PREDICTION_LOG_MAX_LENGTH = Setting(
    "prediction_log_max_length", "SEXTANT_PREDICTION_LOG_MAX_LENGTH", 100_000
)
FEATURES = Setting[str | None]("features", "SEXTANT_FEATURES", None)
FEATURES_REDIS_PASSWORD = Setting[str | None](
    "features_redis_password", "SEXTANT_FEATURES_REDIS_PASSWORD", None
)
# spec.runtime.optimize: onnxruntime's graph optimization level, and opt-in dynamic int8
# quantization kept only when its outputs on a sample stay within tolerance.
GRAPH_OPTIMIZATION = Setting("graph_optimization", "SEXTANT_GRAPH_OPTIMIZATION", "all")
QUANTIZE = Setting("quantize", "SEXTANT_QUANTIZE", "none")
QUANTIZE_TOLERANCE = Setting("quantize_tolerance", "SEXTANT_QUANTIZE_TOLERANCE", 0.05)
# spec.runtime.cache: a Redis response cache, off unless a URL is given.
RESPONSE_CACHE_URL = Setting[str | None]("response_cache_url", "SEXTANT_RESPONSE_CACHE_URL", None)
RESPONSE_CACHE_TTL_SECONDS = Setting(
    "response_cache_ttl_seconds", "SEXTANT_RESPONSE_CACHE_TTL_SECONDS", 3600.0
)

GRAPH_OPTIMIZATIONS = ("all", "extended", "basic", "disabled")
QUANTIZATIONS = ("none", "dynamic-int8")
DEVICES = ("auto", "cpu", "cuda")
CPU_SCHEDULINGS = ("auto", "batch", "normal")
FORMATS = ("onnx", "torchscript", "torch-export", "mlflow-pyfunc")

SETTINGS: tuple[Setting[object], ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, Setting)
)
# ServeConfig field -> environment variable.
ENV: dict[str, str] = {s.field: s.env for s in SETTINGS}
