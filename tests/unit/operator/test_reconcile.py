"""One reconcile against an in-memory cluster: what triggers it must not change its verdict."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sextant.registry import RegistryUnavailable
from sextant_operator.api.modeldeployment import ResolvedModel, RolloutStatus
from sextant_operator.reconcile import ModelDeploymentReconciler
from sextant_operator.resolution import reference
from sextant_operator.rollout import Decision, Observations
from sextant_operator.rollout.status import progressive_status
from tests.unit.operator.builders import SETTINGS, model_deployment


class MemoryKube:
    """Just what a reconcile calls; every Deployment applied has all its pods ready."""

    def __init__(self) -> None:
        self.children: dict[tuple[str, str], dict[str, Any]] = {}
        self.status: dict[str, Any] | None = None

    def has_api_group(self, group: str) -> bool:
        return False

    def apply(self, body: dict[str, Any]) -> dict[str, Any]:
        applied = copy.deepcopy(body)
        applied["metadata"].setdefault("ownerReferences", [{"controller": True, "uid": "uid-1234"}])
        if body["kind"] == "Deployment":
            n = body["spec"]["replicas"]
            applied["status"] = {
                "observedGeneration": 1,
                **dict.fromkeys(
                    ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"), n
                ),
            }
        self.children[(body["kind"], body["metadata"]["name"])] = applied
        return applied

    def owned(
        self, api_version: str, kind: str, namespace: str, owner_uid: str, owner_name: str
    ) -> list[dict[str, Any]]:
        return [copy.deepcopy(c) for (k, _), c in self.children.items() if k == kind]

    def delete(self, obj: dict[str, Any]) -> None:
        self.children.pop((obj["kind"], obj["metadata"]["name"]), None)

    def pods(self, namespace: str, selector: dict[str, str]) -> list[Any]:
        return []

    def patch_status(
        self,
        plural: str,
        namespace: str,
        name: str,
        status: dict[str, Any],
        resource_version: str | None = None,
    ) -> None:
        self.status = status

    def remove_annotations(self, plural: str, namespace: str, name: str, keys: list[str]) -> str:
        return "2"


OUTAGE = "MLflow at http://mlflow:5000 unreachable: connection refused"


def during_an_outage(strategy: str) -> dict[str, Any]:
    """A ModelDeployment serving version 7 whose last resolution failed."""
    spec: dict[str, Any] = {
        "model": {"registry": {"name": "fraud", "alias": "champion"}},
        "replicas": 2,
        "rollout": {"strategy": strategy},
    }
    if strategy == "Canary":
        spec["rollout"]["canary"] = {"steps": [{"setWeight": 50}]}
    md = model_deployment(spec)
    model = ResolvedModel(
        version="7", uri="models:/fraud/7", resolved_from=reference(md.spec.model)
    ).model_dump(by_alias=True, mode="json")
    body = md.model_dump(by_alias=True, mode="json", exclude_none=True)
    body["metadata"]["resourceVersion"] = "1"
    body["status"] = {
        "observedGeneration": 3,
        "model": model,
        "stable": {"version": "7", "uri": "models:/fraud/7", "replicas": 2},
        "conditions": [
            {
                "type": "ModelResolved",
                "status": "False",
                "reason": "RegistryUnavailable",
                "message": OUTAGE,
                "observedGeneration": 3,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            },
            {
                "type": "Ready",
                "status": "False",
                "reason": "RegistryUnavailable",
                "message": f"still serving version 7; {OUTAGE}",
                "observedGeneration": 3,
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            },
        ],
    }
    return body


@pytest.mark.parametrize("strategy", ["RollingUpdate", "Canary", "BlueGreen"])
def test_a_child_event_during_a_registry_outage_keeps_the_error(strategy: str) -> None:
    kube = MemoryKube()
    reconciler = ModelDeploymentReconciler(kube, SETTINGS)  # type: ignore[arg-type]
    events: list[tuple[str, str, str]] = []

    outcome = reconciler.reconcile(
        during_an_outage(strategy), lambda *event: events.append(event), resolve=False
    )

    assert outcome.error is not None
    assert outcome.error.reason == "RegistryUnavailable"
    found = {c.type: (c.status, c.reason) for c in outcome.status.conditions}
    assert found["ModelResolved"] == ("False", "RegistryUnavailable")
    assert found["Ready"] == ("False", "RegistryUnavailable")
    assert [e for e in events if e[1] in ("Resolved", "Available")] == []
    assert any(kind == "Deployment" for kind, _ in kube.children)  # version 7 keeps serving


def test_a_child_event_after_the_registry_recovered_reports_resolved() -> None:
    body = during_an_outage("RollingUpdate")
    body["status"]["conditions"] = []
    reconciler = ModelDeploymentReconciler(MemoryKube(), SETTINGS)  # type: ignore[arg-type]

    outcome = reconciler.reconcile(body, lambda *event: None, resolve=False)

    assert outcome.error is None
    assert {c.type: c.status for c in outcome.status.conditions}["Ready"] == "True"


def test_a_rollout_with_nothing_resolved_and_nothing_serving_is_stuck_not_progressing() -> None:
    md = model_deployment(
        {
            "model": {"registry": {"name": "fraud", "alias": "champion"}},
            "rollout": {"strategy": "Canary", "canary": {"steps": [{"setWeight": 50}]}},
        }
    )
    nothing = Decision((), None, None, None, None, RolloutStatus())

    status = progressive_status(
        md,
        nothing,
        Observations(target=None, desired_replicas=2),
        error=RegistryUnavailable(OUTAGE),
        url=None,
    )

    found = {c.type: (c.status, c.reason) for c in status.conditions}
    assert found["Progressing"] == ("False", "RegistryUnavailable")
    assert found["Ready"] == ("False", "RegistryUnavailable")
    assert status.phase == "Pending"
