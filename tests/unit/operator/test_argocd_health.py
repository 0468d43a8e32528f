"""The Argo CD health checks shipped in charts/sextant/argocd/, run by a real Lua 5.1
(Argo CD embeds gopher-lua, a Lua 5.1) on recorded statuses, laid out as Argo CD's own
resource_customizations are: KIND/health.lua, KIND/health_test.yaml, KIND/testdata/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from lupa import lua51

from sextant_operator.api import DriftMonitor, FeatureView, ModelDeployment
from sextant_operator.api.common import Resource

CHECKS = Path(__file__).resolve().parents[3] / "charts" / "sextant" / "argocd" / "sextant.dev"
KINDS: dict[str, type[Resource]] = {
    "ModelDeployment": ModelDeployment,
    "FeatureView": FeatureView,
    "DriftMonitor": DriftMonitor,
}


def cases() -> list[Any]:
    found = []
    for kind in KINDS:
        tests = yaml.safe_load((CHECKS / kind / "health_test.yaml").read_text())["tests"]
        for test in tests:
            found.append(pytest.param(kind, test, id=f"{kind}-{Path(test['inputPath']).stem}"))
    return found


def health(kind: str, obj: dict[str, Any]) -> dict[str, str]:
    lua = lua51.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute((CHECKS / kind / "health.lua").read_text())
    return {"status": result["status"], "message": result["message"]}


@pytest.mark.parametrize(("kind", "test"), cases())
def test_health_check_reports_what_argo_cd_users_expect(kind: str, test: dict[str, Any]) -> None:
    obj = yaml.safe_load((CHECKS / kind / test["inputPath"]).read_text())

    assert health(kind, obj) == test["healthStatus"]


@pytest.mark.parametrize(("kind", "test"), cases())
def test_recorded_objects_are_what_the_operator_writes(kind: str, test: dict[str, Any]) -> None:
    """Strict parse: a recorded status with a field the API does not have is out of date."""
    obj = yaml.safe_load((CHECKS / kind / test["inputPath"]).read_text())
    KINDS[kind].model_validate(obj)


def test_every_kind_has_a_health_check() -> None:
    assert sorted(p.name for p in CHECKS.iterdir() if (p / "health.lua").exists()) == sorted(KINDS)
