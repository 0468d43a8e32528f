"""Operator at scale: N ModelDeployments following one MLflow alias, on the local control plane.

Measured in one run (kwok nodes, so pods are Ready as soon as they are scheduled):
- apply to Ready for N ModelDeployments vs N plain Deployments of the same pod (baseline);
- steady state with N idle objects: API requests per minute the operator makes (the API
  server's request counter over a window with the operator running, minus the same window
  with the operator stopped), and MLflow calls per resync interval (counted by a proxy in
  front of the real MLflow server).

    .venv/bin/python -m bench.operator_scale [--many 1000] [--window 60]
"""

from __future__ import annotations

import argparse
import http.server
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from bench.operator_ready import plain_deployment, rss_mib, timed
from sextant.devenv.cluster import KubeAccess, LocalCluster, NodePools
from sextant.devenv.demo import MODEL_NAME, register_example_model
from sextant.devenv.mlflow_server import LocalMlflow
from sextant.devenv.operator_process import LocalOperator
from sextant.devenv.process import free_port

REPO = Path(__file__).resolve().parents[1]
RESYNC_SECONDS = 30
POD_REQUESTS = {"cpu": "10m", "memory": "16Mi"}


class CountingProxy:
    """Forwards GETs to MLflow and counts them: the registry calls the operator makes."""

    def __init__(self, upstream: str) -> None:
        self.calls = 0
        self.port = free_port()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                proxy.calls += 1
                answer = httpx.get(f"{upstream}{self.path}", timeout=30)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", ""))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def following_alias(namespace: str, name: str, tracking_uri: str) -> dict[str, Any]:
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {
                "registry": {"name": MODEL_NAME, "alias": "champion", "trackingUri": tracking_uri}
            },
            "replicas": 1,
            "resources": {"requests": POD_REQUESTS},
        },
    }


def api_requests(kube: KubeAccess) -> float:
    """Requests the API server has answered so far, long-running watches excluded."""
    total = 0.0
    for line in kube.kubectl("get", "--raw", "/metrics").stdout.splitlines():
        if line.startswith("apiserver_request_total{") and 'verb="WATCH"' not in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def per_minute(kube: KubeAccess, window: float) -> float:
    before = api_requests(kube)
    time.sleep(window)
    return (api_requests(kube) - before) * 60 / window


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--many", type=int, default=1000)
    parser.add_argument("--window", type=float, default=60.0, help="Idle measurement seconds.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sextant-scale-") as tmp:
        root = Path(tmp)
        pools = NodePools(cpu=max(2, (2 * args.many) // 100 + 2), gpu=0, mig=0)
        with (
            LocalCluster(root / "cluster", pools=pools) as cluster,
            LocalMlflow(root / "mlflow") as mlflow_server,
        ):
            kube = cluster.access
            kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
            kube.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
            register_example_model(mlflow_server)
            proxy = CountingProxy(mlflow_server.url)
            baseline = timed(
                kube, "base", [plain_deployment("base", f"m{i}") for i in range(args.many)],
                "deployments",
            )  # fmt: skip
            quiet_cluster = per_minute(kube, args.window)
            operator = LocalOperator(kube.kubeconfig, root, [f"--resync-seconds={RESYNC_SECONDS}"])
            with operator:
                idle_rss = rss_mib(operator.pid)
                many = timed(
                    kube,
                    "many",
                    [following_alias("many", f"m{i}", proxy.url) for i in range(args.many)],
                    "modeldeployments",
                )
                time.sleep(RESYNC_SECONDS)  # let the last Ready events settle
                calls_before = proxy.calls
                with_operator = per_minute(kube, args.window)
                registry_calls = proxy.calls - calls_before
                busy_rss = rss_mib(operator.pid)

    intervals = args.window / RESYNC_SECONDS
    print("| case | plain Deployments (baseline) | ModelDeployments | ratio |")
    print("| --- | --- | --- | --- |")
    print(f"| {args.many} at once, apply to Ready | {baseline:.1f} s | {many:.1f} s | "
          f"{many / baseline:.2f}x |")  # fmt: skip
    print(f"\nidle, {args.window:.0f} s window: API requests/min {quiet_cluster:.0f} without the "
          f"operator, {with_operator:.0f} with it (operator: {with_operator - quiet_cluster:.0f}"
          f"/min for {args.many} objects)")  # fmt: skip
    print(
        f"MLflow calls: {registry_calls} in {intervals:.1f} resync intervals "
        f"({registry_calls / intervals:.1f} per interval for {args.many} objects on one alias)"
    )
    print(f"operator RSS: {idle_rss:.0f} MiB idle, {busy_rss:.0f} MiB with {args.many} objects")


if __name__ == "__main__":
    main()
