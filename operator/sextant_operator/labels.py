"""Label and annotation keys the operator puts on what it creates, and selectors over them."""

from __future__ import annotations

GROUP = "sextant.dev"
MODEL_DEPLOYMENT = f"{GROUP}/model-deployment"
TRACK = f"{GROUP}/track"
MODEL_VERSION = f"{GROUP}/model-version"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "sextant"
FIELD_MANAGER = "sextant-operator"

PROMOTE_ANNOTATION = f"{GROUP}/promote"  # "true", or "full" for promote --full
ABORT_ANNOTATION = f"{GROUP}/abort"
RETRY_ANNOTATION = f"{GROUP}/retry"
VERSION_ANNOTATION = f"{GROUP}/model-version"  # on a version's Deployment: the exact version


def owner_labels(name: str) -> dict[str, str]:
    """Labels every child of one ModelDeployment carries."""
    return {
        "app.kubernetes.io/name": "sextant-runtime",
        "app.kubernetes.io/instance": name,
        MANAGED_BY: MANAGED_BY_VALUE,
        MODEL_DEPLOYMENT: name,
    }


def all_pods_selector(name: str) -> dict[str, str]:
    """Every runtime pod of one ModelDeployment, whatever its track (Service, HPA, PDB)."""
    return {MODEL_DEPLOYMENT: name}


def track_selector(name: str, track: str) -> dict[str, str]:
    """One Deployment's pods. Immutable once the Deployment exists: keep it minimal."""
    return {MODEL_DEPLOYMENT: name, TRACK: track}


def version_value(version: str) -> str:
    """A model version as a label value: at most 63 characters of [A-Za-z0-9_.-]."""
    cleaned = "".join(c if c.isalnum() or c in "_.-" else "-" for c in version)[:63]
    return cleaned.strip("_.-") or "unknown"


def version_selector(name: str, version: str) -> dict[str, str]:
    """One version's pods, whatever role it has now."""
    return {MODEL_DEPLOYMENT: name, MODEL_VERSION: version_value(version)}


def selector_string(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
