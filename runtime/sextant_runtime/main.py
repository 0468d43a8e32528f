"""`sextant serve`: fetch, load and warm the model, serve it, and drain on SIGTERM.

The HTTP listener starts first, so liveness answers while a large model downloads;
readiness turns 200 only after warm-up. On SIGTERM readiness turns 503 at once, requests
keep being served for `drain_seconds` (responses say `Connection: close`, so clients
reconnect to other replicas), then the listener closes, queued and in-flight requests
finish, and the process exits 0. SIGINT does the same without the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

import uvloop
from granian.constants import HTTPModes, Interfaces
from granian.log import LogLevels
from granian.server.embed import Server

from sextant_runtime import logs, scheduling
from sextant_runtime.batcher import Batcher, BatchObserver
from sextant_runtime.config import ServeConfig
from sextant_runtime.metrics import Metrics
from sextant_runtime.model import Backend, warmup_inputs
from sextant_runtime.optimize import Optimization
from sextant_runtime.predictionlog import LoggingObserver, LogSettings, PredictionLog
from sextant_runtime.protocol import Codec
from sextant_runtime.server import InferenceServer, RsgiApp
from sextant_runtime.sources import fetch
from sextant_runtime.staging import discard_partial_downloads

log = logging.getLogger("sextant_runtime")

# How long in-flight requests may take to finish after the listener closed.
FINISH_TIMEOUT_S = 60.0


@dataclass
class Loaded:
    backend: Backend
    version: str


def load(config: ServeConfig) -> Loaded:
    """Fetch the artifact, load it onto its device, and run warm-up inference."""
    from sextant_runtime.backends import load_backend  # noqa: PLC0415 - imports torch late

    started = time.monotonic()
    fetched = fetch(config.source, config.cache_dir, tracking_uri=config.tracking_uri)
    version = config.version or fetched.version or "1"
    optimization = Optimization(
        config.graph_optimization, config.quantize, config.quantize_tolerance
    )
    backend = load_backend(
        fetched.path,
        format=config.format,
        device=config.device,
        threads=config.threads,
        optimization=optimization,
    )
    if backend.quantization is not None:
        quantization = backend.quantization
        log.log(
            logging.INFO if quantization.accepted else logging.WARNING,
            "int8 quantization " + ("kept" if quantization.accepted else "not kept"),
            extra={"reason": quantization.reason, "detail": quantization.message},
        )
    signature = backend.signature
    log.info(
        "model loaded",
        extra={
            "source": config.source,
            "path": str(fetched.path),
            "platform": backend.platform,
            "device": backend.device,
            "version": version,
            "inputs": [s.to_json() for s in signature.inputs],
            "outputs": [s.to_json() for s in signature.outputs],
            "batchable": signature.batchable,
            "seconds": round(time.monotonic() - started, 3),
        },
    )
    warm_up(backend, config.max_batch_size)
    return Loaded(backend, version)


def warm_up(backend: Backend, max_batch_size: int) -> None:
    """Run the model on zeros at batch 1 and at the largest batch before saying ready."""
    signature = backend.signature
    if not signature.inputs:
        log.warning("model declares no inputs: no warm-up inference")
        return
    started = time.monotonic()
    sizes = [1, max_batch_size] if signature.batchable and max_batch_size > 1 else [1]
    for rows in sizes:
        backend.predict(warmup_inputs(signature, rows))
    log.info(
        "warm-up done",
        extra={"batch_sizes": sizes, "seconds": round(time.monotonic() - started, 3)},
    )


def http_listener(app: Any, host: str, port: int) -> Server:
    """granian embedded in our event loop, so that Sextant owns signals and shutdown.
    bench/floor.py serves a no-op app through this same listener (the HTTP floor)."""
    return Server(
        app,
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        http=HTTPModes.auto,
        websockets=False,
        backlog=2048,
        log_level=LogLevels.warning,
        log_dictconfig={"loggers": {"_granian": {"handlers": [], "propagate": True}}},
    )


def run(config: ServeConfig) -> int:
    """Serve until SIGTERM or SIGINT; the process exit code."""
    logs.configure(config.log_format, {"model": config.name, "track": config.track})
    # Before the listener and the inference thread start, so they inherit the policy.
    problem = scheduling.apply(scheduling.resolve(config.cpu_scheduling, config.threads))
    if problem is not None:
        log.warning("cpu scheduling unchanged", extra={"reason": problem})
    return uvloop.run(Runtime(config).serve())


class Runtime:
    """One `sextant serve` process: HTTP listener, model, batcher, signals."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.server = InferenceServer(config)
        self.stop = asyncio.Event()
        self.graceful = True
        self.hurry = asyncio.Event()  # a second signal during the drain wait
        self.batcher: Batcher | None = None
        self.loaded: Loaded | None = None
        self.prediction_log: PredictionLog | None = None

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("signal received", extra={"signal": sig.name, "state": self.server.state})
        if self.stop.is_set() or sig == signal.SIGINT:
            self.graceful = False  # a second signal, or Ctrl-C: skip the wait
            self.hurry.set()
        self.stop.set()

    def _http(self) -> Server:
        return http_listener(RsgiApp(self.server), self.config.host, self.config.port)

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_signal, sig)
        http = self._http()
        http_task = loop.create_task(http.serve())
        log.info(
            "listening",
            extra={
                "host": self.config.host,
                "port": self.config.port,
                "source": self.config.source,
                "cpu_scheduling": scheduling.resolve(
                    self.config.cpu_scheduling, self.config.threads
                ),
            },
        )
        load_task = self._start_load(loop)
        stop_task = loop.create_task(self.stop.wait())
        waiting: list[asyncio.Future[Any]] = [load_task, stop_task, http_task]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if http_task.done():
            log.error("HTTP server exited", extra={"error": repr(http_task.exception())})
            return 1
        exit_code = 0
        if not load_task.done():
            # The loader is a daemon thread: leaving it behind ends the download with the
            # process, at once, instead of waiting for the last byte of a large model.
            log.info(
                "stopped while the model was loading: abandoning the download",
                extra={"source": self.config.source, "removed": discard_partial_downloads()},
            )
        else:
            try:
                self._go_ready(loop, load_task.result())
            except Exception as err:
                log.exception("model failed to load")
                self.server.fail(f"model failed to load: {err}")
                exit_code = 1
                self.stop.set()
        await stop_task
        await self._shutdown(http, http_task)
        log.info("stopped", extra={"exit_code": exit_code})
        return exit_code

    def _start_load(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Loaded]:
        """Fetch and load on a daemon thread (an executor thread would be joined at exit)."""
        future: asyncio.Future[Loaded] = loop.create_future()

        def settle(result: Loaded | None, error: BaseException | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        def work() -> None:
            result: Loaded | None = None
            error: BaseException | None = None
            try:
                result = load(self.config)
            except BaseException as err:  # handed to the loop, which reports it
                error = err if isinstance(err, Exception) else RuntimeError(repr(err))
            with contextlib.suppress(RuntimeError):  # the loop closed: we are exiting
                loop.call_soon_threadsafe(settle, result, error)

        threading.Thread(target=work, name="sextant-load", daemon=True).start()
        return future

    def _go_ready(self, loop: asyncio.AbstractEventLoop, loaded: Loaded) -> None:
        config = self.config
        metrics = Metrics(config.name, loaded.version, config.track)
        metrics.quantization = loaded.backend.quantization
        observer: BatchObserver = metrics
        if config.prediction_log_url:
            settings = LogSettings(
                config.prediction_log_url,
                config.prediction_log_sample_rate,
                config.prediction_log_max_length,
            )
            self.prediction_log = PredictionLog(
                settings, config.name, loaded.version, config.track, scope=config.redis_scope
            )
            self.prediction_log.start()
            self.server.prediction_log = self.prediction_log
            observer = LoggingObserver(metrics, self.prediction_log)
        batcher = Batcher(
            loaded.backend,
            loop,
            max_batch_size=config.max_batch_size,
            max_delay_ms=config.max_delay_ms,
            max_queue_size=config.max_queue_size,
            observer=observer,
        )
        signature = loaded.backend.signature
        online = config.online_features()
        if online is not None:
            # Clients send the entity key; the features are read before batching.
            from sextant_runtime.features.enrich import Enricher  # noqa: PLC0415

            enricher = Enricher(online, signature, password=config.features_redis_password)
            self.server.enricher = enricher
            signature = enricher.request_signature
            log.info(
                "online features",
                extra={
                    "feature_view": online.label,
                    "entity_input": online.entity_input,
                    "model_inputs_from_features": list(enricher.plan.fed_inputs),
                    "on_missing": online.on_missing,
                },
            )
        if config.response_cache_url:
            from sextant_runtime.cache import ResponseCache  # noqa: PLC0415 - only when on

            self.server.cache = ResponseCache(
                config.response_cache_url,
                config.redis_scope,
                loaded.version,
                config.response_cache_ttl_seconds,
            )
            log.info(
                "response cache",
                extra={"ttl_seconds": config.response_cache_ttl_seconds, "version": loaded.version},
            )
        batcher.start()
        self.loaded, self.batcher = loaded, batcher
        codec = Codec(config.name, loaded.version, signature)
        self.server.attach(codec, batcher, metrics, loaded.backend.platform)
        # What is loaded now lives as long as the process: keep the collector off it.
        gc.collect()
        gc.freeze()
        log.info(
            "ready",
            extra={
                "version": loaded.version,
                "max_batch_size": batcher.max_batch_size,
                "max_delay_ms": config.max_delay_ms,
                "max_queue_size": config.max_queue_size,
            },
        )

    async def _shutdown(self, http: Server, http_task: asyncio.Task[None]) -> None:
        server = self.server
        server.drain()
        seconds = self.config.drain_seconds
        if self.graceful and self.batcher is not None and seconds > 0:
            log.info("draining: readiness is 503, still serving", extra={"seconds": seconds})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.hurry.wait(), seconds)
        http.stop()  # type: ignore[no-untyped-call]
        if self.batcher is not None:
            self.batcher.flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_idle(), FINISH_TIMEOUT_S)
        await http_task
        if self.batcher is not None:
            self.batcher.stop()
        if self.prediction_log is not None:
            self.prediction_log.close()
        if server.enricher is not None:
            server.enricher.close()
        if server.cache is not None:
            await server.cache.close()
        if server.inflight:
            log.warning("exiting with requests in flight", extra={"inflight": server.inflight})
        if self.loaded is not None:
            self.loaded.backend.close()
