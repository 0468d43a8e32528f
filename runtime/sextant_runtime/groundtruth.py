"""Ground truth: labels that arrive after the prediction, joined to it by request id.

A client that got a `Sextant-Request-Id` header (its request was logged) later posts the
true outcome:

    POST /v2/models/NAME/ground-truth
    {"labels": [{"id": "<Sextant-Request-Id>", "label": 1}, ...]}

`label` is a number or a string for a one-row request, or a list with one value per row.
Each label becomes an entry of the Redis stream `sextant:labels:MODEL` (fields `id`,
`label` as JSON, `time`), trimmed like the prediction log (`MAXLEN ~ maxLength`); a later
label for the same id replaces the earlier one when the drift check joins them. A batch is
all or nothing: an unknown id (never logged, or already trimmed) or a label list whose
length is not that request's rows is a 404 naming it, a malformed label a 400 naming its
index, and nothing of that batch is stored.

The request path never waits on this: labels go through their own asyncio Redis client,
and a Redis outage is a 503 for the label call only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson
import redis
import redis.asyncio

from sextant_runtime.errors import BadRequest, InferenceError, Unavailable
from sextant_runtime.logentries import index_member
from sextant_runtime.predictionlog import LogSettings, ids_key

LABELS_PREFIX = "sextant:labels:"
MAX_LABELS_PER_CALL = 10_000
READ_CHUNK = 1000

Scalar = int | float | str
Label = Scalar | list[Scalar]


class UnknownRequestId(InferenceError):
    """A label for a request id the prediction log does not hold."""

    status = 404


def labels_key(model: str) -> str:
    return f"{LABELS_PREFIX}{model}"


def parse_labels(body: bytes, numbers_only: bool) -> list[tuple[str, Label]]:
    """The (id, label) pairs of a ground-truth body; BadRequest naming the bad field.

    `numbers_only`: the model's prediction is numeric, so a string label is a type error.
    """
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise BadRequest(f"body is not JSON: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("labels"), list):
        raise BadRequest('body must be {"labels": [{"id": ..., "label": ...}, ...]}')
    items = doc["labels"]
    if not items:
        raise BadRequest("labels is empty")
    if len(items) > MAX_LABELS_PER_CALL:
        raise BadRequest(f"labels has {len(items)} items; at most {MAX_LABELS_PER_CALL} a call")
    pairs: list[tuple[str, Label]] = []
    for index, item in enumerate(items):
        where = f"labels[{index}]"
        if not isinstance(item, dict):
            raise BadRequest(f'{where} must be an object {{"id": ..., "label": ...}}')
        request_id = item.get("id")
        if not isinstance(request_id, str) or not request_id:
            raise BadRequest(f"{where}.id must be the Sextant-Request-Id string of a response")
        if "label" not in item:
            raise BadRequest(f"{where}.label is missing")
        pairs.append((request_id, _label(item["label"], f"{where}.label", numbers_only)))
    return pairs


def _label(value: Any, where: str, numbers_only: bool) -> Label:
    if isinstance(value, list):
        if not value:
            raise BadRequest(f"{where} is an empty list; give one value per row")
        return [_scalar(v, f"{where}[{i}]", numbers_only) for i, v in enumerate(value)]
    return _scalar(value, where, numbers_only)


def _scalar(value: Any, where: str, numbers_only: bool) -> Scalar:
    # bool is an int to Python; as a label it is almost always a mistake for 0/1.
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        kind = "a number" if numbers_only else "a number or a string"
        raise BadRequest(f"{where} must be {kind}, got {type(value).__name__} {value!r}")
    if numbers_only and isinstance(value, str):
        raise BadRequest(f"{where} must be a number: the model predicts numbers, got {value!r}")
    return value


class LabelStore:
    """Validates and stores labels for one model; one async Redis client, made lazily
    inside the server's event loop."""

    def __init__(self, settings: LogSettings, model: str, numbers_only: bool) -> None:
        self.settings = settings
        self.key = labels_key(model)
        self.ids_key = ids_key(model)
        self.numbers_only = numbers_only
        self._client: Any = None

    def _redis(self) -> Any:
        if self._client is None:
            self._client = redis.asyncio.Redis.from_url(
                self.settings.redis_url,
                socket_timeout=self.settings.timeout_s,
                socket_connect_timeout=self.settings.timeout_s,
            )
        return self._client

    async def record(self, body: bytes) -> dict[str, Any]:
        """Store a body's labels; the response object. Raises InferenceError (4xx/503)."""
        pairs = parse_labels(body, self.numbers_only)
        # The index holds ID:ROWS: one lookup checks the id and the label's length.
        members = list(dict.fromkeys(
            index_member(request_id, len(label) if isinstance(label, list) else 1)
            for request_id, label in pairs
        ))  # fmt: skip
        client = self._redis()
        try:
            scores = await client.zmscore(self.ids_key, members)
            unknown = [member for member, score in zip(members, scores, strict=True)
                       if score is None]  # fmt: skip
            if unknown:
                shown = ", ".join(
                    f"{m.rpartition(':')[0]} ({m.rpartition(':')[2]} rows)" for m in unknown[:5]
                )
                raise UnknownRequestId(
                    f"{len(unknown)} of {len(members)} labelled requests are not in the "
                    "prediction log with as many rows as their labels (never logged, trimmed "
                    "past maxLength, or a label list whose length is not the request's rows): "
                    f"{shown}; nothing of this call was stored"
                )
            now = repr(time.time())
            pipe = client.pipeline(transaction=False)
            for request_id, label in pairs:
                pipe.xadd(
                    self.key,
                    {"id": request_id, "label": orjson.dumps(label), "time": now},
                    maxlen=self.settings.max_length,
                    approximate=True,
                )
            await pipe.execute()
        except (redis.RedisError, OSError) as err:
            raise Unavailable(f"ground truth store (Redis) unavailable: {err}") from None
        return {"accepted": len(pairs)}

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def read_labels(redis_url: str, key: str) -> dict[str, Label]:
    """Every label in the stream `key`, by request id; the latest wins (the drift job)."""
    client: Any = redis.Redis.from_url(redis_url)
    labels: dict[str, Label] = {}
    try:
        start = "-"
        while chunk := client.xrange(key, min=start, max="+", count=READ_CHUNK):
            for _, fields in chunk:
                _keep(labels, fields)
            start = "(" + chunk[-1][0].decode()  # exclusive: after the last one read
    finally:
        client.close()
    return labels


def _keep(labels: dict[str, Label], fields: Mapping[bytes, bytes]) -> None:
    request_id = fields.get(b"id")
    raw = fields.get(b"label")
    if request_id is None or raw is None:
        return  # not written by LabelStore: skipped rather than guessed
    labels[request_id.decode()] = orjson.loads(raw)
