"""A whole local cluster: control plane, kwok's fake nodes and real nodes, started and
stopped as one."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from sextant.devenv.cluster.access import KubeAccess
from sextant.devenv.cluster.components import (
    Component,
    Credentials,
    Layout,
    Ports,
    control_plane,
    create_credentials,
)
from sextant.devenv.cluster.nodes import NodePools, node_manifests
from sextant.devenv.cluster.realnode import config as realnode_config
from sextant.devenv.cluster.realnode import host as realnode_host
from sextant.devenv.cluster.realnode import node as realnode
from sextant.devenv.cluster.state import ClusterRecord, ProcessRecord
from sextant.devenv.cluster.tools import Progress, Toolset, ensure_tools
from sextant.devenv.process import ServiceError, StartStop

log = logging.getLogger(__name__)


class LocalCluster(StartStop):
    """etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok in `state_dir`.

    `daemon=True` is for `sextant cluster up`: the processes outlive this Python
    process and `down` stops them through the record in state.json. Otherwise they
    die with it, and `stop()` (or leaving the `with` block) ends them.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        pools: NodePools | None = None,
        tools: Toolset | None = None,
        daemon: bool = False,
        progress: Progress = log.info,
        images: Sequence[realnode.ImageArchive] | None = None,
    ) -> None:
        self.layout = Layout(state_dir)
        self.pools = pools or NodePools()
        self.real_nodes = realnode.plan(self.layout.root, self.pools.real)
        # None: Sextant's own images (built, or taken from the cache) and the pause image.
        self._images = images
        # Host-wide parts (links, iptables, the owner record) are ours to remove only once
        # claimed: a start refused because another cluster has them must leave them be.
        self._claimed = False
        self.daemon = daemon
        self.progress = progress
        self._tools = tools
        self._components: list[Component] = []
        self._access: KubeAccess | None = None

    @property
    def access(self) -> KubeAccess:
        if self._access is None:
            raise ServiceError("the cluster has not been started")
        return self._access

    def start(self, timeout: float = 120.0) -> None:
        tools = self._tools or ensure_tools(self.progress)
        started = time.monotonic()
        self._clear_state_dir()
        ports = Ports.pick()
        # Pods on real nodes reach the API server on a host address, never on loopback.
        api_address = realnode_config.API_ADDRESS if self.real_nodes else "127.0.0.1"
        server = f"https://{api_address}:{ports.apiserver}"
        creds = create_credentials(self.layout, server, api_address)
        self._access = KubeAccess(
            server=server,
            kubeconfig=self.layout.admin_kubeconfig,
            ca_cert=creds.ca.cert,
            kubectl_path=tools.kubectl,
            workdir=self.layout.root,
        )
        self._components = control_plane(
            tools, self.layout, ports, creds, die_with_parent=not self.daemon,
            api_address=api_address,
        )  # fmt: skip
        self._tools = tools
        try:
            if self.real_nodes:
                # The API server listens on the host link's address: make it first.
                realnode_host.require_root()
                realnode_host.claim(self.layout.root)
                self._claimed = True
                realnode_host.prepare(self.real_nodes)
            self._start_components()
            self._record(tools)
            self._add_nodes(timeout)
            if self.real_nodes:
                self._start_real_nodes(tools, creds, server, timeout)
                self._record(tools)
        except BaseException:
            self.stop()
            # Keep the logs for the post-mortem, but no record of a cluster that is not there.
            self.layout.state_file.unlink(missing_ok=True)
            raise
        self.progress(
            f"cluster ready in {time.monotonic() - started:.1f}s: {server}, "
            f"{self.pools.total} nodes ({len(self.real_nodes)} real), "
            f"kubeconfig {self.layout.admin_kubeconfig}"
        )

    def stop(self) -> None:
        for component in reversed(self._components):
            component.process.stop()
        self._components = []
        if self._claimed:
            realnode.stop(self.real_nodes, self._tools)
            self._claimed = False

    def _start_real_nodes(
        self, tools: Toolset, creds: Credentials, server: str, timeout: float
    ) -> None:
        images = (
            self._images if self._images is not None else realnode.sextant_images(self.progress)
        )
        nodes = realnode.RealNodeSet(
            self.real_nodes,
            tools=tools,
            layout=self.layout,
            creds=creds,
            server=server,
            images=images,
            die_with_parent=not self.daemon,
            progress=self.progress,
        )
        try:
            nodes.start(timeout)
        finally:
            # Whatever started is stopped with the rest, also when start-up failed.
            self._components += nodes.components

    def _clear_state_dir(self) -> None:
        """A state dir holds one cluster: what is left in it belongs to a dead one.

        Only a directory that is empty or holds a cluster's files is wiped, so a
        mistyped --state-dir never costs anyone their files.
        """
        root = self.layout.root
        if root.exists() and any(root.iterdir()):
            if not (self.layout.pki.is_dir() or self.layout.state_file.exists()):
                raise ServiceError(f"{root} is not empty and holds no cluster: pick another dir")
            shutil.rmtree(root)
        root.mkdir(parents=True, exist_ok=True)

    def _start_components(self) -> None:
        etcd, apiserver, *rest = self._components
        # etcd, then the API server on it; the rest only need the API server and
        # start together.
        for component in (etcd, apiserver):
            self.progress(f"starting {component.process.name}")
            component.start()
            component.wait()
        self.progress(f"starting {', '.join(c.process.name for c in rest)}")
        for component in rest:
            component.start()
        for component in rest:
            component.wait()

    def _add_nodes(self, timeout: float) -> None:
        access = self.access
        nodes = node_manifests(self.pools)
        if nodes:
            manifest = {"apiVersion": "v1", "kind": "List", "items": nodes}
            access.kubectl("create", "-f", "-", input=json.dumps(manifest))
            self.progress(f"waiting for {len(nodes)} kwok nodes to be Ready")
            access.kubectl(
                "wait", "--for=condition=Ready", "nodes", "--all", f"--timeout={timeout:.0f}s"
            )
        # Pods cannot be created in a namespace before its `default` ServiceAccount exists.
        access.kubectl(
            "wait", "--for=create", "serviceaccount/default", "--namespace=default",
            f"--timeout={timeout:.0f}s",
        )  # fmt: skip

    def _record(self, tools: Toolset) -> None:
        record = ClusterRecord(
            kubernetes_version=tools.kubernetes_version,
            server=self.access.server,
            kubeconfig=self.layout.admin_kubeconfig,
            bin_dir=tools.bin_dir,
            processes=[
                ProcessRecord.of(c.process.name, c.process.pid, c.process.log_path)
                for c in self._components
            ],
            real_nodes=len(self.real_nodes),
        )
        record.save(self.layout.state_file)
