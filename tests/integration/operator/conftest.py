import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from tests.fixtures.operator import WATCHED_NAMESPACES
from tests.polling import wait_for


@pytest.fixture
def op_namespace(kube: KubeAccess, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace the test operator watches (its --namespace pattern), one per test."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())[:36]
    name = WATCHED_NAMESPACES.replace("*", f"{stem.strip('-')}-{uuid.uuid4().hex[:6]}")
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


# A second operator for rollout tests: resync once an hour, so only watch events and the
# operator's own rollout timers move a rollout; a periodic resync cannot heal anything.
ROLLOUT_NAMESPACES = "ro-*"


GATEWAY_API_CRD = (
    Path(__file__).resolve().parents[2] / "fixtures" / "gateway-api" / "httproutes.yaml"
)


@pytest.fixture(scope="session")
def gateway_api_crds(kube: KubeAccess) -> KubeAccess:
    """The cluster with the Gateway API HTTPRoute CRD (too large for client-side apply)."""
    kube.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(GATEWAY_API_CRD))
    # `kubectl wait` fails outright while the new CRD has no conditions at all yet.
    wait_for(
        lambda: (
            kube.kubectl(
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                "crd/httproutes.gateway.networking.k8s.io",
                check=False,
            ).returncode
            == 0
        ),
        timeout=90,
        what="the HTTPRoute CRD Established",
    )
    return kube


@pytest.fixture(scope="session")
def rollout_operator(
    operator_kubeconfig: Path,
    gateway_api_crds: KubeAccess,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalOperator]:
    operator = LocalOperator(
        operator_kubeconfig,
        tmp_path_factory.mktemp("rollout-operator"),
        [
            "--resync-seconds=3600",
            f"--namespace={ROLLOUT_NAMESPACES}",
            "--runtime-image=registry.local/sextant-runtime:test",
        ],
    )
    operator.start()
    yield operator
    operator.stop()


@pytest.fixture
def ro_namespace(kube: KubeAccess, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace only the long-resync rollout operator watches, one per test."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower())[:36]
    name = ROLLOUT_NAMESPACES.replace("*", f"{stem.strip('-')}-{uuid.uuid4().hex[:6]}")
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)
