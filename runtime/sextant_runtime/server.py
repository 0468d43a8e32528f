"""The HTTP side: OIP v2 routes over one model, as an RSGI app (granian) and an ASGI app.

`InferenceServer.handle` is the whole request path, independent of the server interface:
method, path, a header lookup and a body reader in; status, headers and body out. The
RSGI adapter is what `sextant serve` runs under granian; the ASGI adapter runs the same
code under any ASGI server or in-process in tests.

Routes (API.md): GET /v2/health/live, /v2/health/ready, /v2, /v2/models/NAME[/versions/V],
/v2/models/NAME[/versions/V]/ready, /metrics; POST /v2/models/NAME[/versions/V]/infer,
POST /v2/models/NAME[/versions/V]/ground-truth (labels for logged requests, groundtruth.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from sextant import __version__
from sextant_runtime.batcher import Batcher
from sextant_runtime.config import ServeConfig
from sextant_runtime.errors import BadRequest, InferenceError, ModelNotFound, Unavailable
from sextant_runtime.metrics import Metrics
from sextant_runtime.protocol import Codec, error_body

if TYPE_CHECKING:
    from sextant_runtime.cache import ResponseCache
    from sextant_runtime.features.enrich import Enricher
    from sextant_runtime.groundtruth import LabelStore
    from sextant_runtime.predictionlog import PredictionLog

Headers = list[tuple[str, str]]
Response = tuple[int, Headers, bytes]
HeaderGet = Callable[[str], str | None]
BodyReader = Callable[[int], Awaitable[bytes]]

JSON = [("content-type", "application/json")]
BINARY = "application/octet-stream"
PROMETHEUS = [("content-type", "text/plain; version=0.0.4; charset=utf-8")]
TIMEOUT_HEADER = "sextant-timeout-ms"
REQUEST_ID_HEADER = "sextant-request-id"  # with the prediction log on: the entry's id

log = logging.getLogger(__name__)

LOADING, READY, DRAINING, FAILED = "loading", "ready", "draining", "failed"


def _json(status: int, obj: Any) -> Response:
    return status, JSON, orjson.dumps(obj)


def _error(err: InferenceError) -> Response:
    return err.status, JSON, error_body(str(err))


def _internal_error(err: Exception, method: str, path: str) -> Response:
    log.exception("request failed", extra={"method": method, "path": path})
    return _json(500, {"error": f"internal error: {type(err).__name__}: {err}"})


class InferenceServer:
    """One model's OIP endpoints. Starts LOADING; `attach` makes it READY."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.name = config.name
        self.state = LOADING
        self.reason = "model is loading"
        self.version = config.version or "1"
        self.codec: Codec | None = None
        self.batcher: Batcher | None = None
        self.metrics: Metrics | None = None
        self.prediction_log: PredictionLog | None = None  # set by main when it is on
        self.enricher: Enricher | None = None  # set by main with --features
        self.cache: ResponseCache | None = None  # set by main with --response-cache-url
        self.platform = ""
        self.inflight = 0
        self._idle: asyncio.Event | None = None  # set when inflight drops to 0, once asked
        self._max_body = config.max_request_bytes
        self._infer_paths: frozenset[str] = frozenset()
        self._label_paths: frozenset[str] = frozenset()
        self._labels: LabelStore | None = None  # made on the first ground-truth call
        self._get_routes: dict[str, Callable[[], Response]] = {}
        self._route()

    # -- lifecycle ----------------------------------------------------------------------

    def attach(self, codec: Codec, batcher: Batcher, metrics: Metrics, platform: str) -> None:
        self.codec, self.batcher, self.metrics, self.platform = codec, batcher, metrics, platform
        self.version = codec.model_version
        self._route()
        self.state = READY
        self.reason = ""

    def fail(self, reason: str) -> None:
        self.state, self.reason = FAILED, reason

    def drain(self) -> None:
        """Readiness turns 503 at once; inference goes on for what still arrives."""
        if self.state == READY:
            self.state, self.reason = DRAINING, "server is shutting down"

    async def wait_idle(self) -> None:
        """Return once no inference request is being handled."""
        if not self.inflight:
            return
        self._idle = asyncio.Event()
        await self._idle.wait()

    @property
    def draining(self) -> bool:
        return self.state == DRAINING

    def _route(self) -> None:
        base = f"/v2/models/{self.name}"
        versioned = f"{base}/versions/{self.version}"
        self._infer_paths = frozenset((f"{base}/infer", f"{versioned}/infer"))
        self._label_paths = frozenset((f"{base}/ground-truth", f"{versioned}/ground-truth"))
        self._get_routes = {
            "/v2/health/live": self._live,
            "/v2/health/ready": self._ready,
            "/v2": self._server_metadata,
            base: self._model_metadata,
            versioned: self._model_metadata,
            f"{base}/ready": self._model_ready,
            f"{versioned}/ready": self._model_ready,
            "/metrics": self._metrics,
        }

    # -- dispatch -----------------------------------------------------------------------

    async def handle(
        self, method: str, path: str, header: HeaderGet, read_body: BodyReader
    ) -> Response:
        try:
            return await self._dispatch(method, path, header, read_body)
        except Exception as err:  # a bug must cost one request, never the server
            return _internal_error(err, method, path)

    async def _dispatch(
        self, method: str, path: str, header: HeaderGet, read_body: BodyReader
    ) -> Response:
        if path in self._infer_paths:
            if method != "POST":
                return _json(405, {"error": f"{path} takes POST"})
            return await self._infer(header, read_body)
        if path in self._label_paths:
            return await self._ground_truth(method, path, read_body)
        route = self._get_routes.get(path)
        if route is not None:
            if method not in ("GET", "HEAD"):
                return _json(405, {"error": f"{path} takes GET"})
            return route()
        return _error(self._not_found(path))

    def _not_found(self, path: str) -> InferenceError:
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[:2] == ["v2", "models"]:
            if parts[2] != self.name:
                return ModelNotFound(
                    f"model {parts[2]!r} is not served here; this server serves {self.name!r}"
                )
            if len(parts) >= 5 and parts[3] == "versions" and parts[4] != self.version:
                return ModelNotFound(
                    f"model {self.name!r} has no version {parts[4]!r}; "
                    f"serving version {self.version!r}"
                )
        return ModelNotFound(f"no route {path}")

    # -- inference ----------------------------------------------------------------------

    async def _infer(self, header: HeaderGet, read_body: BodyReader) -> Response:
        started = time.perf_counter()
        self.inflight += 1
        metrics = self.metrics
        if metrics is not None:
            metrics.inflight += 1
        try:
            response = await self._infer_once(header, read_body)
        except Exception as err:  # answered 500, so counted as one like every other answer
            response = _internal_error(err, "POST", "infer")
        finally:
            self.inflight -= 1
            if metrics is not None:
                metrics.inflight -= 1
            if self._idle is not None and not self.inflight:
                self._idle.set()
        if metrics is not None:
            metrics.request_done(response[0], time.perf_counter() - started)
        return response

    async def _infer_once(self, header: HeaderGet, read_body: BodyReader) -> Response:
        codec, batcher = self.codec, self.batcher
        request_id: str | None = None
        try:
            if codec is None or batcher is None or self.state not in (READY, DRAINING):
                raise Unavailable(f"model {self.name!r} is not ready: {self.reason}")
            body = await read_body(self._max_body)
            encoding = header("content-encoding")
            if encoding:
                body = _decompress(body, encoding, self._max_body)
            header_length = header("inference-header-content-length")
            request = codec.decode(
                body, None if header_length is None else _int_header(header_length)
            )
            if self.enricher is not None:  # decode -> enrich -> batch
                await self.enricher.enrich(request)
            timeout = _timeout(request.parameters, header)
            cache, cache_key, outputs = self.cache, b"", None
            prediction_log = self.prediction_log
            if prediction_log is not None:
                request_id = request.log_id = prediction_log.next_id()
            if cache is not None:  # a hit skips the batcher
                cache_key = cache.key(request)
                outputs = await cache.get(cache_key)
            if outputs is None:
                outputs = await batcher.submit(request, timeout)
                if cache is not None:
                    cache.put(cache_key, outputs)
            elif request_id is not None and prediction_log is not None:
                # Served traffic is logged whether inference ran or not, so drift checks
                # and ground truth see every request, cached ones included.
                prediction_log.enqueue(request_id, request.inputs, outputs)
            body, json_length = codec.encode(request, outputs)
        except InferenceError as err:
            return _error(err)
        headers = (
            JSON
            if json_length is None
            else [("content-type", BINARY), ("inference-header-content-length", str(json_length))]
        )
        if request_id is not None:
            headers = [*headers, (REQUEST_ID_HEADER, request_id)]
        return 200, headers, body

    # -- ground truth ---------------------------------------------------------------------

    async def _ground_truth(self, method: str, path: str, read_body: BodyReader) -> Response:
        from sextant_runtime.groundtruth import LabelStore  # noqa: PLC0415 - off the hot path

        if method != "POST":
            return _json(405, {"error": f"{path} takes POST"})
        try:
            if self.prediction_log is None:
                raise ModelNotFound(
                    "ground truth joins the prediction log, which is off here "
                    "(--prediction-log-url)"
                )
            if self.codec is None:
                raise Unavailable(f"model {self.name!r} is not ready: {self.reason}")
            if self._labels is None:
                # A string label is a type error only where the prediction is numeric.
                outputs = self.codec.signature.outputs
                numeric = bool(outputs) and outputs[0].datatype != "BYTES"
                prediction_log = self.prediction_log
                self._labels = LabelStore(prediction_log.settings, prediction_log.scope, numeric)
            return _json(200, await self._labels.record(await read_body(self._max_body)))
        except InferenceError as err:
            return _error(err)

    # -- health and metadata --------------------------------------------------------------

    def _live(self) -> Response:
        # A dead inference thread never answers again: fail liveness so the kubelet restarts.
        failure = self.batcher.failure if self.batcher is not None else None
        if failure is not None:
            return _json(503, {"live": False, "error": failure})
        return _json(200, {"live": True})

    def _not_ready(self) -> str | None:
        if self.state != READY:
            return self.reason
        return self.batcher.failure if self.batcher is not None else None

    def _ready(self) -> Response:
        reason = self._not_ready()
        if reason is None:
            return _json(200, {"ready": True})
        return _json(503, {"ready": False, "error": reason})

    def _model_ready(self) -> Response:
        reason = self._not_ready()
        if reason is None:
            return _json(200, {"name": self.name, "ready": True})
        return _json(503, {"name": self.name, "ready": False, "error": reason})

    def _server_metadata(self) -> Response:
        return _json(
            200, {"name": "sextant", "version": __version__, "extensions": ["binary_tensor_data"]}
        )

    def _model_metadata(self) -> Response:
        codec = self.codec
        if codec is None:
            return _error(Unavailable(f"model {self.name!r} is not ready: {self.reason}"))
        signature = codec.signature
        metadata: dict[str, Any] = {
            "name": self.name,
            "versions": [self.version],
            "platform": self.platform,
            "inputs": [s.to_json() for s in signature.inputs],
            "outputs": [s.to_json() for s in signature.outputs],
        }
        # How the model was loaded (graph optimization, int8 kept or not and why).
        parameters = self.batcher.backend.parameters if self.batcher is not None else {}
        if parameters:
            metadata["parameters"] = parameters
        return _json(200, metadata)

    def _metrics(self) -> Response:
        if self.metrics is None:
            return 200, PROMETHEUS, b""
        text = self.metrics.render()
        if self.prediction_log is not None:
            text += ("\n".join(self.prediction_log.render(self.metrics.labels)) + "\n").encode()
        if self.enricher is not None:
            text += ("\n".join(self.enricher.render(self.metrics.labels)) + "\n").encode()
        if self.cache is not None:
            text += self.cache.render(self.metrics.labels)
        return 200, PROMETHEUS, text


def _int_header(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"Inference-Header-Content-Length {value!r} is not an integer") from None


def _timeout(parameters: dict[str, Any] | None, header: HeaderGet) -> float | None:
    """The request's queue deadline in seconds: `timeout` parameter (microseconds, as
    tritonclient sends it) or the Sextant-Timeout-Ms header."""
    if parameters is not None:
        value = parameters.get("timeout")
        if value is not None:
            if type(value) is not int or value <= 0:
                raise BadRequest("parameters.timeout must be a positive integer (microseconds)")
            return value / 1e6
    text = header(TIMEOUT_HEADER)
    if text is None:
        return None
    try:
        ms = float(text)
    except ValueError:
        raise BadRequest(f"{TIMEOUT_HEADER} {text!r} is not a number of milliseconds") from None
    if not ms > 0:
        raise BadRequest(f"{TIMEOUT_HEADER} must be positive")
    return ms / 1000


def _decompress(body: bytes, encoding: str, limit: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding == "identity":
        return body
    if encoding == "gzip":
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise BadRequest(f"Content-Encoding {encoding!r} is not supported (gzip, deflate)")
    decompressor = zlib.decompressobj(wbits)
    try:
        out = decompressor.decompress(body, limit + 1)
    except zlib.error as err:
        raise BadRequest(f"body is not valid {encoding}: {err}") from None
    if len(out) > limit:
        raise BadRequest(f"decompressed body is over the {limit}-byte limit")
    return out


def too_large(limit: int) -> BadRequest:
    return BadRequest(f"request body is over the {limit}-byte limit (--max-request-bytes)")


# -- interfaces -------------------------------------------------------------------------


class RsgiApp:
    """The app granian runs (RSGI: one awaitable body, one response call)."""

    def __init__(self, server: InferenceServer) -> None:
        self.server = server

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":
            return
        headers = scope.headers
        get = headers.get

        async def read_body(limit: int) -> bytes:
            length = get("content-length")
            if length is not None:
                if length.isdigit() and int(length) > limit:
                    raise too_large(limit)
                body: bytes = await proto()
                return body
            chunks: list[bytes] = []
            size = 0
            async for chunk in proto:
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
            return b"".join(chunks)

        status, out_headers, body = await self.server.handle(
            scope.method, scope.path, get, read_body
        )
        if self.server.draining:
            out_headers = [*out_headers, ("connection", "close")]
        proto.response_bytes(status, out_headers, body)


class AsgiApp:
    """The same routes as an ASGI 3 app (lifespan events are accepted and ignored)."""

    def __init__(self, server: InferenceServer) -> None:
        self.server = server

    async def __call__(
        self,
        scope: dict[str, Any],
        receive: Callable[[], Awaitable[dict[str, Any]]],
        send: Callable[[dict[str, Any]], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rsplit(".", 1)[-1]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}

        async def read_body(limit: int) -> bytes:
            length = headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise too_large(limit)
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                chunks.append(chunk)
                if not message.get("more_body"):
                    return b"".join(chunks)

        status, out_headers, body = await self.server.handle(
            scope["method"], scope["path"], headers.get, read_body
        )
        if self.server.draining:
            out_headers = [*out_headers, ("connection", "close")]
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in out_headers]
                + [(b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
