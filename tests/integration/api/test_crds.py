"""The generated CRDs on a real kube-apiserver: they install, the examples are accepted,
every invalid manifest is rejected with a message naming its field, and kubectl's
category, short names, scale and printer columns work."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from sextant.devenv.cluster import KubeAccess
from sextant_operator.api import KINDS, Resource
from tests.fixtures.crds import CRD_NAMES
from tests.integration.api.conftest import create
from tests.polling import wait_for
from tests.unit.api.cases import CASES, Invalid, manifest

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "examples").glob("*.yaml"))
BY_KIND: dict[str, type[Resource]] = {kind.kind_name(): kind for kind in KINDS}


def _example(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ready_condition(status: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": _iso(datetime.now(UTC)),
        "observedGeneration": 1,
    }


def _patch_status(kube: KubeAccess, namespace: str, ref: str, status: dict[str, Any]) -> None:
    kube.kubectl(
        "patch", ref, "-n", namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": status}),
    )  # fmt: skip


def _table(kube: KubeAccess, namespace: str, ref: str) -> dict[str, str]:
    """`kubectl get REF` as {column header: cell} (columns are 3+ spaces apart)."""
    lines = kube.kubectl("get", ref, "-n", namespace).stdout.splitlines()
    assert len(lines) == 2, lines
    header, row = (re.split(r"\s{3,}", line.strip()) for line in lines)
    assert len(header) == len(row), lines
    return dict(zip(header, row, strict=True))


def test_crds_are_established_and_structural(sextant_crds: KubeAccess) -> None:
    for name in CRD_NAMES:
        crd = json.loads(sextant_crds.kubectl("get", "crd", name, "-o", "json").stdout)
        conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
        assert conditions["Established"] == "True", name
        assert conditions["NamesAccepted"] == "True", name
        # The API server reports a non-structural schema as a condition, not an error.
        assert "NonStructuralSchema" not in conditions, name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_accepted_and_the_server_defaults_match_the_models(
    sextant_crds: KubeAccess, api_namespace: str, path: Path
) -> None:
    document = _example(path)
    stored = create(sextant_crds, api_namespace, document)
    assert stored["metadata"]["name"] == document["metadata"]["name"]
    kind = BY_KIND[document["kind"]]
    # The server applied the CRD's defaults; Python applies the models' defaults.
    # Both come from the same models, so the typed objects must be equal.
    as_stored = kind.model_validate({**stored, "metadata": {}})
    as_written = kind.model_validate({**document, "metadata": {}})
    assert as_stored == as_written


def test_server_applies_nested_defaults(sextant_crds: KubeAccess, api_namespace: str) -> None:
    stored = create(sextant_crds, api_namespace, manifest("ModelDeployment", "defaults", {}))
    spec = stored["spec"]
    assert spec["replicas"] == 1
    assert spec["runtime"]["device"] == "auto"
    assert spec["runtime"]["batching"] == {
        "maxBatchSize": 32,
        "maxDelayMs": 5,
        "maxQueueSize": 1024,
    }
    assert spec["rollout"] == {"strategy": "RollingUpdate", "progressDeadlineSeconds": 600}
    assert spec["monitoring"] == {"serviceMonitor": False}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_invalid_manifest_is_rejected_with_a_message_naming_the_field(
    sextant_crds: KubeAccess, api_namespace: str, case: Invalid
) -> None:
    result = sextant_crds.kubectl(
        "create", "--dry-run=server", "-n", api_namespace, "-f", "-",
        input=json.dumps(case.manifest()), check=False,
    )  # fmt: skip
    assert result.returncode != 0, f"accepted: {result.stdout}"
    message = result.stderr
    if case.field in case.message:
        assert case.message in message, message
    else:
        # One error line: "<field>: <type>[: <value>]: <message>".
        assert re.search(rf"{re.escape(case.field)}: [^\n]*{re.escape(case.message)}", message), (
            message
        )


def test_kubectl_get_sextant_lists_the_three_kinds(
    sextant_crds: KubeAccess, api_namespace: str
) -> None:
    for kind in BY_KIND:
        create(sextant_crds, api_namespace, manifest(kind, f"listed-{kind.lower()}", {}))
    listed = sextant_crds.kubectl(
        "get", "sextant", "-n", api_namespace, "-o", "name"
    ).stdout.split()
    for kind in BY_KIND:
        assert f"{kind.lower()}.sextant.dev/listed-{kind.lower()}" in listed
    by_short_name = sextant_crds.kubectl(
        "get", "md,fv,dm", "-n", api_namespace, "-o", "name"
    ).stdout.split()
    assert {name.split("/")[1] for name in by_short_name} >= {
        f"listed-{kind.lower()}" for kind in BY_KIND
    }
    resources = sextant_crds.kubectl("api-resources", "--categories=sextant", "-o", "name").stdout
    assert sorted(resources.split()) == sorted(CRD_NAMES)


def test_kubectl_scale_changes_spec_replicas_through_the_scale_subresource(
    sextant_crds: KubeAccess, api_namespace: str
) -> None:
    create(sextant_crds, api_namespace, manifest("ModelDeployment", "scaled", {"replicas": 1}))
    sextant_crds.kubectl("scale", "md/scaled", "--replicas=3", "-n", api_namespace)
    replicas = sextant_crds.kubectl(
        "get", "md/scaled", "-n", api_namespace, "-o", "jsonpath={.spec.replicas}"
    ).stdout
    assert replicas == "3"
    _patch_status(
        sextant_crds, api_namespace, "md/scaled", {"replicas": 3, "selector": "app=scaled"}
    )
    scale = json.loads(
        sextant_crds.kubectl(
            "get", "--raw",
            f"/apis/sextant.dev/v1alpha1/namespaces/{api_namespace}/modeldeployments/scaled/scale",
        ).stdout
    )  # fmt: skip
    assert scale["kind"] == "Scale"
    assert scale["spec"] == {"replicas": 3}
    assert scale["status"] == {"replicas": 3, "selector": "app=scaled"}


def test_an_hpa_can_target_a_model_deployment(sextant_crds: KubeAccess, api_namespace: str) -> None:
    create(sextant_crds, api_namespace, manifest("ModelDeployment", "autoscaled", {}))
    _patch_status(
        sextant_crds, api_namespace, "md/autoscaled", {"replicas": 1, "selector": "app=autoscaled"}
    )
    create(
        sextant_crds,
        api_namespace,
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "autoscaled"},
            "spec": {
                "scaleTargetRef": {
                    "apiVersion": "sextant.dev/v1alpha1",
                    "kind": "ModelDeployment",
                    "name": "autoscaled",
                },
                "minReplicas": 1,
                "maxReplicas": 4,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
    )

    def able_to_scale() -> dict[str, Any] | None:
        hpa = json.loads(
            sextant_crds.kubectl("get", "hpa/autoscaled", "-n", api_namespace, "-o", "json").stdout
        )
        for condition in hpa.get("status", {}).get("conditions", []):
            if condition["type"] == "AbleToScale" and condition["status"] == "True":
                return dict(condition)
        return None

    # The HPA controller read the scale subresource (there are no metrics to act on). Its
    # discovery cache refreshes every 30s, so a CRD installed a moment ago may take that long.
    condition = wait_for(able_to_scale, timeout=120, interval=2, what="HPA AbleToScale=True")
    assert condition["reason"] == "SucceededGetScale", condition


def test_printer_columns_show_the_status(sextant_crds: KubeAccess, api_namespace: str) -> None:
    long_ago = _iso(datetime.now(UTC) - timedelta(days=20))
    ready = _ready_condition("True", "Serving", "all replicas ready")

    create(sextant_crds, api_namespace, manifest("ModelDeployment", "columns", {}))
    _patch_status(
        sextant_crds,
        api_namespace,
        "md/columns",
        {
            "phase": "Progressing",
            "model": {"version": "8"},
            "canary": {"version": "8", "weight": 10},
            "ready": "2/3",
            "conditions": [_ready_condition("False", "RolloutInProgress", "canary at 10%")],
        },
    )
    md = _table(sextant_crds, api_namespace, "md/columns")
    assert {k: md[k] for k in ("NAME", "PHASE", "VERSION", "CANARY", "READY")} == {
        "NAME": "columns",
        "PHASE": "Progressing",
        "VERSION": "8",
        "CANARY": "10",
        "READY": "2/3",
    }
    assert "AGE" in md

    create(sextant_crds, api_namespace, manifest("FeatureView", "columns", {}))
    _patch_status(
        sextant_crds,
        api_namespace,
        "fv/columns",
        {
            "onlineEntities": 1200,
            "lastMaterialization": {"time": long_ago, "rows": 5000},
            "conditions": [ready],
        },
    )
    fv = _table(sextant_crds, api_namespace, "fv/columns")
    assert (fv["ENTITIES"], fv["LAST MATERIALIZED"], fv["READY"]) == ("1200", "20d", "True")

    create(sextant_crds, api_namespace, manifest("DriftMonitor", "columns", {}))
    _patch_status(
        sextant_crds,
        api_namespace,
        "dm/columns",
        {
            "lastCheck": {"time": long_ago, "datasetDrift": True, "driftShare": 0.6},
            "conditions": [ready],
        },
    )
    dm = _table(sextant_crds, api_namespace, "dm/columns")
    assert (dm["TARGET"], dm["DRIFT"], dm["LAST CHECK"], dm["READY"]) == (
        "fraud",
        "true",
        "20d",
        "True",
    )


def test_status_writes_are_validated_too(sextant_crds: KubeAccess, api_namespace: str) -> None:
    create(sextant_crds, api_namespace, manifest("FeatureView", "bad-status", {}))
    condition = _ready_condition("Maybe", "Serving", "")
    result = sextant_crds.kubectl(
        "patch", "fv/bad-status", "-n", api_namespace, "--subresource=status", "--type=merge",
        "-p", json.dumps({"status": {"conditions": [condition]}}), check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert 'status.conditions[0].status: Unsupported value: "Maybe"' in result.stderr


def test_spec_and_status_are_separate_subresources(
    sextant_crds: KubeAccess, api_namespace: str
) -> None:
    create(sextant_crds, api_namespace, manifest("DriftMonitor", "subresources", {}))
    # A status change through the main resource is ignored...
    sextant_crds.kubectl(
        "patch", "dm/subresources", "-n", api_namespace, "--type=merge",
        "-p", json.dumps({"status": {"lastCheck": {"sampleSize": 10}}}),
    )  # fmt: skip
    stored = json.loads(
        sextant_crds.kubectl("get", "dm/subresources", "-n", api_namespace, "-o", "json").stdout
    )
    assert "status" not in stored
    generation = stored["metadata"]["generation"]
    # ...and a status write does not bump the generation the operator reports against.
    _patch_status(
        sextant_crds, api_namespace, "dm/subresources", {"observedGeneration": generation}
    )
    stored = json.loads(
        sextant_crds.kubectl("get", "dm/subresources", "-n", api_namespace, "-o", "json").stdout
    )
    assert stored["metadata"]["generation"] == generation
    assert stored["status"]["observedGeneration"] == generation


def test_kubectl_explain_shows_the_field_documentation(sextant_crds: KubeAccess) -> None:
    def explained() -> str | None:
        result = sextant_crds.kubectl("explain", "modeldeployment.spec.rollout.canary", check=False)
        return result.stdout if result.returncode == 0 else None

    # The published OpenAPI document follows the CRD by a moment.
    text = wait_for(explained, timeout=60, what="kubectl explain to know ModelDeployment")
    assert "Canary steps; only with strategy Canary." in text
    assert "steps" in text
    assert "Steps run in order; after the last one the canary is promoted." in text
    assert "trafficRouting" in text
