"""The typed models accept the examples, apply the documented defaults, and reject each
invalid manifest of the shared table at the field the API server names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from sextant_operator.api import KINDS, DriftMonitor, FeatureView, ModelDeployment, Resource
from sextant_operator.api.common import ApiModel, CelRule
from tests.unit.api.cases import CASES, Invalid, manifest

REPO_ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((REPO_ROOT / "examples").glob("*.yaml"))
BY_KIND: dict[str, type[Resource]] = {kind.kind_name(): kind for kind in KINDS}


def _load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def _path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location written the way the API server writes field paths."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def test_examples_cover_every_kind_and_every_rollout_strategy() -> None:
    documents = [_load(path) for path in EXAMPLES]
    assert {d["kind"] for d in documents} == set(BY_KIND)
    strategies = {
        d["spec"].get("rollout", {}).get("strategy", "RollingUpdate")
        for d in documents
        if d["kind"] == "ModelDeployment"
    }
    assert strategies == {"RollingUpdate", "Canary", "BlueGreen"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_valid_and_starts_with_a_comment(path: Path) -> None:
    text = path.read_text()
    assert text.startswith("# "), f"{path.name} should open with a comment saying what it shows"
    document = _load(path)
    parsed = BY_KIND[document["kind"]].model_validate(document)
    assert parsed.metadata.name == document["metadata"]["name"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_survive_a_dump_and_parse_round_trip(path: Path) -> None:
    document = _load(path)
    kind = BY_KIND[document["kind"]]
    parsed = kind.model_validate(document)
    dumped = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert kind.model_validate(dumped) == parsed


def test_model_deployment_defaults_match_the_contract() -> None:
    md = ModelDeployment.model_validate(manifest("ModelDeployment", "fraud", {}))
    assert md.spec.replicas == 1
    assert md.spec.runtime.device == "auto"
    batching = md.spec.runtime.batching
    assert (batching.max_batch_size, batching.max_delay_ms, batching.max_queue_size) == (
        32,
        5,
        1024,
    )
    assert md.spec.rollout.strategy == "RollingUpdate"
    assert md.spec.rollout.canary is None
    assert md.spec.monitoring.service_monitor is False
    assert md.status is None


def test_drift_monitor_defaults_match_the_contract() -> None:
    dm = DriftMonitor.model_validate(manifest("DriftMonitor", "drift", {}))
    assert dm.spec.schedule == "*/10 * * * *"
    assert dm.spec.drift_share == 0.5
    assert dm.spec.window.size == 5000
    assert (dm.spec.tests.numerical, dm.spec.tests.categorical) == ("auto", "auto")
    assert dm.spec.predictions is True


def test_feature_view_defaults_match_the_contract() -> None:
    fv = FeatureView.model_validate(manifest("FeatureView", "users", {}))
    assert fv.spec.source.format == "parquet"
    assert fv.spec.source.timestamp_field == "event_timestamp"
    assert fv.spec.entities[0].dtype == "string"
    assert fv.spec.ttl is None


def test_wire_names_follow_the_contract_where_camel_case_would_guess_wrong() -> None:
    md = ModelDeployment.model_validate(
        manifest(
            "ModelDeployment",
            "fraud",
            {
                "autoscaling": {"maxReplicas": 3, "targetCPUUtilization": 70},
                "rollout": {
                    "strategy": "Canary",
                    "canary": {
                        "steps": [{"setWeight": 5}],
                        "trafficRouting": {"type": "GatewayAPI", "gatewayAPI": {"httpRoute": "r"}},
                    },
                    "analysis": {"maxPredictionPSI": 0.2, "maxLatencyP99Ms": 250},
                },
            },
        )
    )
    dumped = md.model_dump(mode="json", by_alias=True, exclude_none=True)["spec"]
    assert dumped["autoscaling"]["targetCPUUtilization"] == 70
    assert dumped["rollout"]["canary"]["trafficRouting"]["gatewayAPI"] == {"httpRoute": "r"}
    assert dumped["rollout"]["analysis"]["maxPredictionPSI"] == 0.2
    assert dumped["rollout"]["analysis"]["maxLatencyP99Ms"] == 250


def test_status_round_trips_with_conditions_in_metav1_shape() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    body = manifest("ModelDeployment", "fraud", {})
    body["status"] = {
        "observedGeneration": 3,
        "phase": "Progressing",
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "RolloutInProgress",
                "message": "canary at 10%",
                "lastTransitionTime": "2026-01-02T03:04:05Z",
                "observedGeneration": 3,
            }
        ],
        "canary": {"version": "8", "weight": 10, "step": 1, "replicas": 1, "readyReplicas": 1},
        "rollout": {
            "state": "Progressing",
            "analysis": [
                {
                    "time": "2026-01-02T03:04:05Z",
                    "metric": "error-rate",
                    "value": 0.0,
                    "passed": True,
                }
            ],
        },
    }
    md = ModelDeployment.model_validate(body)
    assert md.status is not None
    ready = md.status.condition("Ready")
    assert ready is not None
    assert (ready.status, ready.reason, ready.last_transition_time) == (
        "False",
        "RolloutInProgress",
        now,
    )
    dumped = md.model_dump(mode="json", by_alias=True, exclude_none=True)["status"]
    assert dumped["conditions"][0]["lastTransitionTime"] == "2026-01-02T03:04:05Z"
    assert md.status.condition("Progressing") is None


def test_a_condition_without_a_reason_is_rejected() -> None:
    body = manifest("FeatureView", "users", {})
    body["status"] = {
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-02T03:04:05Z"}
        ]
    }
    with pytest.raises(ValidationError) as caught:
        FeatureView.model_validate(body)
    locations = {_path(error["loc"]) for error in caught.value.errors()}
    assert locations == {"status.conditions[0].reason", "status.conditions[0].message"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_invalid_manifest_is_rejected_at_the_field_the_api_server_names(case: Invalid) -> None:
    with pytest.raises(ValidationError) as caught:
        BY_KIND[case.kind].model_validate(case.manifest())
    errors = caught.value.errors()
    paths = [_path(error["loc"]) for error in errors]
    # A CEL rule reports on its object or, with fieldPath, on a field below it; a union
    # reports below the field. Either way the error sits on the field's branch.
    assert any(case.field.startswith(p) or p.startswith(case.field) for p in paths), paths
    if case.ours:
        assert any(case.message in error["msg"] for error in errors), errors


def _models(root: type[BaseModel]) -> set[type[ApiModel]]:
    """Every ApiModel reachable from `root` through its fields."""
    found: set[type[ApiModel]] = set()
    pending: list[Any] = [root]
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, ApiModel):
            if annotation in found:
                continue
            found.add(annotation)
            pending.extend(f.annotation for f in annotation.model_fields.values())
        pending.extend(getattr(annotation, "__args__", ()))
        pending.extend(getattr(annotation, "__metadata__", ()))
    return found


def _cross_field_rules() -> list[tuple[str, CelRule]]:
    return [
        (model.__name__, rule)
        for kind in KINDS
        for model in sorted(_models(kind), key=lambda m: m.__name__)
        for rule in model.cel_rules()
    ]


def test_every_cross_field_rule_has_an_invalid_manifest_in_the_table() -> None:
    rules = _cross_field_rules()
    assert len(rules) >= 20
    untested = [
        f"{model}: {rule.message}"
        for model, rule in rules
        if not any(case.ours and case.message in rule.message for case in CASES)
    ]
    assert untested == []


def test_the_table_has_at_least_twenty_cases_with_unique_ids() -> None:
    assert len(CASES) >= 20
    assert len({case.id for case in CASES}) == len(CASES)
