"""The Grafana dashboard the chart ships: rendered by the real helm as a ConfigMap for
Grafana's sidecar, valid JSON, every query parsed by a real Prometheus, and every metric
it reads exported by a real runtime or by the operator."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client import REGISTRY

import sextant_operator.driftmonitor.metrics  # noqa: F401 - registers the operator's gauges
from sextant.devenv.cluster import ensure_tools
from sextant.devenv.prometheus import LocalPrometheus
from sextant.devenv.redis import LocalRedis
from tests.integration.runtime.conftest import RuntimeServer

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "charts" / "sextant"
IRIS = ROOT / "examples" / "models" / "iris.onnx"
# Grafana's variables, as a query would run with "All" selected.
VARIABLES = {"$__rate_interval": "1m", "$model": ".+", "$monitor": ".+"}


def _render(*args: str) -> list[dict[str, Any]]:
    helm = ensure_tools(build=False).path("helm")
    out = subprocess.run(
        [str(helm), "template", "sextant", str(CHART), "-n", "sextant-system", *args],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [doc for doc in yaml.safe_load_all(out) if doc]


def _dashboard_map(*args: str) -> list[dict[str, Any]]:
    return [d for d in _render(*args) if d["metadata"]["name"] == "sextant-grafana-dashboard"]


def _dashboard() -> dict[str, Any]:
    [config_map] = _dashboard_map("--set", "grafana.dashboards.enabled=true")
    dashboard: dict[str, Any] = json.loads(config_map["data"]["sextant.json"])
    return dashboard


def _queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) of every panel target and annotation."""
    found = [
        (f"panel {panel['title']!r} {target['refId']}", target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]
    found += [(f"annotation {a['name']!r}", a["expr"]) for a in dashboard["annotations"]["list"]]
    return found


def _metric_names(text: str) -> set[str]:
    return set(re.findall(r"\b(sextant_[a-z0-9_]+)", text))


def test_the_dashboard_is_a_configmap_for_the_grafana_sidecar_when_enabled() -> None:
    assert _dashboard_map() == []  # off by default
    [config_map] = _dashboard_map("--set", "grafana.dashboards.enabled=true")
    assert config_map["kind"] == "ConfigMap"
    assert config_map["metadata"]["namespace"] == "sextant-system"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads((CHART / "dashboards" / "sextant.json").read_text())
    assert json.loads(config_map["data"]["sextant.json"]) == shipped
    [custom] = _dashboard_map(
        "--set", "grafana.dashboards.enabled=true", "--set", "grafana.dashboards.label=dash",
        "--set", "grafana.dashboards.folder=ML", "--set", "grafana.dashboards.namespace=grafana",
    )  # fmt: skip
    assert custom["metadata"]["labels"]["dash"] == "1"
    assert custom["metadata"]["annotations"] == {"grafana_folder": "ML"}
    assert custom["metadata"]["namespace"] == "grafana"


def test_the_dashboard_has_the_panels_the_issue_asks_for() -> None:
    dashboard = _dashboard()
    titles = {panel["title"] for panel in dashboard["panels"]}
    for wanted in (
        "Throughput",
        "Error rate",
        "Latency",
        "Prediction distribution",
        "Feature drift scores",
        "Drift alerts",
        "Model performance (ground truth)",
    ):
        assert wanted in titles, wanted  # fmt: skip
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]


def test_every_query_parses_in_a_real_prometheus(prometheus_server: LocalPrometheus) -> None:
    queries = _queries(_dashboard())
    assert len(queries) >= 15
    for where, template in queries:
        expr = template
        for variable, value in VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, (where, expr)
        response = httpx.get(f"{prometheus_server.url}/api/v1/query", params={"query": expr},
                             timeout=10)  # fmt: skip
        body = response.json()
        assert body["status"] == "success", (where, expr, body.get("error"))


def test_every_metric_read_is_exported_by_the_runtime_or_the_operator(
    redis_server: LocalRedis, tmp_path: Path
) -> None:
    server = RuntimeServer(tmp_path, IRIS, "iris-dash",
                           ["--prediction-log-url", redis_server.url], None)  # fmt: skip
    server.start()
    try:
        row = [{"name": "measurements", "shape": [1, 4], "datatype": "FP32",
                "data": [5.1, 3.5, 1.4, 0.2]}]  # fmt: skip
        assert server.infer(row).status_code == 200
        runtime = _metric_names(httpx.get(f"{server.url}/metrics", timeout=5).text)
    finally:
        server.stop()
    operator = {family.name for family in REGISTRY.collect() if family.name.startswith("sextant_")}
    dashboard = _dashboard()
    used = _metric_names(" ".join(expr for _, expr in _queries(dashboard)))
    used |= _metric_names(json.dumps(dashboard["templating"]))
    missing = sorted(used - runtime - operator)
    assert not missing, f"the dashboard reads metrics nobody exports: {missing}"
    assert {"sextant_inference_prediction_bucket", "sextant_drift_feature_statistic"} <= used
    # The performance panel reads the operator's gauge from status.lastCheck.performance.
    assert "sextant_drift_performance" in used & operator
