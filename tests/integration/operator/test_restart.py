"""Restart safety: SIGKILL the operator in the middle of a canary and start a new one.

The rollout's position (step, weight, pause start, the versions) lives in status, so a new
operator process resumes exactly where the old one stopped: a timed pause that ended while
no operator ran moves on once, an indefinite pause stays paused, and nothing flaps back
(no step repeated, no weight taken away, Ready never False).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from tests.integration.operator.kubeobjects import apply_md, condition, get, wait_condition
from tests.integration.operator.test_rollouts import MODEL_A, MODEL_B, deployments, spec
from tests.polling import wait_for

PAUSE_SECONDS = 6
STEPS = {
    "strategy": "Canary",
    "canary": {
        "steps": [
            {"setWeight": 25},
            {"pause": {"duration": f"{PAUSE_SECONDS}s"}},
            {"setWeight": 50},
            {"pause": {}},
        ]
    },
}


class StatusRecorder:
    """Polls the ModelDeployment and keeps every (step, weight, state, Ready) it sees."""

    def __init__(self, kube: KubeAccess, namespace: str, name: str) -> None:
        self.seen: list[tuple[int | None, int | None, str | None, str | None]] = []
        self._kube, self._namespace, self._name = kube, namespace, name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> StatusRecorder:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            md = get(self._kube, self._namespace, "modeldeployment", self._name) or {}
            status = md.get("status") or {}
            canary = status.get("canary") or {}
            sample = (
                canary.get("step"),
                canary.get("weight"),
                (status.get("rollout") or {}).get("state"),
                condition(md, "Ready").get("status"),
            )
            if not self.seen or self.seen[-1] != sample:
                self.seen.append(sample)
            self._stop.wait(0.3)


@pytest.fixture
def kill_namespace(kube: KubeAccess) -> Iterator[str]:
    name = f"kill-{uuid.uuid4().hex[:8]}"
    kube.kubectl("create", "namespace", name)
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", check=False)


def operator_for(kubeconfig: Path, workdir: Path, namespace: str) -> LocalOperator:
    # Resync once an hour: only status, watch events and rollout timers can move it.
    return LocalOperator(
        kubeconfig,
        workdir,
        [
            "--resync-seconds=3600",
            f"--namespace={namespace}",
            "--runtime-image=registry.local/sextant-runtime:test",
        ],
    )


def canary(md: dict[str, Any]) -> dict[str, Any]:
    return dict((md.get("status") or {}).get("canary") or {})


def test_a_killed_operator_resumes_the_canary_at_the_same_step(
    kube: KubeAccess,
    kill_namespace: str,
    operator_kubeconfig: Path,
    tmp_path: Path,
) -> None:
    ns = kill_namespace
    first = operator_for(operator_kubeconfig, tmp_path / "first", ns)
    (tmp_path / "first").mkdir()
    first.start()
    apply_md(kube, ns, "fraud", spec(MODEL_A, STEPS, replicas=4))
    old = wait_condition(kube, ns, "fraud")["status"]["stable"]["version"]

    with StatusRecorder(kube, ns, "fraud") as recorder:
        apply_md(kube, ns, "fraud", spec(MODEL_B, STEPS, replicas=4))
        # Killed in the timed pause: the pause runs out while no operator is running.
        md = wait_for(
            lambda: (
                (m := get(kube, ns, "modeldeployment", "fraud"))
                and canary(m).get("step") == 1
                and m
            ),
            timeout=60,
            what="the canary in its timed pause",
        )
        new = canary(md)["version"]
        assert canary(md)["weight"] == 25
        first.kill()
        time.sleep(PAUSE_SECONDS + 2)
        frozen = get(kube, ns, "modeldeployment", "fraud") or {}
        assert canary(frozen)["step"] == 1  # nothing moves without an operator

        second = operator_for(operator_kubeconfig, tmp_path / "second", ns)
        (tmp_path / "second").mkdir()
        second.start()
        md = wait_for(
            lambda: (
                (m := get(kube, ns, "modeldeployment", "fraud"))
                and canary(m).get("step") == 3
                and (m.get("status") or {}).get("rollout", {}).get("state") == "Paused"
                and m
            ),
            timeout=60,
            what="the canary past the ended pause, paused at step 3",
        )
        assert canary(md)["weight"] == 50
        paused_since = md["status"]["rollout"].get("pauseStartTime")
        layout = deployments(kube, ns, "fraud")
        assert layout == {old: 2, new: 2}

        # Killed in the indefinite pause: the new process holds it exactly as it was.
        second.kill()
        third = operator_for(operator_kubeconfig, tmp_path / "third", ns)
        (tmp_path / "third").mkdir()
        third.start()
        time.sleep(5)  # room for a wrong move
        md = get(kube, ns, "modeldeployment", "fraud") or {}
        assert canary(md)["step"] == 3
        assert md["status"]["rollout"]["state"] == "Paused"
        assert md["status"]["rollout"].get("pauseStartTime") == paused_since
        assert deployments(kube, ns, "fraud") == layout

        kube.kubectl("annotate", "-n", ns, "modeldeployment", "fraud", "sextant.dev/promote=true")
        wait_for(
            lambda: (
                ((get(kube, ns, "modeldeployment", "fraud") or {}).get("status") or {})
                .get("rollout", {})
                .get("state")
                == "Succeeded"
            ),
            timeout=60,
            what="the promoted rollout Succeeded",
        )
        third.stop()

    steps = [s for s, _, _, _ in recorder.seen if s is not None]
    weights = [w for _, w, _, _ in recorder.seen if w is not None]
    assert steps == sorted(steps), f"a step went backwards: {recorder.seen}"
    assert weights == sorted(weights), f"weight was taken off the canary: {recorder.seen}"
    assert all(ready != "False" for *_, ready in recorder.seen), recorder.seen
