"""Self-contained kubeconfig files: CA, client certificate or token embedded as data."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from sextant.devenv.cluster.pki import KeyPair


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca_cert: Path,
    name: str,
    client: KeyPair | None = None,
    token: str | None = None,
) -> Path:
    """Write a one-context kubeconfig for either a client certificate or a bearer token."""
    user: dict[str, str]
    if token is not None and client is None:
        user = {"token": token}
    elif client is not None and token is None:
        user = {"client-certificate-data": _b64(client.cert), "client-key-data": _b64(client.key)}
    else:
        raise ValueError("a kubeconfig needs exactly one of a client certificate or a token")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "sextant",
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)},
            }
        ],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "sextant", "user": name}}],
        "current-context": name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    # It carries a credential.
    path.chmod(0o600)
    return path


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()
