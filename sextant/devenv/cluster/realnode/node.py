"""Start real nodes next to the control plane: containerd, images, kubelet, kube-proxy."""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from sextant.devenv.cluster.components import Component, Credentials, Layout, http_ok
from sextant.devenv.cluster.kubeconfig import write_kubeconfig
from sextant.devenv.cluster.realnode import config, host
from sextant.devenv.cluster.realnode.config import RealNode
from sextant.devenv.cluster.tools import Progress, Toolset
from sextant.devenv.process import ManagedProcess, ServiceError, free_port, require_executable

log = logging.getLogger(__name__)

NODE_LABELS = {"sextant.dev/node-pool": config.REAL_POOL}


@dataclass(frozen=True)
class ImageArchive:
    """An image to preload into every real node's containerd, under `reference`."""

    reference: str
    archive: Path


def plan(cluster_root: Path, count: int) -> list[RealNode]:
    return [RealNode(cluster_root, index) for index in range(count)]


class RealNodeSet:
    """The processes of all real nodes, started in order, each with a readiness probe."""

    def __init__(
        self,
        nodes: Sequence[RealNode],
        *,
        tools: Toolset,
        layout: Layout,
        creds: Credentials,
        server: str,
        images: Sequence[ImageArchive],
        die_with_parent: bool,
        progress: Progress,
    ) -> None:
        self.nodes = list(nodes)
        self.tools = tools
        self.layout = layout
        self.creds = creds
        self.server = server
        self.images = list(images)
        self.die_with_parent = die_with_parent
        self.progress = progress
        self.components: list[Component] = []
        self._ctr_exe = require_executable("ctr", "apt-get install containerd (hack/setup.sh does)")

    def start(self, timeout: float) -> None:
        host.require_root()
        for tool, package in (
            ("containerd", "containerd"),
            ("runc", "runc"),
            ("iptables", "iptables"),
        ):
            require_executable(tool, f"apt-get install {package} (hack/setup.sh does)")
        if not (config.CNI_BIN_DIR / "bridge").exists():
            raise ServiceError(
                f"no CNI plugins in {config.CNI_BIN_DIR}: apt-get install "
                "containernetworking-plugins (hack/setup.sh does)"
            )
        host.claim(self.layout.root)
        host.prepare(self.nodes)
        self.progress("starting coredns (cluster DNS for pods on real nodes)")
        self._run(self._coredns())
        for node in self.nodes:
            self.progress(f"starting containerd for {node.name}")
            containerd = self._containerd(node)
            self._run(containerd)
            self._import_images(node)
        for node in self.nodes:
            self.progress(f"starting kubelet for {node.name} ({node.ip}, pods {node.pod_subnet})")
            self._run(self._kubelet(node))
        self._run(self._kube_proxy(self.nodes[0]))
        self.progress(f"waiting for {len(self.nodes)} real node(s) to be Ready")
        names = [f"node/{n.name}" for n in self.nodes]
        self._kubectl("wait", "--for=create", *names, f"--timeout={timeout:.0f}s")
        self._kubectl("wait", "--for=condition=Ready", *names, f"--timeout={timeout:.0f}s")

    def _run(self, component: Component) -> None:
        self.components.append(component)
        component.start()
        component.wait()

    def _process(self, name: str, argv: list[str]) -> ManagedProcess:
        return ManagedProcess(
            name,
            argv,
            log_path=self.layout.log(name),
            cwd=self.layout.root,
            die_with_parent=self.die_with_parent,
        )

    def _containerd(self, node: RealNode) -> Component:
        for folder in (node.root, node.run_dir, node.cni_conf_dir, node.cni_ipam_dir):
            folder.mkdir(parents=True, exist_ok=True)
        node.containerd_config.write_text(config.containerd_toml(node))
        (node.cni_conf_dir / "10-sextant.conflist").write_text(
            json.dumps(config.cni_conflist(node), indent=2) + "\n"
        )
        process = self._process(
            f"containerd-{node.name}", ["containerd", "--config", str(node.containerd_config)]
        )
        return Component(process, lambda: self._ctr_ok(node), timeout=60, what="serving")

    def _ctr(self, node: RealNode, *argv: str) -> subprocess.CompletedProcess[str]:
        address = str(node.containerd_socket)
        return subprocess.run(
            [self._ctr_exe, "--address", address, "--namespace", "k8s.io", *argv],
            capture_output=True, text=True, check=False, timeout=600,
        )  # fmt: skip

    def _ctr_ok(self, node: RealNode) -> bool:
        return node.containerd_socket.exists() and self._ctr(node, "version").returncode == 0

    def _import_images(self, node: RealNode) -> None:
        for image in self.images:
            result = self._ctr(node, "images", "import", str(image.archive))
            if result.returncode != 0:
                raise ServiceError(
                    f"importing {image.archive} into {node.name}'s containerd failed:\n"
                    f"{result.stderr.strip()}"
                )
            have = self._ctr(node, "images", "ls", "-q").stdout.split()
            if image.reference not in have:
                raise ServiceError(
                    f"{image.archive} did not bring {image.reference} into {node.name} "
                    f"(it has: {', '.join(have) or 'nothing'})"
                )
        self.progress(f"imported {len(self.images)} image(s) into {node.name}")

    def _kubelet(self, node: RealNode) -> Component:
        ca = self.creds.authority
        client = ca.issue(
            f"kubelet-{node.name}",
            f"system:node:{node.name}",
            organizations=("system:nodes",),
            client=True,
        )
        kubeconfig = write_kubeconfig(
            self.layout.kubeconfigs / f"kubelet-{node.name}.yaml",
            server=self.server, ca_cert=self.creds.ca.cert, name=node.name, client=client,
        )  # fmt: skip
        # Pods have no cluster DNS server yet; they resolve as the host does.
        node.resolv_conf.write_text(Path("/etc/resolv.conf").read_text())
        healthz = free_port()
        node.kubelet_config.write_text(
            config.kubelet_config(
                node, ca_cert=self.creds.ca.cert, port=free_port(), healthz_port=healthz
            )
        )
        labels = ",".join(f"{k}={v}" for k, v in NODE_LABELS.items())
        argv = [
            str(self.tools.path("kubelet")),
            f"--config={node.kubelet_config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={node.kubelet_dir}",
            f"--cert-dir={node.root / 'kubelet-pki'}",
            f"--hostname-override={node.name}",
            f"--node-ip={node.ip}",
            f"--node-labels={labels}",
            "--v=1",
        ]
        return Component(
            self._process(f"kubelet-{node.name}", argv),
            lambda: http_ok(f"http://127.0.0.1:{healthz}/healthz"),
            timeout=90,
            what="healthy",
        )

    def _coredns(self) -> Component:
        # A dev cluster's DNS reads Services, EndpointSlices, Pods and Namespaces; it gets
        # no more than kwok does (system:masters) rather than a role of its own.
        client = self.creds.authority.issue(
            "coredns", "coredns", organizations=("system:masters",), client=True
        )
        kubeconfig = write_kubeconfig(
            self.layout.kubeconfigs / "coredns.yaml",
            server=self.server, ca_cert=self.creds.ca.cert, name="coredns", client=client,
        )  # fmt: skip
        corefile = self.layout.root / "Corefile"
        ready = free_port()
        corefile.write_text(
            config.corefile(kubeconfig=kubeconfig, health_port=free_port(), ready_port=ready)
        )
        argv = [str(self.tools.path("coredns")), "-conf", str(corefile)]
        return Component(
            self._process("coredns", argv),
            lambda: http_ok(f"http://127.0.0.1:{ready}/ready"),
            timeout=60,
            what="ready",
        )

    def _kube_proxy(self, node: RealNode) -> Component:
        client = self.creds.authority.issue("kube-proxy", "system:kube-proxy", client=True)
        kubeconfig = write_kubeconfig(
            self.layout.kubeconfigs / "kube-proxy.yaml",
            server=self.server, ca_cert=self.creds.ca.cert, name="kube-proxy", client=client,
        )  # fmt: skip
        healthz = free_port()
        path = self.layout.root / "kube-proxy.yaml"
        path.write_text(
            config.kube_proxy_config(
                node, kubeconfig=kubeconfig, healthz_port=healthz, metrics_port=free_port()
            )
        )
        argv = [str(self.tools.path("kube-proxy")), f"--config={path}", "--v=1"]
        return Component(
            self._process("kube-proxy", argv),
            lambda: _healthz_answers(f"http://127.0.0.1:{healthz}/healthz"),
            timeout=60,
            what="healthy",
        )

    def _kubectl(self, *argv: str) -> None:
        result = subprocess.run(
            [str(self.tools.kubectl), f"--kubeconfig={self.layout.admin_kubeconfig}", *argv],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ServiceError(
                f"kubectl {' '.join(argv)} failed: {result.stderr.strip()}\n"
                f"kubelet logs are in {self.layout.logs}"
            )


def _healthz_answers(url: str) -> bool:
    # kube-proxy answers 503 until its first sync; any answer means it is up.
    return httpx.get(url, timeout=2.0, trust_env=False).status_code in (200, 503)


def stop(nodes: Sequence[RealNode], tools: Toolset | None) -> None:
    """After the processes are gone: containers, mounts, links, rules, cgroups."""
    host.sweep(nodes, kube_proxy=tools.path("kube-proxy") if tools else None)


def sextant_images(progress: Progress) -> list[ImageArchive]:
    """The pause, runtime and operator images, built (or taken from the cache) as archives."""
    from sextant.devenv import images  # noqa: PLC0415 - only real nodes need image builds

    return [ImageArchive(i.reference, i.archive) for i in images.ensure_images(progress)]
