"""Turn spec.model into the concrete artifact every pod of this generation serves."""

from __future__ import annotations

from sextant.registry import ModelRef, RegistryClient, RegistryError
from sextant_operator.api.modeldeployment import ModelSource, ResolvedModel
from sextant_operator.render.context import ModelArtifact
from sextant_operator.settings import OperatorSettings


class NoTrackingUri(RegistryError):
    reason = "RegistryUnavailable"


def resolve_model(source: ModelSource, settings: OperatorSettings) -> ModelArtifact:
    """A registry alias becomes a pinned version, so a rollout never mixes two versions.

    Raises RegistryError (its `reason` names the condition) when that cannot be done.
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
