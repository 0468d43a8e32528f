"""Skip server-side applies that would change nothing.

A child is applied again only when what Sextant wants differs from what it last applied
(a fingerprint kept in an annotation catches fields Sextant stopped setting, which the
apply must remove) or when the live object no longer holds every value Sextant sets
(someone edited it, and the apply takes the fields back).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sextant_operator import labels

FINGERPRINT_ANNOTATION = f"{labels.GROUP}/applied-fingerprint"


def with_fingerprint(desired: dict[str, Any]) -> dict[str, Any]:
    """`desired` with the annotation that fingerprints it (the input is not modified)."""
    digest = hashlib.sha256(json.dumps(desired, sort_keys=True).encode()).hexdigest()[:16]
    metadata = dict(desired["metadata"])
    annotations = {**(metadata.get("annotations") or {}), FINGERPRINT_ANNOTATION: digest}
    metadata["annotations"] = annotations
    return {**desired, "metadata": metadata}


def unchanged(desired: dict[str, Any], live: dict[str, Any] | None) -> bool:
    """Whether applying `desired` (with its fingerprint) to `live` would change nothing."""
    if live is None or live["metadata"].get("deletionTimestamp"):
        return False
    return _holds(desired, live)


def _holds(desired: Any, live: Any) -> bool:
    """Every value in `desired` is in `live` (which may have more: defaults, status)."""
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            key in live and _holds(value, live[key]) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(desired) == len(live)
            and all(_holds(d, v) for d, v in zip(desired, live, strict=True))
        )
    return bool(desired == live)
