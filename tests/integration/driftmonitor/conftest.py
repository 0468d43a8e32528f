"""An operator with a Redis URL on the local control plane, watching `dm-*` namespaces.

kwok completes the pods of Jobs at once (they run nothing), so a Job made from the
DriftMonitor's CronJob finishes for real in the API; the test writes the result the check
would have written to the real Redis under that Job's key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from sextant.devenv.process import free_port
from sextant.devenv.redis import LocalRedis

DRIFT_NAMESPACES = "dm-*"


@pytest.fixture(scope="session")
def metrics_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def drift_operator(
    operator_kubeconfig: Path,
    redis_server: LocalRedis,
    metrics_port: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalOperator]:
    operator = LocalOperator(
        operator_kubeconfig,
        tmp_path_factory.mktemp("drift-operator"),
        [
            "--resync-seconds=2",
            f"--namespace={DRIFT_NAMESPACES}",
            f"--redis-url={redis_server.url}",
            f"--metrics-port={metrics_port}",
            "--runtime-image=registry.local/sextant-runtime:test",
        ],
    )
    operator.start()
    yield operator
    operator.stop()


@pytest.fixture
def dm_namespace(kube: KubeAccess, request: pytest.FixtureRequest) -> Iterator[str]:
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())[:36]
    name = DRIFT_NAMESPACES.replace("*", f"{stem.strip('-')}-{uuid.uuid4().hex[:6]}")
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)
