"""Turn spec.model into the concrete artifact every pod of this generation serves."""

from __future__ import annotations

import copy
import threading
import time
from collections import defaultdict

from sextant.registry import ModelRef, RegistryClient, RegistryError
from sextant.registry import ResolvedModel as Resolved
from sextant_operator.api.modeldeployment import ModelSource, ResolvedModel
from sextant_operator.render.context import ModelArtifact
from sextant_operator.settings import OperatorSettings


class NoTrackingUri(RegistryError):
    reason = "RegistryUnavailable"


# A failed answer is kept briefly: a registry outage is not asked once per object, yet
# the first retry after it ends sees the registry again soon.
ERROR_TTL_SECONDS = 5.0


class RegistryPoller:
    """One registry call per (tracking URI, model, alias or version) per `ttl`, shared by
    every ModelDeployment that follows it; concurrent askers wait for the one call."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self.calls = 0  # registry calls made, for the scale benchmark and tests
        self._guard = threading.Lock()
        self._locks: defaultdict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self._answers: dict[tuple[str, str], tuple[float, Resolved | RegistryError]] = {}

    def resolve(self, tracking_uri: str, ref: ModelRef) -> Resolved:
        key = (tracking_uri, ref.uri)
        with self._guard:
            lock = self._locks[key]
        with lock:
            cached = self._answers.get(key)
            if cached is not None and time.monotonic() < cached[0]:
                return _answer(cached[1])
            client = RegistryClient(tracking_uri)
            self.calls += 1
            answer: Resolved | RegistryError
            try:
                answer = client.resolve(ref)
                expires = time.monotonic() + self.ttl
            except RegistryError as err:
                answer, expires = err, time.monotonic() + min(self.ttl, ERROR_TTL_SECONDS)
            finally:
                client.close()
            self._answers[key] = (expires, answer)
            return _answer(answer)


def _answer(answer: Resolved | RegistryError) -> Resolved:
    if isinstance(answer, RegistryError):
        raise copy.copy(answer)  # each asker gets its own traceback
    return answer


def resolve_model(
    source: ModelSource, settings: OperatorSettings, poller: RegistryPoller | None = None
) -> ModelArtifact:
    """A registry alias becomes a pinned version, so a rollout never mixes two versions.

    Raises RegistryError (its `reason` names the condition) when that cannot be done.
    With `poller`, the answer may be one the poller got for another object moments ago.
    """
    if source.uri is not None:
        return ModelArtifact.from_uri(source.uri)
    registry = source.registry
    assert registry is not None  # the CRD's CEL rule guarantees exactly one of uri / registry
    tracking_uri = registry.tracking_uri or settings.mlflow_tracking_uri
    if not tracking_uri:
        raise NoTrackingUri(
            "spec.model.registry.trackingUri is not set and the operator has no "
            "default (--mlflow-tracking-uri / SEXTANT_MLFLOW_TRACKING_URI)"
        )
    ref = ModelRef(registry.name, alias=registry.alias, version=registry.version)
    if poller is not None:
        resolved = poller.resolve(tracking_uri, ref)
    else:
        client = RegistryClient(tracking_uri)
        try:
            resolved = client.resolve(ref)
        finally:
            client.close()
    return ModelArtifact(
        source=resolved.pinned_uri, version=resolved.version, tracking_uri=tracking_uri
    )


def resolved_status(source: ModelSource, artifact: ModelArtifact) -> ResolvedModel:
    return ResolvedModel(
        version=artifact.version, uri=artifact.source, resolved_from=reference(source)
    )


def reference(source: ModelSource) -> str:
    """What the spec asks for, as status.model.resolvedFrom records it."""
    if source.uri is not None:
        return source.uri
    registry = source.registry
    assert registry is not None
    return ModelRef(registry.name, alias=registry.alias, version=registry.version).uri
