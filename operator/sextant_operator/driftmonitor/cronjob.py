"""The CronJob that runs `sextant drift check` in the runtime image. Pure: spec in, object out.

The reference is read where the job runs: http(s):// and file:// as they are, pvc://CLAIM/PATH
from the claim mounted read-only, s3:// with spec.reference.s3 as the pod's AWS variables
(render/s3env.py, as for models and FeatureView sources). A reference the job could not
read is refused here (UnsupportedReference) and the DriftMonitor says so in status instead
of scheduling jobs that can only fail.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from sextant_operator.api import API_VERSION, DriftMonitor
from sextant_operator.driftmonitor import contract
from sextant_operator.predictionlog import redis_scope
from sextant_operator.render import runtime_contract as rc
from sextant_operator.render.s3env import s3_env
from sextant_operator.settings import OperatorSettings

REFERENCE_ROOT = "/mnt/reference"
# A check that hangs (a reference download that never ends) must not block the next one.
ACTIVE_DEADLINE_SECONDS = 1800
# Enough to read a window of a million rows and test 50 features in seconds.
REQUESTS = {"cpu": "500m", "memory": "1Gi"}


class UnsupportedReference(ValueError):
    """spec.reference names a location the drift check cannot read."""


def reference_location(uri: str) -> tuple[str, str | None]:
    """What the job is given for the reference, and the claim to mount (pvc:// only)."""
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https", "file", "s3"):
        return uri, None
    if scheme == "pvc":
        rest = uri.removeprefix("pvc://")
        claim, _, path = rest.partition("/")
        if not claim or not path:
            raise UnsupportedReference(f"spec.reference.uri: {uri}: expected pvc://CLAIM/PATH")
        return f"{REFERENCE_ROOT}/{claim}/{path}", claim
    raise UnsupportedReference(
        f"spec.reference.uri: {uri}: {scheme}:// references are not read by the drift check; "
        "use http(s)://, file://, pvc://CLAIM/PATH or s3://BUCKET/KEY"
    )


def check_args(dm: DriftMonitor, redis_url: str, reference: str) -> list[str]:
    """`sextant drift check` arguments for one run; $(VAR) is expanded by the kubelet."""
    assert dm.metadata.name is not None
    assert dm.metadata.namespace is not None
    spec = dm.spec
    key = contract.result_key(
        dm.metadata.namespace, dm.metadata.name, f"$({contract.JOB_NAME_ENV})"
    )
    args = [
        "drift", "check",
        "--reference", reference,
        "--format", spec.reference.format,
        "--redis-url", redis_url,
        "--model", redis_scope(dm.metadata.namespace, spec.target.model_deployment),
        "--window", str(spec.window.size),
        "--numerical-test", spec.tests.numerical,
        "--categorical-test", spec.tests.categorical,
        "--drift-share", repr(spec.drift_share),
        "--predictions" if spec.predictions else "--no-predictions",
        "--result-key", key,
    ]  # fmt: skip
    if spec.performance.task != "auto":
        args += ["--task", spec.performance.task]
    if spec.performance.prediction is not None:
        args += ["--prediction", spec.performance.prediction]
    if spec.tests.threshold is not None:
        args += ["--threshold", repr(spec.tests.threshold)]
    for feature in spec.features:
        args += ["--feature", f"{feature.name}:{feature.type}"]
    return args


def render_cronjob(dm: DriftMonitor, settings: OperatorSettings, redis_url: str) -> dict[str, Any]:
    """Raises UnsupportedReference for a reference the job cannot read."""
    assert dm.metadata.name is not None
    name = dm.metadata.name
    reference, claim = reference_location(dm.spec.reference.uri)
    own = contract.monitor_labels(name)
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = [{"name": "tmp", "mountPath": "/tmp"}]
    if claim is not None:
        volumes.append(
            {"name": "reference", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        )
        mounts.append(
            {"name": "reference", "mountPath": f"{REFERENCE_ROOT}/{claim}", "readOnly": True}
        )
    container = {
        "name": "drift-check",
        "image": settings.runtime_image,
        "args": check_args(dm, redis_url, reference),
        "env": [
            {
                "name": contract.JOB_NAME_ENV,
                "valueFrom": {
                    "fieldRef": {"fieldPath": f"metadata.labels['{contract.JOB_NAME_LABEL}']"}
                },
            },
            *s3_env(dm.spec.reference.s3, dm.spec.reference.uri),
        ],
        "resources": {"requests": dict(REQUESTS)},
        # A failed check's reason (the log's tail) becomes the termination message, which
        # the operator puts in the Ready condition.
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": rc.container_security_context(),
        "volumeMounts": mounts,
    }
    pod_spec = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": rc.pod_security_context(),
        "containers": [container],
        "volumes": volumes,
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": contract.cronjob_name(name),
            "namespace": dm.metadata.namespace,
            "labels": own,
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": "DriftMonitor",
                    "name": name,
                    "uid": dm.metadata.uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "schedule": dm.spec.schedule,
            # One check at a time; a late one is skipped rather than piled up.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 300,
            # The operator reads results within seconds; a short history is enough, and the
            # newest finished Job is what status reflects.
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 1,
            "jobTemplate": {
                "metadata": {"labels": own},
                "spec": {
                    # The next scheduled run is the retry: a failed check is reported, not
                    # repeated at once against the same unreachable dependency.
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": ACTIVE_DEADLINE_SECONDS,
                    "template": {"metadata": {"labels": own}, "spec": pod_spec},
                },
            },
        },
    }
