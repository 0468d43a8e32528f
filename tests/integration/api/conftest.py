"""A namespace and a create helper for the API tests; `sextant_crds` (tests/fixtures/crds.py)
installs the generated CRDs once per session."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sextant.devenv.cluster import KubeAccess


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
