"""Everything `sextant serve` can be told, with the defaults API.md documents.

Each field has a command-line option and a SEXTANT_* environment variable (the operator
sets the variables); names and defaults come from `sextant.serving`, shared with the CLI
and the operator's rendering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sextant import serving
from sextant_runtime.device import DEVICES
from sextant_runtime.formats import FORMATS

if TYPE_CHECKING:
    from sextant_runtime.features.online import OnlineFeatures

# ServeConfig field -> SEXTANT_* variable; defined once in sextant.serving, which the CLI
# and the operator's rendering read too.
ENV = serving.ENV


@dataclass(frozen=True)
class ServeConfig:
    source: str
    name: str
    host: str = serving.HOST.default
    port: int = serving.PORT.default
    max_batch_size: int = serving.MAX_BATCH_SIZE.default
    max_delay_ms: float = serving.MAX_DELAY_MS.default
    max_queue_size: int = serving.MAX_QUEUE_SIZE.default
    device: str = serving.DEVICE.default
    format: str | None = serving.FORMAT.default
    # The `version` metric label and model version; default: the registry version, else "1".
    version: str | None = serving.VERSION.default
    track: str = serving.TRACK.default
    # Intra-op threads for the backend; 0 lets onnxruntime / torch choose.
    threads: int = serving.THREADS.default
    cache_dir: Path | None = None
    max_request_bytes: int = serving.MAX_REQUEST_BYTES.default
    # After SIGTERM: seconds to keep serving (readiness already 503) so load balancers
    # stop sending, before the listener closes and queued work drains.
    drain_seconds: float = serving.DRAIN_SECONDS.default
    log_format: str = serving.LOG_FORMAT.default
    # batch: SCHED_BATCH for the runtime's threads (fewer context switches); normal: as
    # launched; auto: batch when `threads` is 1 (sextant_runtime.scheduling).
    cpu_scheduling: str = serving.CPU_SCHEDULING.default
    tracking_uri: str | None = field(default=serving.TRACKING_URI.default)
    namespace: str | None = serving.NAMESPACE.default
    # The prediction log (spec.predictionLog): off unless a Redis URL is given.
    prediction_log_url: str | None = serving.PREDICTION_LOG_URL.default
    prediction_log_sample_rate: float = serving.PREDICTION_LOG_SAMPLE_RATE.default
    prediction_log_max_length: int = serving.PREDICTION_LOG_MAX_LENGTH.default
    # Online enrichment (spec.features): a FeatureView as JSON (features.online), and the
    # password of its Redis when a Secret holds it.
    features: str | None = serving.FEATURES.default
    features_redis_password: str | None = field(
        default=serving.FEATURES_REDIS_PASSWORD.default, repr=False
    )
    # spec.runtime.optimize (ONNX models): graph optimization level, and dynamic int8
    # quantization kept only within `quantize_tolerance` of the float outputs.
    graph_optimization: str = serving.GRAPH_OPTIMIZATION.default
    quantize: str = serving.QUANTIZE.default
    quantize_tolerance: float = serving.QUANTIZE_TOLERANCE.default
    # spec.runtime.cache: Redis response cache; off unless a URL is given.
    response_cache_url: str | None = field(default=serving.RESPONSE_CACHE_URL.default, repr=False)
    response_cache_ttl_seconds: float = serving.RESPONSE_CACHE_TTL_SECONDS.default

    @property
    def redis_scope(self) -> str:
        """What names this model in Redis keys: NAMESPACE/NAME in a cluster, else NAME."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __post_init__(self) -> None:
        problems = [
            f"{label} must be non-empty and contain no '/'"
            for label, value in (("name", self.name), ("namespace", self.namespace))
            if value is not None and (not value or "/" in value)
        ]
        if self.max_batch_size < 1:
            problems.append("max_batch_size must be >= 1")
        if self.max_delay_ms < 0:
            problems.append("max_delay_ms must be >= 0")
        if self.max_queue_size < 1:
            problems.append("max_queue_size must be >= 1")
        if self.device not in DEVICES:
            problems.append(f"device must be one of {', '.join(DEVICES)}")
        if self.format is not None and self.format not in FORMATS:
            problems.append(f"format must be one of {', '.join(FORMATS)}")
        if not 0 < self.port < 65536:
            problems.append("port must be 1..65535")
        if self.drain_seconds < 0:
            problems.append("drain_seconds must be >= 0")
        if not 0.0 <= self.prediction_log_sample_rate <= 1.0:
            problems.append("prediction_log_sample_rate must be in [0, 1]")
        if self.prediction_log_max_length < 1:
            problems.append("prediction_log_max_length must be >= 1")
        problems.extend(self._optimize_and_cache_problems())
        problems.extend(self._features_problems())
        if self.log_format not in ("json", "text"):
            problems.append("log_format must be json or text")
        if self.cpu_scheduling not in serving.CPU_SCHEDULINGS:
            problems.append(f"cpu_scheduling must be one of {', '.join(serving.CPU_SCHEDULINGS)}")
        if problems:
            raise ValueError("; ".join(problems))

    def _optimize_and_cache_problems(self) -> list[str]:
        problems = []
        if self.graph_optimization not in serving.GRAPH_OPTIMIZATIONS:
            problems.append(
                f"graph_optimization must be one of {', '.join(serving.GRAPH_OPTIMIZATIONS)}"
            )
        if self.quantize not in serving.QUANTIZATIONS:
            problems.append(f"quantize must be one of {', '.join(serving.QUANTIZATIONS)}")
        if not 0 < self.quantize_tolerance <= 1:
            problems.append("quantize_tolerance must be in (0, 1]")
        if not self.response_cache_ttl_seconds > 0:
            problems.append("response_cache_ttl_seconds must be > 0")
        return problems

    def _features_problems(self) -> list[str]:
        try:
            self.online_features()
        except ValueError as err:
            return [str(err)]
        return []

    def online_features(self) -> OnlineFeatures | None:
        if self.features is None:
            return None
        # Imported only here: the features package loads DuckDB and pyarrow, which a
        # runtime without spec.features never needs.
        from sextant_runtime.features.online import OnlineFeatures  # noqa: PLC0415

        return OnlineFeatures.from_json(self.features)
