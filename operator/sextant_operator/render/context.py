"""Everything rendering needs, gathered once per reconcile."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sextant_operator.api import API_VERSION, FeatureView, ModelDeployment
from sextant_operator.settings import OperatorSettings


@dataclass(frozen=True)
class ModelArtifact:
    """What a runtime pod serves: a source `sextant serve` understands, and its version."""

    source: str
    version: str
    tracking_uri: str | None = None  # for models:/ sources

    @classmethod
    def from_uri(cls, uri: str) -> ModelArtifact:
        # A plain URI has no registry version; a digest of it tells versions apart in
        # labels and metrics, and changes exactly when the URI does.
        return cls(source=uri, version=hashlib.sha256(uri.encode()).hexdigest()[:10])


@dataclass(frozen=True)
class RenderContext:
    md: ModelDeployment
    settings: OperatorSettings
    artifact: ModelArtifact
    feature_view: FeatureView | None = None  # what spec.features names, once found

    @property
    def name(self) -> str:
        assert self.md.metadata.name is not None
        return self.md.metadata.name

    @property
    def namespace(self) -> str:
        assert self.md.metadata.namespace is not None
        return self.md.metadata.namespace

    def owner_reference(self) -> dict[str, object]:
        """Makes the ModelDeployment the controller of a child, so GC removes the child with it."""
        return {
            "apiVersion": API_VERSION,
            "kind": "ModelDeployment",
            "name": self.name,
            "uid": self.md.metadata.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def metadata(self, name: str, labels: dict[str, str]) -> dict[str, object]:
        return {
            "name": name,
            "namespace": self.namespace,
            "labels": labels,
            "ownerReferences": [self.owner_reference()],
        }
