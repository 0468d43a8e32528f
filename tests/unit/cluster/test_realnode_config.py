"""Real nodes' configuration is plain data: addresses, paths and files, checked here."""

from __future__ import annotations

import ipaddress
import tomllib
from pathlib import Path

import yaml

from sextant.devenv.cluster.components import POD_CIDR, SERVICE_CIDR
from sextant.devenv.cluster.realnode import config
from sextant.devenv.cluster.realnode.node import plan


def test_each_node_has_its_own_address_pod_subnet_bridge_and_cgroup_root(tmp_path: Path) -> None:
    nodes = plan(tmp_path, 3)
    for attribute in ("name", "ip", "pod_subnet", "bridge", "cgroup_root", "run_dir", "root"):
        values = [getattr(n, attribute) for n in nodes]
        assert len(set(values)) == 3, attribute
    assert all(ipaddress.ip_address(n.ip) in config.HOST_NETWORK for n in nodes)
    assert config.API_ADDRESS not in {n.ip for n in nodes}
    assert all(len(n.bridge) <= 15 for n in nodes)  # Linux interface names


def test_pod_subnets_stay_clear_of_kwok_pods_services_and_the_host_link(tmp_path: Path) -> None:
    taken = [ipaddress.ip_network(c) for c in (POD_CIDR, SERVICE_CIDR)] + [config.HOST_NETWORK]
    for node in plan(tmp_path, 8):
        assert node.pod_subnet.subnet_of(config.REAL_POD_NETWORK)
        assert not any(node.pod_subnet.overlaps(other) for other in taken)


def test_sockets_fit_a_unix_socket_path_even_for_a_deep_state_dir(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["very-long-folder-name"] * 10)
    [node] = plan(deep, 1)
    assert len(str(node.containerd_socket) + ".ttrpc") < 108
    # The kubelet makes sockets of its own under its root (pod resources, plugins).
    assert len(str(node.kubelet_dir / "plugins_registry" / ("x" * 40))) < 108


def test_containerd_config_is_toml_for_cri_with_runc_cgroupfs_and_our_cni(tmp_path: Path) -> None:
    [node] = plan(tmp_path, 1)
    parsed = tomllib.loads(config.containerd_toml(node))
    assert parsed["version"] == 2
    assert parsed["grpc"]["address"] == str(node.containerd_socket)
    cri = parsed["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == config.PAUSE_IMAGE
    assert cri["restrict_oom_score_adj"] is True
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is False
    assert cri["cni"]["conf_dir"] == str(node.cni_conf_dir)


def test_cni_bridge_hands_out_the_node_subnet(tmp_path: Path) -> None:
    [_, node] = plan(tmp_path, 2)
    bridge = config.cni_conflist(node)["plugins"][0]
    assert bridge["bridge"] == node.bridge
    assert bridge["ipam"]["ranges"] == [[{"subnet": "10.88.1.0/24"}]]
    assert bridge["ipam"]["dataDir"].startswith(str(node.root))


def test_kubelet_uses_cgroupfs_its_own_root_cluster_dns_and_never_collects_images(
    tmp_path: Path,
) -> None:
    [node] = plan(tmp_path, 1)
    kubelet = yaml.safe_load(
        config.kubelet_config(node, ca_cert=tmp_path / "ca.crt", port=1, healthz_port=2)
    )
    assert kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["cgroupRoot"] == node.cgroup_root
    assert kubelet["failSwapOn"] is False
    assert kubelet["clusterDNS"] == [config.API_ADDRESS]
    assert kubelet["imageGCHighThresholdPercent"] == 100
    assert kubelet["containerRuntimeEndpoint"] == f"unix://{node.containerd_socket}"


def test_kube_proxy_masquerades_service_traffic_and_leaves_conntrack_alone(tmp_path: Path) -> None:
    [node] = plan(tmp_path, 1)
    proxy = yaml.safe_load(
        config.kube_proxy_config(
            node, kubeconfig=tmp_path / "k.yaml", healthz_port=1, metrics_port=2
        )
    )
    assert proxy["mode"] == "iptables"
    assert proxy["iptables"]["masqueradeAll"] is True
    assert proxy["conntrack"]["maxPerCore"] == 0
    assert proxy["hostnameOverride"] == node.name
