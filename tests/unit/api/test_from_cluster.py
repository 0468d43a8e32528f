"""Objects read from the cluster may carry fields a newer CRD added; the operator reads on."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sextant_operator.api import ModelDeployment


def body_with_fields_from_a_newer_crd() -> dict[str, Any]:
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": "fraud", "namespace": "ml", "generation": 2},
        "spec": {
            "model": {"uri": "file:///models/a.onnx", "signature": "v2"},
            "replicas": 3,
            "rollout": {
                "strategy": "Canary",
                "canary": {"steps": [{"setWeight": 20}], "maxSurge": "25%"},
            },
            "shadowTraffic": {"percent": 5},
        },
        "status": {
            "phase": "Ready",
            "stable": {"version": "7", "uri": "file:///models/a.onnx", "zone": "eu"},
            "newStatusField": True,
        },
    }


def test_fields_a_newer_crd_added_are_ignored_when_read_from_the_cluster() -> None:
    md = ModelDeployment.from_cluster(body_with_fields_from_a_newer_crd())

    assert md.spec.replicas == 3
    assert md.spec.rollout.canary is not None
    assert md.spec.rollout.canary.steps[0].set_weight == 20
    assert md.status is not None
    assert md.status.stable is not None
    assert md.status.stable.version == "7"


def test_known_fields_are_still_checked_when_read_from_the_cluster() -> None:
    body = body_with_fields_from_a_newer_crd()
    body["spec"]["replicas"] = -1

    with pytest.raises(ValidationError, match="replicas"):
        ModelDeployment.from_cluster(body)


def test_a_manifest_typed_by_hand_still_rejects_a_typo() -> None:
    body = body_with_fields_from_a_newer_crd()

    with pytest.raises(ValidationError, match="signature"):
        ModelDeployment.model_validate(body)
