"""A real local Kubernetes control plane with fake GPU nodes, for tests and `sextant cluster`.

Modules, one job each: `tools` builds and caches the upstream binaries, `pki` makes
certificates, `components` starts the control-plane processes, `nodes` describes
kwok's simulated nodes, `cluster` runs them all, `state` remembers a daemonized
cluster for `down`, and `access` is what clients (tests) use.
"""

from sextant.devenv.cluster.access import KubeAccess, KubectlError
from sextant.devenv.cluster.cluster import LocalCluster
from sextant.devenv.cluster.nodes import NodePools
from sextant.devenv.cluster.tools import Toolset, ensure_tools

__all__ = ["KubeAccess", "KubectlError", "LocalCluster", "NodePools", "Toolset", "ensure_tools"]
