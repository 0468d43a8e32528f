"""The generated CRDs installed on the session's local cluster."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sextant.devenv.cluster import KubeAccess

CRDS = Path(__file__).resolve().parents[3] / "crds"
CRD_NAMES = (
    "modeldeployments.sextant.dev",
    "featureviews.sextant.dev",
    "driftmonitors.sextant.dev",
)


@pytest.fixture(scope="session")
def sextant_crds(kube: KubeAccess) -> KubeAccess:
    """The cluster with crds/ applied (server-side, as a GitOps tool would) and Established."""
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    kube.kubectl(
        "wait",
        "--for=condition=Established",
        "--timeout=60s",
        *(f"crd/{name}" for name in CRD_NAMES),
    )
    return kube


@pytest.fixture(scope="module")
def api_namespace(sextant_crds: KubeAccess) -> Iterator[str]:
    """One namespace for a module's objects, deleted afterwards (without waiting)."""
    name = f"sextant-api-{uuid.uuid4().hex[:6]}"
    sextant_crds.kubectl("create", "namespace", name)
    yield name
    sextant_crds.kubectl("delete", "namespace", name, "--wait=false", check=False)


def create(kube: KubeAccess, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    """Create an object for real and return it as the API server stored it."""
    result = kube.kubectl(
        "create", "-n", namespace, "-o", "json", "-f", "-", input=json.dumps(manifest)
    )
    stored: dict[str, Any] = json.loads(result.stdout)
    return stored
