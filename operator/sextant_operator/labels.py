"""Label and annotation keys the operator puts on what it creates, and selectors over them."""

from __future__ import annotations

GROUP = "sextant.dev"
MODEL_DEPLOYMENT = f"{GROUP}/model-deployment"
TRACK = f"{GROUP}/track"
MODEL_VERSION = f"{GROUP}/model-version"
MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "sextant"
FIELD_MANAGER = "sextant-operator"

PROMOTE_ANNOTATION = f"{GROUP}/promote"
ABORT_ANNOTATION = f"{GROUP}/abort"


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


def selector_string(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
