"""ModelDeployments for rendering tests, built the way the API server would hand them over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sextant_operator.api import ModelDeployment
from sextant_operator.render.context import ModelArtifact, RenderContext
from sextant_operator.settings import OperatorSettings

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SETTINGS = OperatorSettings(runtime_image="registry.local/sextant-runtime:test")


def model_deployment(spec: dict[str, Any], name: str = "fraud") -> ModelDeployment:
    return ModelDeployment.model_validate(
        {
            "apiVersion": "sextant.dev/v1alpha1",
            "kind": "ModelDeployment",
            "metadata": {"name": name, "namespace": "ml", "uid": "uid-1234", "generation": 3},
            "spec": spec,
        }
    )


def example(filename: str) -> ModelDeployment:
    body = yaml.safe_load((EXAMPLES / filename).read_text())
    body["metadata"].update(namespace="ml", uid="uid-1234", generation=1)
    return ModelDeployment.model_validate(body)


def context(md: ModelDeployment, artifact: ModelArtifact | None = None) -> RenderContext:
    """Renders with `artifact`, or with what resolution would give: version 3 of a registry."""
    if artifact is None:
        registry = md.spec.model.registry
        if registry is None:
            assert md.spec.model.uri is not None
            artifact = ModelArtifact.from_uri(md.spec.model.uri)
        else:
            artifact = ModelArtifact(f"models:/{registry.name}/3", "3", registry.tracking_uri)
    return RenderContext(md, SETTINGS, artifact)
