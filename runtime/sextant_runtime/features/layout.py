"""How a FeatureView's online values are laid out in Redis: written by `sextant
materialize`, read by the runtime's online enrichment in one pipelined round trip per
batch (an HMGET per entity).

    sextant:fv:{namespace}/{name}                 hash: the view's bookkeeping
        watermark | watermark:{I}/{N}             newest event time materialized (epoch µs),
                                                  for the whole view or for shard I of N
        last | last:{I}/{N}                       JSON summary of that run
    sextant:fv:{namespace}/{name}#entities        sorted set: every entity hash written,
                                                  scored by its expiry (epoch ms; +inf
                                                  without ttl): the online entity count
    sextant:fv:{namespace}/{name}:{key}           hash: one entity's latest values
        {feature}                                 the value, encoded as below; absent = null
        _ts                                       its event time (epoch µs)
        _created                                  its created time (epoch µs; empty if none)

`{key}` is the entity's key values, in the spec's order, each percent-encoded (every
byte but letters, digits and `_.-~`) and joined with `:`; an integer key is its decimal
form. Kubernetes names hold neither `/` nor `:`, so no key of one view can be read as
another's. The entity hash expires at its event time + ttl (PEXPIREAT), so an online
read sees what a point-in-time lookup at that instant would; no ttl, no expiry.

Values: string as UTF-8, bytes as they are, bool `1`/`0`, integers in decimal, floats in
the shortest decimal that reads back to the same float32/float64 (`inf`, `-inf`, `nan`),
timestamp as epoch microseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

PREFIX = "sextant:fv"
EVENT_TIME_FIELD = "_ts"
CREATED_FIELD = "_created"

Key = str | bytes | int
Value = str | bytes | bool | int | float | datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def view_key(namespace: str, name: str) -> str:
    """The view's bookkeeping hash; also the prefix of its entity keys."""
    return f"{PREFIX}:{namespace}/{name}"


def entity_key(namespace: str, name: str, values: Sequence[Key]) -> str:
    """The hash holding one entity's values, from its key values in the spec's order."""
    return view_key(namespace, name) + ":" + ":".join(_encode_key(v) for v in values)


def index_key(namespace: str, name: str) -> str:
    """The sorted set of the view's entity hashes by expiry (`#` never ends a key part)."""
    return view_key(namespace, name) + "#entities"


def watermark_field(shard: int = 0, shards: int = 1) -> str:
    return "watermark" if shards == 1 else f"watermark:{shard}/{shards}"


def summary_field(shard: int = 0, shards: int = 1) -> str:
    return "last" if shards == 1 else f"last:{shard}/{shards}"


def micros(instant: datetime) -> int:
    """Epoch microseconds of an instant; a naive one is read as UTC."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return (instant - _EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def decode_value(dtype: str, raw: bytes | None) -> Value | None:
    """A feature value as Python reads it back (None when the field is absent)."""
    if raw is None:
        return None
    return _DECODERS[dtype](raw)


def encode_value(dtype: str, value: Value) -> str | bytes:
    """The encoding `sextant materialize` writes (it computes the same in SQL)."""
    if dtype == "bytes":
        if not isinstance(value, bytes):
            raise TypeError(f"a bytes feature cannot hold {type(value).__name__}")
        return value
    if dtype == "bool":
        return "1" if value else "0"
    if dtype == "timestamp":
        if not isinstance(value, datetime):
            raise TypeError(f"a timestamp feature cannot hold {type(value).__name__}")
        return str(micros(value))
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return str(value)


_DECODERS: dict[str, Callable[[bytes], Value]] = {
    "string": bytes.decode,
    "bytes": bytes,
    "bool": lambda raw: raw == b"1",
    "int32": int,
    "int64": int,
    "float32": float,
    "float64": float,
    "timestamp": lambda raw: from_micros(int(raw)),
}


def _encode_key(value: Key) -> str:
    if isinstance(value, bool):
        raise TypeError("an entity key cannot be a bool")
    if isinstance(value, int):
        return str(value)
    return quote(value, safe="")
