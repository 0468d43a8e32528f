"""Kinds the operator does not reconcile yet say so in status: never a silent no-op."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from tests.fixtures.operator import WATCHED_NAMESPACES

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture
def namespace(kube: KubeAccess) -> Iterator[str]:
    name = WATCHED_NAMESPACES.replace("*", f"pending-{uuid.uuid4().hex[:6]}")
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.mark.parametrize(
    ("example", "resource"),
    [("featureview.yaml", "featureview/user-features")],
)
def test_kind_without_a_reconciler_is_not_ready_and_says_not_implemented(
    kube: KubeAccess,
    sextant_operator: LocalOperator,
    namespace: str,
    example: str,
    resource: str,
) -> None:
    kube.kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / example))
    kind = resource.split("/", maxsplit=1)[0]
    deadline = time.monotonic() + 60
    ready: dict[str, str] = {}
    while time.monotonic() < deadline and not ready:
        [item] = json.loads(kube.kubectl("get", kind, "-n", namespace, "-o", "json").stdout)[
            "items"
        ]
        conditions = item.get("status", {}).get("conditions", [])
        ready = next((c for c in conditions if c["type"] == "Ready"), {})
        time.sleep(0.5)
    assert ready, f"no Ready condition on the {kind}:\n{sextant_operator.log()}"
    assert ready["status"] == "False"
    assert ready["reason"] == "NotImplemented"
    assert "does not reconcile" in ready["message"]
    assert item["status"]["observedGeneration"] == item["metadata"]["generation"]
    events = kube.kubectl("get", "events", "-n", namespace, "-o", "json").stdout
    assert "NotImplemented" in events
