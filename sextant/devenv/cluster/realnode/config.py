"""What one real node is made of, as pure data: addresses, ports, paths and config files.

Everything here is computed from the cluster's state dir and the node's index, so `down`
can find (and remove) exactly what `up` made without keeping more than a count.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# A /24 on a link of the host (a bridge without ports): the API server's advertised address
# and one address per real node (kubelet refuses a loopback node IP; pods cannot reach the
# host's loopback).
HOST_LINK = "sextant0"
HOST_NETWORK = ipaddress.ip_network("172.29.0.0/24")
API_ADDRESS = str(HOST_NETWORK[1])
# Pod subnets of the real nodes: one /24 each, apart from the range kwok hands to fake pods.
REAL_POD_NETWORK = ipaddress.ip_network("10.88.0.0/16")
NODE_NAME_PREFIX = "sextant-node"
REAL_POOL = "real"
PAUSE_IMAGE = "localhost/sextant/pause:3.10"
CNI_BIN_DIR = Path("/usr/lib/cni")
# Short unix socket paths (108 bytes at most), so these live under /run, not the state dir.
RUN_ROOT = Path("/run/sextant")
# The kubelet's root holds sockets too (pod resources, device plugins): a short path on disk.
KUBELET_ROOT = Path("/var/lib/sextant")


@dataclass(frozen=True)
class RealNode:
    """One real worker of the cluster whose state dir is `cluster_root`."""

    cluster_root: Path
    index: int

    @property
    def name(self) -> str:
        return f"{NODE_NAME_PREFIX}-{self.index}"

    @property
    def ip(self) -> str:
        return str(HOST_NETWORK[10 + self.index])

    @property
    def pod_subnet(self) -> ipaddress.IPv4Network:
        first = int(REAL_POD_NETWORK.network_address) + (self.index << 8)
        return ipaddress.IPv4Network((first, 24))

    @property
    def bridge(self) -> str:
        return f"sextant-br{self.index}"  # at most 15 characters, as Linux wants

    @property
    def cgroup_root(self) -> str:
        """The kubelet's cgroup root: one per node so two kubelets never share /kubepods."""
        return f"/{self.name}"

    @property
    def root(self) -> Path:
        return self.cluster_root / "nodes" / self.name

    @property
    def tag(self) -> str:
        """Short and unique per cluster and node, for paths that must stay short."""
        digest = hashlib.sha256(str(self.cluster_root.resolve()).encode()).hexdigest()[:8]
        return f"{digest}-{self.index}"

    @property
    def run_dir(self) -> Path:
        return RUN_ROOT / self.tag

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd.sock"

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd"

    @property
    def containerd_state(self) -> Path:
        return self.run_dir / "containerd-state"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.root / "ipam"

    @property
    def kubelet_dir(self) -> Path:
        return KUBELET_ROOT / self.tag

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet.yaml"

    @property
    def pod_logs_dir(self) -> Path:
        return self.root / "pod-logs"

    @property
    def resolv_conf(self) -> Path:
        return self.root / "resolv.conf"

    def owned_paths(self) -> tuple[Path, ...]:
        """Folders whose mounts are this node's: unmounted on the way down."""
        return (self.root, self.run_dir, self.kubelet_dir)


def containerd_toml(node: RealNode) -> str:
    """containerd 1.6 (Debian's) as a CRI runtime for one kubelet, with runc and cgroupfs."""
    cri = {
        "sandbox_image": PAUSE_IMAGE,
        # No CAP_SYS_RESOURCE here: never try to lower the OOM score below our own.
        "restrict_oom_score_adj": True,
        # Network namespaces under our state dir, not /run/netns, so `down` finds them all.
        "netns_mounts_under_state_dir": True,
        "enable_selinux": False,
        "containerd": {
            "snapshotter": "overlayfs",
            "default_runtime_name": "runc",
            "runtimes": {
                "runc": {
                    "runtime_type": "io.containerd.runc.v2",
                    # crun fails on this host's hybrid cgroup layout; runc copes.
                    "options": {"BinaryName": "runc", "SystemdCgroup": False},
                }
            },
        },
        "cni": {"bin_dir": str(CNI_BIN_DIR), "conf_dir": str(node.cni_conf_dir)},
    }
    lines = [
        "version = 2",
        f'root = "{node.containerd_root}"',
        f'state = "{node.containerd_state}"',
        # Plugins that need kernel features or tools this host lacks only log errors.
        'disabled_plugins = ["io.containerd.snapshotter.v1.aufs", '
        '"io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", '
        '"io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", '
        '"io.containerd.internal.v1.tracing"]',
        "",
        "[grpc]",
        f'  address = "{node.containerd_socket}"',
        "",
        "[ttrpc]",
        f'  address = "{node.containerd_socket}.ttrpc"',
        "",
        "[debug]",
        f'  address = "{node.containerd_socket}.debug"',
        "",
    ]
    lines += _toml_tables('plugins."io.containerd.grpc.v1.cri"', cri)
    return "\n".join(lines) + "\n"


def _toml_tables(prefix: str, table: dict[str, Any]) -> list[str]:
    """A nested dict as TOML tables: enough of TOML for containerd's config."""
    lines = [f"[{prefix}]"]
    nested: list[tuple[str, dict[str, Any]]] = []
    for key, value in table.items():
        if isinstance(value, dict):
            nested.append((key, value))
        else:
            lines.append(f"  {key} = {json.dumps(value)}")
    lines.append("")
    for key, value in nested:
        lines += _toml_tables(f"{prefix}.{key}", value)
    return lines


def cni_conflist(node: RealNode) -> dict[str, Any]:
    """A Linux bridge per node, host-local addresses from the node's /24, routed by the host."""
    return {
        "cniVersion": "1.0.0",
        "name": "sextant",
        "plugins": [
            {
                "type": "bridge",
                "bridge": node.bridge,
                # The bridge holds the gateway address: host <-> pod traffic is plain routing.
                "isGateway": True,
                "ipMasq": False,
                # A pod reaching itself through its Service comes back over the same port.
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(node.pod_subnet)}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(node.cni_ipam_dir),
                },
            },
            {"type": "loopback"},
        ],
    }


def kubelet_config(node: RealNode, *, ca_cert: Path, port: int, healthz_port: int) -> str:
    config: dict[str, Any] = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": node.ip,
        "port": port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca_cert)},
        },
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{node.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": node.cgroup_root,
        # This host has cgroup v1 controllers (hybrid layout) and maybe swap.
        "failCgroupV1": False,
        "failSwapOn": False,
        "podLogsDir": str(node.pod_logs_dir),
        "resolvConf": str(node.resolv_conf),
        "clusterDomain": "cluster.local",
        "clusterDNS": [API_ADDRESS],
        # Images are imported, never pulled: garbage-collecting one would lose it for good.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # A busy shared dev disk must not evict the pods under test.
        "evictionHard": {
            "memory.available": "100Mi",
            "nodefs.available": "1%",
            "nodefs.inodesFree": "1%",
            "imagefs.available": "1%",
        },
        "serializeImagePulls": False,
        "rotateCertificates": False,
        "registerNode": True,
        "shutdownGracePeriod": "0s",
        "maxPods": 110,
    }
    return yaml.safe_dump(config, sort_keys=False)


def corefile(*, kubeconfig: Path, health_port: int, ready_port: int) -> str:
    """Cluster DNS on the API server's host address, where every pod can reach it."""
    return f"""\
.:53 {{
    bind {API_ADDRESS}
    errors
    health 127.0.0.1:{health_port}
    ready 127.0.0.1:{ready_port}
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 5
    }}
    forward . /etc/resolv.conf
    cache 5
    loadbalance
}}
"""


def kube_proxy_config(
    node: RealNode, *, kubeconfig: Path, healthz_port: int, metrics_port: int
) -> str:
    config: dict[str, Any] = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": node.name,
        "bindAddress": node.ip,
        "healthzBindAddress": f"127.0.0.1:{healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{metrics_port}",
        "clusterCIDR": str(REAL_POD_NETWORK),
        # Pod -> Service -> pod on the same bridge: SNAT makes the reply come back through
        # the host, where conntrack undoes the DNAT (no br_netfilter needed).
        "iptables": {"masqueradeAll": True, "localhostNodePorts": False},
        # Never touch the host's conntrack sysctls.
        "conntrack": {"maxPerCore": 0, "min": 0},
    }
    return yaml.safe_dump(config, sort_keys=False)
