"""spec.*.s3 (S3Access) as the standard AWS variables the runtime's S3 client reads.

Shared by every pod that reads an s3:// object: a ModelDeployment's runtime (its model),
a FeatureView's materialization jobs (their source), a DriftMonitor's checks (their
reference). The keys stay in their Secret and
reach the pod as secretKeyRefs, never as values in a rendered object.
"""

from __future__ import annotations

from typing import Any

from sextant_operator.api.common import S3Access

SECRET_KEYS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def s3_env(access: S3Access | None, uri: str) -> list[dict[str, Any]]:
    """The env entries for reading `uri` with `access`; none unless `uri` is s3://."""
    if access is None or not uri.startswith("s3://"):
        return []
    env: list[dict[str, Any]] = []
    if access.endpoint:
        # The S3-only variable: other AWS clients in the pod keep their own endpoints.
        env.append({"name": "AWS_ENDPOINT_URL_S3", "value": access.endpoint})
    if access.region:
        env.append({"name": "AWS_REGION", "value": access.region})
    if access.credentials_secret:
        for key in SECRET_KEYS:
            ref: dict[str, Any] = {"name": access.credentials_secret, "key": key}
            if key == "AWS_SESSION_TOKEN":
                ref["optional"] = True  # only temporary credentials have one
            env.append({"name": key, "valueFrom": {"secretKeyRef": ref}})
    return env
