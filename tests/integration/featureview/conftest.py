import re
import uuid
from collections.abc import Iterator

import pytest

from sextant.devenv.cluster import KubeAccess
from tests.fixtures.operator import WATCHED_NAMESPACES


@pytest.fixture
def namespace(kube: KubeAccess, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace the session's operator watches, one per test."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())[:30]
    name = WATCHED_NAMESPACES.replace("*", f"fv-{stem.strip('-')}-{uuid.uuid4().hex[:6]}")
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)
