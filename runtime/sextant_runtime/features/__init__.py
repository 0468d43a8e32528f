"""FeatureView jobs: point-in-time historical retrieval and Redis materialization.

`get_historical_features(entity_df, views)` joins an entity frame with FeatureViews as
Feast's SQL offline stores do (see `historical`); `materialize(view, redis)` copies the
latest values into Redis (see `materialize`, and `layout` for the keys the runtime
reads). Views come from YAML manifests (`load_views`) or are built as `View`s. Both jobs
run on DuckDB, reading parquet or csv from a path, file:// or http(s)://.
"""

from sextant_runtime.features.historical import get_historical_features
from sextant_runtime.features.materialize import Summary, materialize, read_watermark
from sextant_runtime.features.sources import SourceError
from sextant_runtime.features.views import Column, View, ViewError, load_views, parse_duration

__all__ = [
    "Column",
    "SourceError",
    "Summary",
    "View",
    "ViewError",
    "get_historical_features",
    "load_views",
    "materialize",
    "parse_duration",
    "read_watermark",
]
