"""How tests and tools talk to a running local cluster: kubeconfig, kubectl, API clients."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sextant.devenv.cluster.kubeconfig import write_kubeconfig

if TYPE_CHECKING:
    from kubernetes.client import ApiClient


class KubectlError(RuntimeError):
    """kubectl exited non-zero; the message carries its stderr."""

    def __init__(self, argv: list[str], result: subprocess.CompletedProcess[str]) -> None:
        super().__init__(
            f"kubectl {' '.join(argv)} exited with {result.returncode}:\n{result.stderr.strip()}"
        )
        self.result = result


@dataclass(frozen=True)
class KubeAccess:
    """A running cluster as its clients see it."""

    server: str
    kubeconfig: Path
    ca_cert: Path
    kubectl_path: Path
    workdir: Path

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        kubeconfig: Path | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl as cluster admin (or with `kubeconfig`); raise KubectlError on failure."""
        argv = [f"--kubeconfig={kubeconfig or self.kubeconfig}", *args]
        result = subprocess.run(
            [str(self.kubectl_path), *argv],
            input=input,
            capture_output=True,
            check=False,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise KubectlError(list(args), result)
        return result

    def helm(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run the cluster's own helm (built beside kubectl) against it; raise on failure."""
        argv = [str(self.kubectl_path.parent / "helm"), f"--kubeconfig={self.kubeconfig}", *args]
        result = subprocess.run(argv, capture_output=True, check=False, text=True, timeout=timeout)
        if result.returncode != 0:
            raise KubectlError(argv, result)
        return result

    def api_client(self, kubeconfig: Path | None = None) -> ApiClient:
        """A kubernetes-client ApiClient as admin (or as whoever `kubeconfig` names)."""
        # Imported here: the kubernetes package is an extra, and only clients need it.
        from kubernetes import config  # noqa: PLC0415

        client: ApiClient = config.new_client_from_config(
            config_file=str(kubeconfig or self.kubeconfig)
        )
        return client

    def serviceaccount_kubeconfig(
        self, namespace: str, name: str, *, duration: str = "1h", create: bool = True
    ) -> Path:
        """A kubeconfig that acts as ServiceAccount `namespace/name`.

        The token comes from the TokenRequest API (`kubectl create token`), like a
        projected token in a pod, so RBAC sees exactly that ServiceAccount. The
        ServiceAccount is created first unless it exists or `create` is False.
        """
        if create:
            exists = self.kubectl("get", "serviceaccount", name, "-n", namespace, check=False)
            if exists.returncode != 0:
                self.kubectl("create", "serviceaccount", name, "-n", namespace)
        token = self.kubectl(
            "create", "token", name, "-n", namespace, f"--duration={duration}"
        ).stdout.strip()
        safe = re.sub(r"[^a-z0-9.-]", "-", f"{namespace}.{name}")
        return write_kubeconfig(
            self.workdir / "kubeconfigs" / f"sa-{safe}.yaml",
            server=self.server,
            ca_cert=self.ca_cert,
            name=f"system:serviceaccount:{namespace}:{name}",
            token=token,
        )
