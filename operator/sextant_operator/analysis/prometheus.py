"""Prometheus queries over HTTP, scoped to one version of one model.

The runtime labels every series with `model`, `version` and `track`; Prometheus adds
`namespace` (a ServiceMonitor or the usual pod relabelling does). A `Scope` turns those
into a PromQL label selector, and custom queries get them by substitution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

DEFAULT_TIMEOUT = 5.0


class PrometheusError(Exception):
    """Prometheus could not answer: unreachable, a bad status, or a query error."""


@dataclass(frozen=True)
class Scope:
    namespace: str
    model: str
    version: str
    track: str | None = None  # the track the version's pods were born with

    def selector(self, *extra: str) -> str:
        """`namespace="ns",model="m",version="v"[,track="t"]` plus `extra` matchers."""
        pairs = [("namespace", self.namespace), ("model", self.model), ("version", self.version)]
        if self.track is not None:
            pairs.append(("track", self.track))
        matchers = [f'{key}="{_escape(value)}"' for key, value in pairs]
        return ",".join([*matchers, *extra])

    def substitute(self, query: str) -> str:
        """Custom PromQL: {{model}}, {{version}}, {{track}}, {{namespace}} filled in."""
        values = {
            "model": self.model,
            "version": self.version,
            "track": self.track or "",
            "namespace": self.namespace,
        }
        for key, value in values.items():
            query = query.replace("{{" + key + "}}", _escape(value))
        return query


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    values: tuple[float, ...]  # one for an instant query; one per step for a range query
    times: tuple[float, ...] = ()  # Unix seconds of each value


def promql_duration(seconds: float) -> str:
    """A PromQL range such as 30s or 1500ms (whole milliseconds)."""
    ms = max(1, round(seconds * 1000))
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


class Prometheus:
    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def instant(self, query: str, at: datetime) -> list[Series]:
        data = self._get("/api/v1/query", {"query": query, "time": at.timestamp()})
        if data.get("resultType") == "scalar":
            time, number = data["result"]
            return [Series({}, (_number(number),), (float(time),))]
        return [
            Series(
                dict(item.get("metric") or {}),
                (_number(item["value"][1]),),
                (float(item["value"][0]),),
            )
            for item in data.get("result") or []
        ]

    def range(self, query: str, start: datetime, end: datetime, step: float) -> list[Series]:
        params = {"query": query, "start": start.timestamp(), "end": end.timestamp(), "step": step}
        data = self._get("/api/v1/query_range", params)
        return [
            Series(
                dict(item.get("metric") or {}),
                tuple(_number(v) for _, v in item.get("values") or []),
                tuple(float(t) for t, _ in item.get("values") or []),
            )
            for item in data.get("result") or []
        ]

    def _get(self, path: str, params: dict[str, Any]) -> dict[str, Any]:
        try:
            response = httpx.get(self.url + path, params=params, timeout=self.timeout)
        except httpx.HTTPError as err:
            raise PrometheusError(f"Prometheus at {self.url} is unreachable: {err}") from err
        try:
            body = response.json()
        except ValueError:
            raise PrometheusError(
                f"Prometheus at {self.url} answered {response.status_code} without JSON"
            ) from None
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(
                f"Prometheus at {self.url} rejected the query: "
                f"{body.get('errorType', response.status_code)}: {body.get('error', '')}"
            )
        data: dict[str, Any] = body.get("data") or {}
        return data


def _number(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
