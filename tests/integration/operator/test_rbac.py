"""The chart's ClusterRole: least privilege, and enough (the other operator tests run on it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sextant.devenv.cluster import KubeAccess
from tests.fixtures.operator import chart_documents


def test_chart_cluster_role_has_no_wildcards(kube: KubeAccess) -> None:
    (role,) = [doc for doc in chart_documents(kube) if doc["kind"] == "ClusterRole"]
    rules = role["rules"]
    assert isinstance(rules, list)
    assert rules
    for rule in rules:
        for key in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule.get(key, []), rule


@pytest.mark.parametrize(
    ("verb", "resource", "allowed"),
    [
        ("patch", "modeldeployments.sextant.dev/status", True),
        ("create", "deployments.apps", True),
        ("delete", "horizontalpodautoscalers.autoscaling", True),
        ("list", "pods", True),
        ("delete", "pods", False),
        ("create", "cronjobs.batch", True),
        ("delete", "cronjobs.batch", True),
        ("watch", "jobs.batch", True),
        ("get", "secrets", False),
        ("create", "clusterroles.rbac.authorization.k8s.io", False),
        ("delete", "modeldeployments.sextant.dev", False),
    ],
)
def test_operator_service_account_can_do_exactly_what_it_needs(
    kube: KubeAccess, operator_kubeconfig: Path, verb: str, resource: str, allowed: bool
) -> None:
    result = kube.kubectl(
        "auth", "can-i", verb, resource, "-A", kubeconfig=operator_kubeconfig, check=False
    )
    assert result.stdout.strip() == ("yes" if allowed else "no")
