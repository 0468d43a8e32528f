"""Everything `sextant serve` can be told, with the defaults API.md documents.

Each field has a command-line option and a SEXTANT_* environment variable (the operator
sets the variables); the names are listed in ENV so the CLI and docs agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sextant_runtime.device import DEVICES
from sextant_runtime.formats import FORMATS

if TYPE_CHECKING:
    from sextant_runtime.features.online import OnlineFeatures

ENV = {
    "source": "SEXTANT_MODEL_SOURCE",
    "name": "SEXTANT_MODEL_NAME",
    "host": "SEXTANT_HOST",
    "port": "SEXTANT_PORT",
    "max_batch_size": "SEXTANT_MAX_BATCH_SIZE",
    "max_delay_ms": "SEXTANT_MAX_DELAY_MS",
    "max_queue_size": "SEXTANT_MAX_QUEUE_SIZE",
    "device": "SEXTANT_DEVICE",
    "format": "SEXTANT_MODEL_FORMAT",
    "version": "SEXTANT_MODEL_VERSION",
    "track": "SEXTANT_TRACK",
    "threads": "SEXTANT_THREADS",
    "cache_dir": "SEXTANT_CACHE_DIR",
    "max_request_bytes": "SEXTANT_MAX_REQUEST_BYTES",
    "drain_seconds": "SEXTANT_DRAIN_SECONDS",
    "log_format": "SEXTANT_LOG_FORMAT",
    "prediction_log_url": "SEXTANT_PREDICTION_LOG_URL",
    "prediction_log_sample_rate": "SEXTANT_PREDICTION_LOG_SAMPLE_RATE",
    "prediction_log_max_length": "SEXTANT_PREDICTION_LOG_MAX_LENGTH",
    "features": "SEXTANT_FEATURES",
    "features_redis_password": "SEXTANT_FEATURES_REDIS_PASSWORD",
}


@dataclass(frozen=True)
class ServeConfig:
    source: str
    name: str
    host: str = "0.0.0.0"
    port: int = 8080
    max_batch_size: int = 32
    max_delay_ms: float = 5.0
    max_queue_size: int = 1024
    device: str = "auto"
    format: str | None = None
    # The `version` metric label and model version; default: the registry version, else "1".
    version: str | None = None
    track: str = "stable"
    # Intra-op threads for the backend; 0 lets onnxruntime / torch choose.
    threads: int = 0
    cache_dir: Path | None = None
    max_request_bytes: int = 64 * 1024 * 1024
    # After SIGTERM: seconds to keep serving (readiness already 503) so load balancers
    # stop sending, before the listener closes and queued work drains.
    drain_seconds: float = 5.0
    log_format: str = "json"
    tracking_uri: str | None = field(default=None)
    # The prediction log (spec.predictionLog): off unless a Redis URL is given.
    prediction_log_url: str | None = None
    prediction_log_sample_rate: float = 0.1
    prediction_log_max_length: int = 100_000
    # Online enrichment (spec.features): a FeatureView as JSON (features.online), and the
    # password of its Redis when a Secret holds it.
    features: str | None = None
    features_redis_password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        problems = []
        if not self.name or "/" in self.name:
            problems.append("name must be non-empty and contain no '/'")
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
        problems.extend(self._features_problems())
        if self.log_format not in ("json", "text"):
            problems.append("log_format must be json or text")
        if problems:
            raise ValueError("; ".join(problems))

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
