"""The control-plane processes: how each is started, and how we know it is up.

Everything listens on loopback only, on ports picked free at start. etcd speaks plain
HTTP (it is reachable from this host's loopback alone); every Kubernetes component
talks TLS with a client certificate from the cluster's own CA.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from sextant.devenv.cluster.kubeconfig import write_kubeconfig
from sextant.devenv.cluster.pki import CertificateAuthority, KeyPair, write_signing_key
from sextant.devenv.cluster.tools import Toolset
from sextant.devenv.process import ManagedProcess, free_port

SERVICE_CIDR = "10.96.0.0/12"
# The `kubernetes` Service's ClusterIP: first address of SERVICE_CIDR, and a SAN on
# the serving certificate so in-cluster clients could verify it.
KUBERNETES_SERVICE_IP = "10.96.0.1"
POD_CIDR = "10.244.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"


@dataclass(frozen=True)
class Layout:
    """Where one cluster keeps its files, all under one state directory."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def kubeconfigs(self) -> Path:
        return self.root / "kubeconfigs"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def serving_dir(self, component: str) -> Path:
        return self.root / "serving" / component


@dataclass(frozen=True)
class Ports:
    etcd: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def pick(cls) -> Ports:
        return cls(*(free_port() for _ in range(6)))


@dataclass(frozen=True)
class Credentials:
    """CA, serving certificate, ServiceAccount signing key and one kubeconfig per client."""

    ca: KeyPair
    apiserver: KeyPair
    front_proxy_ca: KeyPair
    front_proxy_client: KeyPair
    service_account: KeyPair
    admin_client: KeyPair
    kubeconfigs: dict[str, Path]
    # Real nodes' kubelets and kube-proxy get their certificates from it later.
    authority: CertificateAuthority
    # How the API server authenticates to kubelets (logs, exec, port-forward).
    kubelet_client: KeyPair


# Client identities. The RBAC bootstrap policy already binds the two system users;
# kwok plays every kubelet, so it gets cluster-admin through system:masters.
_CLIENTS = {
    "admin": ("sextant-admin", ("system:masters",)),
    "kube-controller-manager": ("system:kube-controller-manager", ()),
    "kube-scheduler": ("system:kube-scheduler", ()),
    "kwok": ("kwok", ("system:masters",)),
}


def create_credentials(layout: Layout, server: str, api_address: str) -> Credentials:
    ca = CertificateAuthority(layout.pki)
    apiserver = ca.issue(
        "kube-apiserver",
        "kube-apiserver",
        dns_names=[
            "localhost",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
        ip_addresses=sorted({"127.0.0.1", api_address, KUBERNETES_SERVICE_IP}),
        server=True,
    )
    # The aggregation layer's own CA, as kubeadm sets it up: without it every
    # component logs a missing requestheader CA bundle over and over.
    front_proxy = CertificateAuthority(layout.pki, "front-proxy-ca", "sextant-front-proxy-ca")
    kubeconfigs: dict[str, Path] = {}
    clients: dict[str, KeyPair] = {}
    for name, (user, groups) in _CLIENTS.items():
        clients[name] = ca.issue(name, user, organizations=groups, client=True)
        target = layout.admin_kubeconfig if name == "admin" else layout.kubeconfigs / f"{name}.yaml"
        kubeconfigs[name] = write_kubeconfig(
            target, server=server, ca_cert=ca.pair.cert, name=name, client=clients[name]
        )
    return Credentials(
        ca=ca.pair,
        apiserver=apiserver,
        front_proxy_ca=front_proxy.pair,
        front_proxy_client=front_proxy.issue(
            "front-proxy-client", "front-proxy-client", client=True
        ),
        service_account=write_signing_key(layout.pki, "service-account"),
        admin_client=clients["admin"],
        kubeconfigs=kubeconfigs,
        authority=ca,
        kubelet_client=ca.issue(
            "kubelet-client",
            "kube-apiserver-kubelet-client",
            organizations=("system:masters",),
            client=True,
        ),
    )


@dataclass
class Component:
    """A process plus the probe that says it is serving."""

    process: ManagedProcess
    probe: Callable[[], bool]
    timeout: float
    what: str

    def start(self) -> None:
        self.process.start()

    def wait(self) -> None:
        self.process.wait_until(self.probe, self.timeout, what=self.what)


def control_plane(
    tools: Toolset,
    layout: Layout,
    ports: Ports,
    creds: Credentials,
    *,
    die_with_parent: bool,
    api_address: str = "127.0.0.1",
) -> list[Component]:
    """All components in start order: etcd, kube-apiserver, then the rest.

    With real nodes the API server listens on `api_address`, a host address that pods
    can reach, and keeps the `kubernetes` Service's endpoints pointing at it.
    """

    def process(name: str, argv: list[str]) -> ManagedProcess:
        return ManagedProcess(
            name,
            [str(tools.path(name)), *argv],
            log_path=layout.log(name),
            cwd=layout.root,
            die_with_parent=die_with_parent,
        )

    loopback = api_address.startswith("127.")
    etcd_url = f"http://127.0.0.1:{ports.etcd}"
    peer_url = f"http://127.0.0.1:{ports.etcd_peer}"
    etcd = Component(
        process(
            "etcd",
            [
                "--name=sextant",
                f"--data-dir={layout.etcd_data}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=sextant={peer_url}",
                # A throwaway store: losing it on a power cut costs nothing, fsync costs seconds.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        ),
        probe=lambda: http_ok(f"{etcd_url}/health"),
        timeout=30,
        what="healthy",
    )

    admin_tls = ssl.create_default_context(cafile=str(creds.ca.cert))
    admin_tls.load_cert_chain(str(creds.admin_client.cert), str(creds.admin_client.key))
    apiserver = Component(
        process(
            "kube-apiserver",
            [
                f"--etcd-servers={etcd_url}",
                f"--bind-address={api_address}",
                f"--advertise-address={api_address}",
                # The `kubernetes` Service's endpoints may not be loopback addresses; with
                # kwok's nodes only, no pod could reach them anyway, so leave it without.
                f"--endpoint-reconciler-type={'none' if loopback else 'lease'}",
                f"--secure-port={ports.apiserver}",
                f"--cert-dir={layout.serving_dir('kube-apiserver')}",
                f"--tls-cert-file={creds.apiserver.cert}",
                f"--tls-private-key-file={creds.apiserver.key}",
                f"--client-ca-file={creds.ca.cert}",
                f"--requestheader-client-ca-file={creds.front_proxy_ca.cert}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={creds.front_proxy_client.cert}",
                f"--proxy-client-key-file={creds.front_proxy_client.key}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={creds.service_account.cert}",
                f"--service-account-signing-key-file={creds.service_account.key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--allow-privileged=true",
                "--profiling=false",
                f"--kubelet-client-certificate={creds.kubelet_client.cert}",
                f"--kubelet-client-key={creds.kubelet_client.key}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
            ],
        ),
        probe=lambda: http_ok(f"https://{api_address}:{ports.apiserver}/readyz", verify=admin_tls),
        timeout=90,
        what="ready (/readyz)",
    )

    def kube_component(name: str, port: int, extra: list[str]) -> Component:
        kubeconfig = creds.kubeconfigs[name]
        return Component(
            process(
                name,
                [
                    f"--kubeconfig={kubeconfig}",
                    f"--authentication-kubeconfig={kubeconfig}",
                    f"--authorization-kubeconfig={kubeconfig}",
                    "--bind-address=127.0.0.1",
                    f"--secure-port={port}",
                    f"--cert-dir={layout.serving_dir(name)}",
                    # One instance per cluster: skip the leader-election wait.
                    "--leader-elect=false",
                    *extra,
                ],
            ),
            # A self-signed serving cert it made itself; /healthz is open to anonymous.
            probe=lambda: http_ok(f"https://127.0.0.1:{port}/healthz", verify=False),
            timeout=60,
            what="healthy",
        )

    controller_manager = kube_component(
        "kube-controller-manager",
        ports.controller_manager,
        [
            # Each controller acts as its own ServiceAccount, as kubeadm sets it up.
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={creds.service_account.key}",
            f"--root-ca-file={creds.ca.cert}",
            f"--cluster-signing-cert-file={creds.ca.cert}",
            f"--cluster-signing-key-file={creds.ca.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
        ],
    )
    scheduler = kube_component("kube-scheduler", ports.scheduler, [])

    kwok = Component(
        process(
            "kwok",
            [
                f"--kubeconfig={creds.kubeconfigs['kwok']}",
                f"--config={tools.kwok_stages}",
                # Only nodes created as fake ones: a real kubelet joining would be left alone.
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}=fake",
                f"--cidr={POD_CIDR}",
                f"--server-address=127.0.0.1:{ports.kwok}",
                # Renew node Leases like a kubelet, so the node controller keeps them Ready.
                "--node-lease-duration-seconds=40",
            ],
        ),
        probe=lambda: http_ok(f"http://127.0.0.1:{ports.kwok}/healthz"),
        timeout=30,
        what="healthy",
    )
    return [etcd, apiserver, controller_manager, scheduler, kwok]


def http_ok(url: str, verify: ssl.SSLContext | bool = True) -> bool:
    # trust_env=False: an HTTP(S)_PROXY from the environment must not see loopback probes.
    response = httpx.get(url, verify=verify, timeout=2.0, trust_env=False)
    return response.status_code == 200
