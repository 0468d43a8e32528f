"""A FeatureView's children, pure: the materialization CronJob and its one-off Jobs.

Each pod runs the runtime image's `sextant materialize` on the FeatureView as a manifest
that the pod template itself carries (an annotation, projected as a file by the downward
API): the job needs no Kubernetes API access, and every run reads the spec its CronJob
had when the run started. A pvc:// source is mounted read-only and read as a file; an
s3:// one is read with spec.source.s3 as the pod's AWS variables (render/s3env.py).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sextant_operator import labels
from sextant_operator.api import API_VERSION
from sextant_operator.api.featureview import FeatureView
from sextant_operator.render import runtime_contract as rc
from sextant_operator.render.s3env import s3_env

FEATURE_VIEW_LABEL = f"{labels.GROUP}/feature-view"
MANIFEST_ANNOTATION = f"{labels.GROUP}/feature-view-manifest"
MANIFEST_DIR = "/etc/sextant"
MANIFEST_FILE = "featureview.json"
DATA_ROOT = "/mnt/data"
PASSWORD_ENV = "SEXTANT_REDIS_PASSWORD"  # `sextant materialize --redis-password`
JOB_BACKOFF_LIMIT = 2
HISTORY_LIMIT = 3
# A run that could not start within this long after its tick is skipped (the controller
# was down, a run was still going): the next tick covers the same rows.
STARTING_DEADLINE_SECONDS = 300
_MAX_CRONJOB_NAME = 52  # the CronJob controller appends -<11 digits> for its Jobs


def cronjob_name(view: str) -> str:
    return _short(f"{view}-materialize", _MAX_CRONJOB_NAME)


def initial_job_name(view: str) -> str:
    return _short(f"{view}-materialize-initial", 63)


def view_labels(view: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "sextant-materialize",
        "app.kubernetes.io/instance": _label_value(view),
        labels.MANAGED_BY: labels.MANAGED_BY_VALUE,
        FEATURE_VIEW_LABEL: _label_value(view),
    }


def owner_annotation(view: str) -> dict[str, str]:
    """On each Job: the FeatureView's full name (a label value may be cut to 63)."""
    return {FEATURE_VIEW_LABEL: view}


def render_cronjob(fv: FeatureView, image: str, redis_url: str) -> dict[str, Any]:
    """The CronJob of spec.materialization (which must be set)."""
    assert fv.spec.materialization is not None
    name = _name(fv)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata(fv, cronjob_name(name)),
        "spec": {
            "schedule": fv.spec.materialization.schedule,
            "timeZone": "Etc/UTC",
            # Two runs racing are safe (writes compare event times) but only waste work.
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": STARTING_DEADLINE_SECONDS,
            "successfulJobsHistoryLimit": HISTORY_LIMIT,
            "failedJobsHistoryLimit": HISTORY_LIMIT,
            "jobTemplate": {
                "metadata": {"labels": view_labels(name), "annotations": owner_annotation(name)},
                "spec": job_spec(fv, image, redis_url),
            },
        },
    }


def render_initial_job(fv: FeatureView, image: str, redis_url: str) -> dict[str, Any]:
    """A run right away, as `kubectl create job --from=cronjob/...` would start it."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            **_metadata(fv, initial_job_name(_name(fv))),
            "annotations": owner_annotation(_name(fv)),
        },
        "spec": {**job_spec(fv, image, redis_url), "ttlSecondsAfterFinished": 86400},
    }


def job_spec(fv: FeatureView, image: str, redis_url: str) -> dict[str, Any]:
    """One run: a pod, or an Indexed Job of `parallelism` pods, one shard each."""
    shards = fv.spec.materialization.parallelism if fv.spec.materialization else 1
    spec: dict[str, Any] = {
        "backoffLimit": JOB_BACKOFF_LIMIT,
        "template": {
            "metadata": {
                "labels": view_labels(_name(fv)),
                "annotations": {MANIFEST_ANNOTATION: manifest(fv)},
            },
            "spec": _pod_spec(fv, image, redis_url, shards),
        },
    }
    if shards > 1:
        # Each pod gets JOB_COMPLETION_INDEX, which `sextant materialize` takes as --shard.
        spec.update(completionMode="Indexed", completions=shards, parallelism=shards)
    return spec


def manifest(fv: FeatureView) -> str:
    """The FeatureView as the job reads it (JSON is YAML), a pvc:// source as its mount."""
    spec = fv.spec.model_dump(by_alias=True, exclude_none=True, mode="json")
    claim, path = pvc_parts(fv.spec.source.uri)
    if claim is not None:
        spec["source"]["uri"] = f"file://{DATA_ROOT}/{claim}/{path}"
    body = {
        "apiVersion": API_VERSION,
        "kind": "FeatureView",
        "metadata": {"name": _name(fv), "namespace": fv.metadata.namespace},
        "spec": spec,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def pvc_parts(uri: str) -> tuple[str | None, str]:
    """(claim, path inside it) of pvc://CLAIM/PATH; (None, "") for any other URI."""
    if not uri.startswith("pvc://"):
        return None, ""
    claim, _, path = uri.removeprefix("pvc://").partition("/")
    return claim, path


def _pod_spec(fv: FeatureView, image: str, redis_url: str, shards: int) -> dict[str, Any]:
    env: list[dict[str, Any]] = [{"name": "SEXTANT_SHARDS", "value": str(shards)}]
    secret = fv.spec.online.secret_ref
    if secret is not None:
        ref = {"name": secret.name, "key": secret.key}
        env.append({"name": PASSWORD_ENV, "valueFrom": {"secretKeyRef": ref}})
    env.extend(s3_env(fv.spec.source.s3, fv.spec.source.uri))
    mounts: list[dict[str, Any]] = [
        {"name": "manifest", "mountPath": MANIFEST_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},  # DuckDB spills and http(s) downloads
    ]
    item = {"path": MANIFEST_FILE, "fieldRef": {"fieldPath": _annotation_path()}}
    volumes: list[dict[str, Any]] = [
        {"name": "manifest", "downwardAPI": {"items": [item]}},
        {"name": "tmp", "emptyDir": {}},
    ]
    claim, _ = pvc_parts(fv.spec.source.uri)
    if claim is not None:
        volumes.append(
            {"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}
        )
        mounts.append({"name": "data", "mountPath": f"{DATA_ROOT}/{claim}", "readOnly": True})
    return {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,  # the job never talks to the API server
        "enableServiceLinks": False,
        "securityContext": rc.pod_security_context(),
        "containers": [
            {
                "name": "materialize",
                "image": image,
                "args": [
                    "materialize",
                    "--filename",
                    f"{MANIFEST_DIR}/{MANIFEST_FILE}",
                    "--redis-url",
                    redis_url,
                ],
                "env": env,
                # The CLI's last error line becomes the Job's failure reason in status.
                "terminationMessagePolicy": "FallbackToLogsOnError",
                "securityContext": rc.container_security_context(),
                "volumeMounts": mounts,
            }
        ],
        "volumes": volumes,
    }


def _annotation_path() -> str:
    return f"metadata.annotations['{MANIFEST_ANNOTATION}']"


def _metadata(fv: FeatureView, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": fv.metadata.namespace,
        "labels": view_labels(_name(fv)),
        "ownerReferences": [
            {
                "apiVersion": API_VERSION,
                "kind": "FeatureView",
                "name": _name(fv),
                "uid": fv.metadata.uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    }


def _name(fv: FeatureView) -> str:
    assert fv.metadata.name is not None
    return fv.metadata.name


def _short(name: str, limit: int) -> str:
    """`name` cut to `limit` characters with a hash of the whole, so cut names differ."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-.')}-{digest}"


def _label_value(name: str) -> str:
    return _short(name, 63)
