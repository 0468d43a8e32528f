"""The simulated nodes kwok plays: CPU nodes, NVIDIA GPU nodes and MIG-partitioned nodes.

GPU nodes look the way the NVIDIA device plugin and GPU feature discovery (GFD) make
real ones look: the extended resource in capacity, GFD's labels, and the taint GPU
node pools usually carry so that only pods that tolerate it land there.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from sextant.devenv.cluster.components import KWOK_NODE_ANNOTATION

GPU_RESOURCE = "nvidia.com/gpu"
GPU_PRODUCT = "NVIDIA-H100-80GB-HBM3"
GPU_MEMORY_MIB = 81559  # what GFD reports for an H100 80GB HBM3
GPU_TAINT = {"key": GPU_RESOURCE, "value": "present", "effect": "NoSchedule"}
MIG_PROFILE = "1g.10gb"
MIG_RESOURCE = f"nvidia.com/mig-{MIG_PROFILE}"
MIG_SLICES = 7  # an H100 splits into seven 1g.10gb instances
POOL_LABEL = "sextant.dev/node-pool"
NODE_NETWORK = ipaddress.ip_network("172.30.0.0/16")


@dataclass(frozen=True)
class NodePools:
    """How many nodes of each kind to simulate."""

    cpu: int = 2
    gpu: int = 2
    mig: int = 1
    gpus_per_node: int = 8
    # Real workers (containerd + kubelet) that run pods for real; see realnode/.
    real: int = 0

    @property
    def total(self) -> int:
        return self.cpu + self.gpu + self.mig + self.real


def node_manifests(pools: NodePools) -> list[dict[str, Any]]:
    nodes = [_cpu_node(f"sextant-cpu-{i}") for i in range(pools.cpu)]
    nodes += [_gpu_node(f"sextant-gpu-{i}", pools.gpus_per_node) for i in range(pools.gpu)]
    nodes += [_mig_node(f"sextant-mig-{i}") for i in range(pools.mig)]
    for index, node in enumerate(nodes):
        # A distinct InternalIP each, as real nodes have; kwok keeps addresses it finds.
        node["status"]["addresses"] = [
            {"type": "InternalIP", "address": str(NODE_NETWORK[index + 10])},
            {"type": "Hostname", "address": node["metadata"]["name"]},
        ]
    return nodes


def _node(
    name: str,
    pool: str,
    *,
    cpu: str,
    memory: str,
    labels: dict[str, str] | None = None,
    resources: dict[str, str] | None = None,
    taints: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    capacity = {"cpu": cpu, "memory": memory, "pods": "110", **(resources or {})}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            # kwok manages only nodes with this annotation (see components.py).
            "annotations": {KWOK_NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
                POOL_LABEL: pool,
                **(labels or {}),
            },
        },
        "spec": {"taints": taints or []},
        # kwok's node-initialize stage keeps what is here and adds conditions and addresses.
        "status": {"capacity": capacity, "allocatable": capacity},
    }


def _cpu_node(name: str) -> dict[str, Any]:
    return _node(name, "cpu", cpu="16", memory="64Gi")


def _gfd_labels(product: str, count: int) -> dict[str, str]:
    return {
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.product": product,
        "nvidia.com/gpu.count": str(count),
        "nvidia.com/gpu.memory": str(GPU_MEMORY_MIB),
    }


def _gpu_node(name: str, gpus: int) -> dict[str, Any]:
    return _node(
        name,
        "gpu",
        cpu="96",
        memory="1Ti",
        labels=_gfd_labels(GPU_PRODUCT, gpus),
        resources={GPU_RESOURCE: str(gpus)},
        taints=[GPU_TAINT],
    )


def _mig_node(name: str) -> dict[str, Any]:
    """One H100 in MIG mode under the device plugin's "mixed" strategy."""
    labels = {
        **_gfd_labels(GPU_PRODUCT, 1),
        "nvidia.com/mig.strategy": "mixed",
        f"nvidia.com/mig-{MIG_PROFILE}.count": str(MIG_SLICES),
        f"nvidia.com/mig-{MIG_PROFILE}.product": f"{GPU_PRODUCT}-MIG-{MIG_PROFILE}",
        f"nvidia.com/mig-{MIG_PROFILE}.memory": "9856",
    }
    # Still a GPU node: the same taint keeps CPU-only pods off it.
    return _node(
        name,
        "mig",
        cpu="32",
        memory="256Gi",
        labels=labels,
        resources={MIG_RESOURCE: str(MIG_SLICES)},
        taints=[GPU_TAINT],
    )
