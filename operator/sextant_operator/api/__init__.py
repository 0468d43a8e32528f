"""The sextant.dev/v1alpha1 API: one typed model per kind, the source of crds/*.yaml.

This package imports only pydantic and the standard library, so that both the operator
and the `sextant crds` command can load it anywhere.
"""

from sextant_operator.api.common import API_VERSION, GROUP, VERSION, Condition, Resource
from sextant_operator.api.driftmonitor import DriftMonitor, DriftMonitorSpec, DriftMonitorStatus
from sextant_operator.api.featureview import FeatureView, FeatureViewSpec, FeatureViewStatus
from sextant_operator.api.modeldeployment import (
    ModelDeployment,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
)

# Every kind the CRDs are generated for, in the order they are documented.
KINDS: tuple[type[Resource], ...] = (ModelDeployment, FeatureView, DriftMonitor)

__all__ = [
    "API_VERSION",
    "GROUP",
    "KINDS",
    "VERSION",
    "Condition",
    "DriftMonitor",
    "DriftMonitorSpec",
    "DriftMonitorStatus",
    "FeatureView",
    "FeatureViewSpec",
    "FeatureViewStatus",
    "ModelDeployment",
    "ModelDeploymentSpec",
    "ModelDeploymentStatus",
    "Resource",
]
