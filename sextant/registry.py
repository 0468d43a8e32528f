"""Resolve MLflow registry references (`models:/NAME@ALIAS`, `models:/NAME/VERSION`).

The operator resolves an alias to a concrete version so that every pod of one rollout
serves the same bytes, and records what it resolved in status. This talks to the
tracking server's REST API with httpx, so the operator image needs no mlflow package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


class RegistryError(Exception):
    """Base for registry failures; `reason` is the CamelCase status-condition reason."""

    reason = "RegistryError"


class RegistryUnavailable(RegistryError):
    """The tracking server could not be reached or answered with a server error."""

    reason = "RegistryUnavailable"


class ModelNotFound(RegistryError):
    """The registered model, the alias or the version does not exist."""

    reason = "ModelNotFound"


@dataclass(frozen=True)
class ModelRef:
    """A registry reference: a name and exactly one of alias / version."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __post_init__(self) -> None:
        if (self.alias is None) == (self.version is None):
            raise ValueError(f"model {self.name!r}: give exactly one of alias or version")

    @classmethod
    def parse(cls, uri: str) -> ModelRef:
        match = _MODELS_URI.match(uri)
        if match is None:
            raise ValueError(
                f"{uri!r} is not a registry URI: "
                "expected models:/NAME@ALIAS or models:/NAME/VERSION"
            )
        return cls(match["name"], alias=match["alias"], version=match["version"])

    @property
    def uri(self) -> str:
        suffix = f"@{self.alias}" if self.alias is not None else f"/{self.version}"
        return f"models:/{self.name}{suffix}"


@dataclass(frozen=True)
class ResolvedModel:
    """What a reference pointed at when it was resolved."""

    name: str
    version: str
    source: str  # the artifact URI the version was registered from
    run_id: str | None
    resolved_from: str

    @property
    def pinned_uri(self) -> str:
        """The reference with the alias replaced by the version it resolved to."""
        return f"models:/{self.name}/{self.version}"


class RegistryClient:
    """A small client for the MLflow model registry REST API."""

    def __init__(self, tracking_uri: str, timeout: float = 10.0) -> None:
        self.tracking_uri = tracking_uri.rstrip("/")
        self._http = httpx.Client(base_url=f"{self.tracking_uri}/api/2.0/mlflow", timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def resolve(self, ref: ModelRef | str) -> ResolvedModel:
        ref = ModelRef.parse(ref) if isinstance(ref, str) else ref
        if ref.alias is not None:
            body = self._get("registered-models/alias", name=ref.name, alias=ref.alias)
        else:
            body = self._get("model-versions/get", name=ref.name, version=ref.version or "")
        version = body["model_version"]
        return ResolvedModel(
            name=ref.name,
            version=str(version["version"]),
            source=version.get("source", ""),
            run_id=version.get("run_id") or None,
            resolved_from=ref.uri,
        )

    def _get(self, path: str, **params: str) -> dict[str, Any]:
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as err:
            raise RegistryUnavailable(f"MLflow at {self.tracking_uri} unreachable: {err}") from err
        if response.status_code >= 500:
            raise RegistryUnavailable(
                f"MLflow at {self.tracking_uri} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        if response.status_code >= 400:
            error = _error_of(response)
            what = ", ".join(f"{k}={quote(v)}" for k, v in params.items())
            raise ModelNotFound(f"MLflow registry has no model for {what}: {error}")
        result: dict[str, Any] = response.json()
        return result


def _error_of(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return str(body.get("message") or body.get("error_code") or body)
