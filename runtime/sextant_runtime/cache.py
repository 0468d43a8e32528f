"""Response cache (spec.runtime.cache): the same input tensors to the same model version
are answered from Redis, without the batcher.

The key is `sextant:cache:{model}:{version}:{digest}`, the digest a BLAKE2b of every input
tensor (name, dtype, shape, bytes) after enrichment, so a new version never reads an older
version's entries and features read from Redis are part of the key. The value holds every
output the model produced, so requests that ask for different outputs or encodings share
one entry; the codec picks and encodes per request. Entries expire after the TTL.

Redis trouble never fails a request: the request is served by the model and counted as
`result="error"`, and for `PAUSE_SECONDS` after an error the cache is not tried at all
(counted the same way), so an outage costs no per-request timeouts.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import struct
import time
from typing import Any

import numpy as np
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from sextant_runtime.datatypes import decode_bytes_tensor, encode_bytes_tensor
from sextant_runtime.protocol import InferRequest

log = logging.getLogger(__name__)

Outputs = dict[str, np.ndarray]

KEY_PREFIX = "sextant:cache:"
TIMEOUT_SECONDS = 0.25  # a cache slower than this is worse than none
PAUSE_SECONDS = 2.0  # after an error, skip Redis this long
MAX_VALUE_BYTES = 4 * 1024 * 1024  # bigger responses are not worth a round trip
_LENGTH = struct.Struct("<I")
_BYTES = "BYTES"  # the dtype tag of string/bytes outputs in a value


def cache_key(model: str, version: str, request: InferRequest) -> bytes:
    """The entry of this request's inputs for this model version."""
    digest = hashlib.blake2b(digest_size=20)
    for name in sorted(request.inputs):
        arr = request.inputs[name]
        data = encode_bytes_tensor(arr) if arr.dtype.kind in "OSU" else arr.tobytes()
        # Every field length-prefixed, so no two different requests hash the same bytes.
        meta = orjson.dumps([name, arr.dtype.str, list(arr.shape), len(data)])
        digest.update(_LENGTH.pack(len(meta)))
        digest.update(meta)
        digest.update(data)
    return f"{KEY_PREFIX}{model}:{version}:{digest.hexdigest()}".encode()


def encode_outputs(outputs: Outputs) -> bytes:
    """[header length][JSON header: name, dtype, shape, size per output][data...]."""
    header: list[list[object]] = []
    chunks: list[bytes] = []
    for name, arr in outputs.items():
        if arr.dtype.kind in "OSU":
            data, dtype = encode_bytes_tensor(arr), _BYTES
        else:
            data, dtype = np.ascontiguousarray(arr).tobytes(), arr.dtype.str
        header.append([name, dtype, list(arr.shape), len(data)])
        chunks.append(data)
    head = orjson.dumps(header)
    return b"".join((_LENGTH.pack(len(head)), head, *chunks))


def decode_outputs(raw: bytes) -> Outputs:
    """The outputs `encode_outputs` wrote; ValueError when the value is not one."""
    view = memoryview(raw)
    if len(view) < _LENGTH.size:
        raise ValueError("cache value too short")
    (head_length,) = _LENGTH.unpack_from(view)
    offset = _LENGTH.size + head_length
    try:
        header = orjson.loads(view[_LENGTH.size : offset])
    except orjson.JSONDecodeError as err:
        raise ValueError(f"cache value header: {err}") from None
    outputs: Outputs = {}
    for name, dtype, shape, size in header:
        chunk = view[offset : offset + size]
        if len(chunk) != size:
            raise ValueError(f"cache value ends inside output {name!r}")
        offset += size
        count = int(np.prod(shape)) if shape else 1
        if dtype == _BYTES:
            arr = decode_bytes_tensor(chunk, count)
        else:
            arr = np.frombuffer(chunk, dtype=np.dtype(dtype))
        outputs[name] = arr.reshape(shape)
    return outputs


class ResponseCache:
    """One model version's entries in Redis, with hit/miss/error counts for /metrics."""

    def __init__(self, url: str, model: str, version: str, ttl_seconds: float) -> None:
        self.model, self.version = model, version
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self.counts = {"hit": 0, "miss": 0, "error": 0}
        self._paused_until = 0.0
        self._writes: set[asyncio.Future[Any]] = set()

    def key(self, request: InferRequest) -> bytes:
        return cache_key(self.model, self.version, request)

    async def get(self, key: bytes) -> Outputs | None:
        """The cached outputs, or None (miss, or Redis unavailable: served by the model)."""
        if self._paused():
            self.counts["error"] += 1
            return None
        try:
            raw = await self._redis.get(key)
        except (RedisError, OSError) as err:
            self._failed(err)
            self.counts["error"] += 1
            return None
        if raw is None:
            self.counts["miss"] += 1
            return None
        try:
            outputs = decode_outputs(raw if isinstance(raw, bytes) else raw.encode())
        except ValueError:
            self.counts["error"] += 1  # not ours or damaged: the model answers instead
            return None
        self.counts["hit"] += 1
        return outputs

    def put(self, key: bytes, outputs: Outputs) -> None:
        """Store in the background; the response does not wait for Redis."""
        if self._paused():
            return
        value = encode_outputs(outputs)
        if len(value) > MAX_VALUE_BYTES:
            return
        task = asyncio.ensure_future(self._redis.set(key, value, px=self._ttl_ms))
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Future[Any]) -> None:
        self._writes.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._failed(error)

    def _paused(self) -> bool:
        return self._paused_until > 0 and time.monotonic() < self._paused_until

    def _failed(self, err: BaseException) -> None:
        if not self._paused():
            log.warning(
                "response cache unavailable: serving without it",
                extra={"error": f"{type(err).__name__}: {err}", "retry_in_s": PAUSE_SECONDS},
            )
        self._paused_until = time.monotonic() + PAUSE_SECONDS

    def render(self, labels: str) -> bytes:
        name = "sextant_response_cache_requests_total"
        lines = [
            f"# HELP {name} Inference requests looked up in the response cache, by result "
            "(error: Redis unavailable, served by the model).",
            f"# TYPE {name} counter",
        ]
        lines += [f'{name}{{{labels},result="{r}"}} {n}' for r, n in self.counts.items()]
        return ("\n".join(lines) + "\n").encode()

    async def close(self) -> None:
        if self._writes:
            await asyncio.wait(list(self._writes), timeout=1.0)
        await self._redis.aclose()
