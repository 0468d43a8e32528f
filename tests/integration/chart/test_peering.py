"""Operator replicas peer through the objects the chart installs, cluster-wide or per namespace.

kopf watching a namespace list coordinates through a namespaced KopfPeering in each of
those namespaces; watching everything, through one ClusterKopfPeering. The chart ships
both CRDs and makes the right objects; here the real operator uses them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from tests.fixtures.operator import CHART, chart_documents


def _peering_documents(kube: KubeAccess, *sets: str) -> list[dict[str, object]]:
    docs = chart_documents(kube, "--set", "peering.enabled=true", *sets)
    return [d for d in docs if str(d["kind"]).endswith("KopfPeering")]


def test_chart_makes_one_namespaced_peering_per_watched_namespace(kube: KubeAccess) -> None:
    docs = _peering_documents(kube, "--set", "watchNamespaces={ml-a,ml-b}")
    assert [(d["kind"], d["metadata"]["namespace"]) for d in docs] == [  # type: ignore[index]
        ("KopfPeering", "ml-a"),
        ("KopfPeering", "ml-b"),
    ]
    cluster_wide = _peering_documents(kube)
    assert [d["kind"] for d in cluster_wide] == ["ClusterKopfPeering"]


def test_operator_watching_a_namespace_list_peers_in_each_namespace(
    kube: KubeAccess, tmp_path: Path
) -> None:
    kube.kubectl("apply", "--server-side", "-f", str(CHART / "crds"))
    kube.kubectl("wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev")
    namespaces = ["peer-a", "peer-b"]
    for namespace in namespaces:
        kube.kubectl("create", "namespace", namespace)
    peerings = _peering_documents(kube, "--set", f"watchNamespaces={{{','.join(namespaces)}}}")
    kube.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(peerings))

    args = ["--peering=sextant", *(f"--namespace={n}" for n in namespaces)]
    with LocalOperator(kube.kubeconfig, tmp_path, args) as operator:
        # Each replica announces itself in the status of every peering object it uses.
        deadline = time.monotonic() + 60
        seen: dict[str, dict[str, object]] = {}
        while time.monotonic() < deadline and len(seen) < len(namespaces):
            for namespace in namespaces:
                peering = json.loads(
                    kube.kubectl(
                        "get", "kopfpeering", "sextant", "-n", namespace, "-o", "json"
                    ).stdout
                )
                if peering.get("status"):
                    seen[namespace] = peering["status"]
            time.sleep(0.5)
        if len(seen) < len(namespaces):
            pytest.fail(f"no peer announced itself in {namespaces}: {seen}\n{operator.log()}")
