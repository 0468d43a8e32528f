import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from sextant_operator.render.children import desired_children
from sextant_operator.render.context import ModelArtifact
from sextant_operator.render.deployment import DRAIN_SECONDS, render_deployment
from tests.unit.operator.builders import context, example, model_deployment

GOLDEN = Path(__file__).parent / "golden"
CPU_MODEL = {"model": {"uri": "file:///models/fraud.onnx"}}


def pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    rendered = render_deployment(context(model_deployment(spec)), "stable", replicas=1)
    return dict(rendered["spec"]["template"]["spec"])


def container(spec: dict[str, Any]) -> dict[str, Any]:
    return dict(pod_spec(spec)["containers"][0])


@pytest.mark.parametrize(
    "example_file", ["modeldeployment-rollingupdate.yaml", "modeldeployment-gpu.yaml"]
)
def test_children_of_examples_match_golden_files(example_file: str) -> None:
    """Golden files: regenerate with SEXTANT_UPDATE_GOLDEN=1 and review the diff."""
    md = example(example_file)
    children = desired_children(context(md), service_monitors=True)
    rendered = yaml.safe_dump_all(children, sort_keys=True)
    golden = GOLDEN / example_file
    if os.environ.get("SEXTANT_UPDATE_GOLDEN"):
        golden.write_text(rendered)
    assert rendered == golden.read_text()


def test_gpu_count_becomes_a_gpu_limit_with_the_taint_tolerated() -> None:
    spec = pod_spec({**CPU_MODEL, "gpu": {"count": 2}})
    limits = spec["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/gpu"] == 2
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ]


def test_mig_profile_requests_the_mig_slice_and_never_a_whole_gpu() -> None:
    limits = container({**CPU_MODEL, "gpu": {"migProfile": "1g.10gb"}})["resources"]["limits"]
    assert limits == {"nvidia.com/mig-1g.10gb": 1}


def test_gpu_product_is_merged_into_the_users_node_selector() -> None:
    spec = pod_spec(
        {
            **CPU_MODEL,
            "gpu": {"count": 1, "product": "NVIDIA-H100-80GB-HBM3"},
            "scheduling": {"nodeSelector": {"topology.kubernetes.io/zone": "a"}},
        }
    )
    assert spec["nodeSelector"] == {
        "topology.kubernetes.io/zone": "a",
        "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
    }


def test_users_tolerations_are_kept_and_the_gpu_toleration_not_duplicated() -> None:
    mine = [
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists"},
    ]
    spec = pod_spec({**CPU_MODEL, "gpu": {"count": 1}, "scheduling": {"tolerations": mine}})
    assert spec["tolerations"] == mine


def test_cpu_model_has_no_gpu_limit_and_no_toleration() -> None:
    spec = pod_spec(CPU_MODEL)
    assert "limits" not in spec["containers"][0]["resources"]
    assert "tolerations" not in spec
    assert "nodeSelector" not in spec


def test_pod_runs_restricted_with_writable_empty_dirs() -> None:
    spec = pod_spec(CPU_MODEL)
    ctr = spec["containers"][0]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctr["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounted = {m["mountPath"] for m in ctr["volumeMounts"]}
    assert {"/tmp", "/var/cache/sextant"} <= mounted
    empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    assert {m["name"] for m in ctr["volumeMounts"]} <= empty_dirs


def test_pod_drains_before_it_dies() -> None:
    spec = pod_spec(CPU_MODEL)
    pre_stop = spec["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["terminationGracePeriodSeconds"] > pre_stop
    assert spec["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    assert spec["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"


def env_of(spec: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(spec)["env"]}


@pytest.mark.parametrize(
    ("resources", "threads"),
    [
        ({"limits": {"cpu": "1500m"}, "requests": {"cpu": "500m"}}, "2"),  # limit, rounded up
        ({"requests": {"cpu": "3"}}, "3"),  # no limit: the request
        ({"limits": {"memory": "1Gi"}, "requests": {"cpu": 2}}, "2"),
        ({"requests": {"cpu": "100m"}}, "1"),  # at least one
        ({}, "1"),  # the default request: one core
    ],
)
def test_runtime_threads_follow_the_pods_cpu(resources: dict[str, Any], threads: str) -> None:
    assert env_of({**CPU_MODEL, "resources": resources})["SEXTANT_THREADS"] == threads


def test_runtime_is_not_told_threads_when_the_pod_has_no_cpu_budget() -> None:
    env = env_of({**CPU_MODEL, "resources": {"requests": {"memory": "1Gi"}}})
    assert "SEXTANT_THREADS" not in env


def test_users_env_overrides_the_rendered_threads() -> None:
    spec = {**CPU_MODEL, "runtime": {"env": [{"name": "SEXTANT_THREADS", "value": "8"}]}}
    names = [e["name"] for e in container(spec)["env"]]
    assert names.count("SEXTANT_THREADS") == 1  # a list map: never the same name twice
    assert env_of(spec)["SEXTANT_THREADS"] == "8"


def test_runtime_drains_for_as_long_as_the_grace_period_allows() -> None:
    ctr = container(CPU_MODEL)
    env = env_of(CPU_MODEL)
    grace = pod_spec(CPU_MODEL)["terminationGracePeriodSeconds"]
    pre_stop = ctr["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert env["SEXTANT_DRAIN_SECONDS"] == str(DRAIN_SECONDS)
    assert pre_stop + DRAIN_SECONDS < grace


def test_batching_device_and_metric_labels_reach_the_runtime_env() -> None:
    env = {
        e["name"]: e.get("value")
        for e in container(
            {
                **CPU_MODEL,
                "runtime": {
                    "batching": {"maxBatchSize": 64, "maxDelayMs": 2},
                    "device": "cuda",
                    "env": [{"name": "OMP_NUM_THREADS", "value": "4"}],
                },
            }
        )["env"]
    }
    assert env["SEXTANT_MAX_BATCH_SIZE"] == "64"
    assert env["SEXTANT_MAX_DELAY_MS"] == "2"
    assert env["SEXTANT_DEVICE"] == "cuda"
    assert env["SEXTANT_TRACK"] == "stable"
    assert env["OMP_NUM_THREADS"] == "4"


def test_registry_model_is_served_pinned_to_its_resolved_version() -> None:
    md = model_deployment({"model": {"registry": {"name": "fraud", "alias": "champion"}}})
    artifact = ModelArtifact("models:/fraud/7", "7", tracking_uri="http://mlflow:5000")
    deployment = render_deployment(context(md, artifact), "stable", replicas=1)
    pod = deployment["spec"]["template"]
    ctr = pod["spec"]["containers"][0]
    assert ctr["args"] == ["serve", "models:/fraud/7", "--name", "fraud"]
    assert {"name": "MLFLOW_TRACKING_URI", "value": "http://mlflow:5000"} in ctr["env"]
    assert pod["metadata"]["labels"]["sextant.dev/model-version"] == "7"


def test_pvc_model_is_mounted_read_only_and_served_from_the_mount() -> None:
    spec = pod_spec({"model": {"uri": "pvc://models/fraud/v3/model.onnx"}})
    ctr = spec["containers"][0]
    assert ctr["args"][1] == "/mnt/models/models/fraud/v3/model.onnx"
    assert {"name": "model", "mountPath": "/mnt/models/models", "readOnly": True} in ctr[
        "volumeMounts"
    ]
    assert {
        "name": "model",
        "persistentVolumeClaim": {"claimName": "models", "readOnly": True},
    } in spec["volumes"]


def kinds(spec: dict[str, Any], *, service_monitors: bool = False) -> list[str]:
    md = model_deployment(spec)
    return [c["kind"] for c in desired_children(context(md), service_monitors=service_monitors)]


def test_single_replica_without_autoscaling_gets_no_hpa_and_no_pdb() -> None:
    assert kinds(CPU_MODEL) == ["Service", "Deployment"]


def test_several_replicas_get_a_pdb() -> None:
    assert kinds({**CPU_MODEL, "replicas": 3}) == ["Service", "Deployment", "PodDisruptionBudget"]


def test_hpa_scales_the_model_deployment_itself_on_cpu_and_inflight_requests() -> None:
    md = model_deployment(
        {
            **CPU_MODEL,
            "autoscaling": {
                "minReplicas": 2,
                "maxReplicas": 5,
                "targetCPUUtilization": 70,
                "targetInflightRequests": 16,
            },
        }
    )
    children = {c["kind"]: c for c in desired_children(context(md), service_monitors=False)}
    hpa = children["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"] == {
        "apiVersion": "sextant.dev/v1alpha1",
        "kind": "ModelDeployment",
        "name": "fraud",
    }
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
    assert [m["type"] for m in hpa["metrics"]] == ["Resource", "Pods"]
    assert hpa["metrics"][1]["pods"]["metric"]["name"] == "sextant_inference_inflight_requests"
    # spec.replicas (default 1) is raised to the HPA's minimum until the HPA takes over.
    assert children["Deployment"]["spec"]["replicas"] == 2


def test_service_monitor_only_where_the_prometheus_operator_api_exists() -> None:
    spec = {**CPU_MODEL, "monitoring": {"serviceMonitor": True}}
    assert "ServiceMonitor" in kinds(spec, service_monitors=True)
    assert "ServiceMonitor" not in kinds(spec, service_monitors=False)


def test_every_child_is_controlled_by_the_model_deployment() -> None:
    md = model_deployment(
        {**CPU_MODEL, "replicas": 2, "autoscaling": {"maxReplicas": 4, "targetCPUUtilization": 60}}
    )
    for child in desired_children(context(md), service_monitors=True):
        (owner,) = child["metadata"]["ownerReferences"]
        assert owner["uid"] == "uid-1234"
        assert owner["controller"] is True
        assert child["metadata"]["labels"]["sextant.dev/model-deployment"] == "fraud"
