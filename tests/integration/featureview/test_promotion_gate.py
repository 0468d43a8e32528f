"""A canary whose FeatureView is not fresh pauses short of promotion, and goes on once it is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sextant.devenv.cluster import KubeAccess
from sextant.devenv.operator_process import LocalOperator
from sextant.devenv.redis import LocalRedis
from tests.integration.featureview.data import NAME, manifest, materialized, write_users
from tests.integration.operator.kubeobjects import apply_md, get, wait_condition
from tests.polling import wait_for

CANARY = {"strategy": "Canary", "canary": {"steps": [{"setWeight": 50}]}}


def spec(uri: str) -> dict[str, Any]:
    return {
        "model": {"uri": uri},
        "replicas": 2,
        "rollout": CANARY,
        "features": {"featureView": NAME, "entityInput": "user_id"},
    }


def rollout_state(kube: KubeAccess, namespace: str, state: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        md = get(kube, namespace, "modeldeployment", "fraud") or {}
        rollout = (md.get("status") or {}).get("rollout") or {}
        return md if rollout.get("state") == state else None

    return wait_for(check, timeout=120, what=f"rollout {state}")


def test_canary_holds_on_a_feature_view_never_materialized_then_promotes(
    kube: KubeAccess,
    sextant_operator: LocalOperator,
    redis_server: LocalRedis,
    namespace: str,
    tmp_path: Path,
) -> None:
    kube.kubectl("apply", "-f", "-", input=json.dumps(manifest(namespace, redis_server.url)))
    apply_md(kube, namespace, "fraud", spec("file:///models/a.onnx"))
    old = wait_condition(kube, namespace, "fraud")["status"]["stable"]["version"]

    apply_md(kube, namespace, "fraud", spec("file:///models/b.onnx"))
    md = rollout_state(kube, namespace, "Paused")
    message = md["status"]["rollout"]["message"]
    assert "held" in message
    assert f"FeatureView {NAME} is not Ready" in message
    assert md["status"]["stable"]["version"] == old
    assert md["status"]["canary"]["weight"] == 50

    def reasons() -> set[str]:
        events = get(kube, namespace, "events") or {}
        return {e.get("reason") for e in events.get("items", [])} & {"PromotionHeld"}

    wait_for(reasons, timeout=30, what="a PromotionHeld Event")

    materialized(redis_server.url, namespace, write_users(tmp_path / "users.parquet"))

    md = rollout_state(kube, namespace, "Succeeded")
    assert md["status"]["stable"]["version"] != old
