"""Operator benchmark: `kubectl apply` to Ready, for one ModelDeployment and for many at once.

Runs on the local control plane (kwok nodes). The baseline, measured in the same run, is
what the cluster itself needs: apply a plain Deployment of the same pod and wait for it
to be Available. Figures are reported as ratios to that baseline, plus the operator's
resident memory.

    .venv/bin/python -m bench.operator_ready [--many 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sextant.devenv.cluster import KubeAccess, LocalCluster, NodePools
from sextant.devenv.operator_process import LocalOperator

REPO = Path(__file__).resolve().parents[1]
POD_REQUESTS = {"cpu": "10m", "memory": "16Mi"}


def model_deployment(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "model": {"uri": f"file:///models/{name}.onnx"},
            "resources": {"requests": POD_REQUESTS},
        },
    }


def plain_deployment(namespace: str, name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.local/sextant-runtime:bench",
                            "resources": {"requests": POD_REQUESTS},
                        }
                    ]
                },
            },
        },
    }


def apply_list(kube: KubeAccess, items: list[dict[str, Any]], chunk: int = 100) -> None:
    # In chunks: one kubectl call per thousand objects outlasts kubectl's timeout here.
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        kube.kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": part}),
        )


def wait_all(kube: KubeAccess, namespace: str, kind: str, count: int, ready: Any) -> float:
    """Seconds until `count` objects of `kind` in `namespace` satisfy `ready`."""
    started = time.monotonic()
    while True:
        items = json.loads(kube.kubectl("get", kind, "-n", namespace, "-o", "json").stdout)["items"]
        if sum(1 for item in items if ready(item)) >= count:
            return time.monotonic() - started
        if time.monotonic() - started > 900:
            raise TimeoutError(f"{kind} in {namespace} not ready after 900s")
        time.sleep(0.1)


def md_ready(item: dict[str, Any]) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) and (
        item["status"].get("observedGeneration") == item["metadata"]["generation"]
    )


def deployment_available(item: dict[str, Any]) -> bool:
    status = item.get("status") or {}
    return status.get("availableReplicas") == item["spec"]["replicas"]


def timed(kube: KubeAccess, namespace: str, items: list[dict[str, Any]], kind: str) -> float:
    kube.kubectl("create", "namespace", namespace)
    started = time.monotonic()
    apply_list(kube, items)
    ready = md_ready if kind == "modeldeployments" else deployment_available
    wait_all(kube, namespace, kind, len(items), ready)
    return time.monotonic() - started


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--many", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3, help="Runs of the single-object case.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sextant-bench-") as tmp:
        root = Path(tmp)
        # Room for every pod of both runs (baseline and ModelDeployments) at 110 a node.
        pools = NodePools(cpu=max(2, (2 * (args.many + args.repeat)) // 100 + 1))
        with LocalCluster(root / "cluster", pools=pools) as cluster:
            kube = cluster.access
            kube.kubectl("apply", "--server-side", "-f", str(REPO / "crds"))
            kube.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
            with LocalOperator(kube.kubeconfig, root) as operator:
                idle_rss = rss_mib(operator.pid)
                singles, baselines = [], []
                for i in range(args.repeat):
                    baselines.append(
                        timed(
                            kube, f"base-{i}", [plain_deployment(f"base-{i}", "m")], "deployments"
                        )
                    )
                    singles.append(
                        timed(
                            kube,
                            f"one-{i}",
                            [model_deployment(f"one-{i}", "m")],
                            "modeldeployments",
                        )
                    )
                many_base = timed(
                    kube,
                    "base-many",
                    [plain_deployment("base-many", f"m{i}") for i in range(args.many)],
                    "deployments",
                )
                many = timed(
                    kube,
                    "many",
                    [model_deployment("many", f"m{i}") for i in range(args.many)],
                    "modeldeployments",
                )
                busy_rss = rss_mib(operator.pid)

    one, one_base = statistics.median(singles), statistics.median(baselines)
    total = args.many + args.repeat
    print("| case | plain Deployment (baseline) | ModelDeployment | ratio |")
    print("| --- | --- | --- | --- |")
    single = f"1 object (median of {args.repeat})"
    print(f"| {single} | {one_base:.2f} s | {one:.2f} s | {one / one_base:.2f}x |")
    print(f"| {args.many} at once | {many_base:.2f} s | {many:.2f} s | {many / many_base:.2f}x |")
    print(f"\noperator RSS: {idle_rss:.0f} MiB idle, {busy_rss:.0f} MiB with {total} objects")


if __name__ == "__main__":
    main()
