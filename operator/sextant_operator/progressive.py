"""Canary and BlueGreen reconcile: observe -> decide (pure engine) -> apply -> one status write.

Observations are this ModelDeployment's Deployments (one per model version) and its
one-time annotation tokens; the engine decides; this module applies the children, removes
the tokens it acted on, writes status once (guarded by resourceVersion) and says when to
look again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic.exceptions import ResourceNotFoundError, UnprocessibleEntityError

from sextant.registry import RegistryError
from sextant_operator import labels
from sextant_operator.analysis import analyse
from sextant_operator.api.modeldeployment import (
    ModelDeployment,
    ModelDeploymentSpec,
    ModelDeploymentStatus,
    ResolvedModel,
    SetHeaderRoute,
)
from sextant_operator.feature_lookup import FeatureResolution, with_features_condition
from sextant_operator.featureview.gate import promotion_hold
from sextant_operator.kube import Kube
from sextant_operator.predictionlog import with_prediction_log_condition
from sextant_operator.render.autoscaling import render_hpa, render_pdb
from sextant_operator.render.children import CHILD_KINDS, desired_replicas
from sextant_operator.render.context import ModelArtifact, RenderContext
from sextant_operator.render.service import render_service_monitor, service_url
from sextant_operator.render.versions import (
    render_route_services,
    render_services,
    render_version_deployment,
)
from sextant_operator.responsecache import with_response_cache_condition
from sextant_operator.rollout import (
    Decision,
    Observations,
    Tokens,
    VersionState,
    decide,
    gatewayapi,
    headerroutes,
)
from sextant_operator.rollout.status import progressive_status
from sextant_operator.settings import OperatorSettings

log = logging.getLogger(__name__)
VERSION = labels.VERSION_ANNOTATION
CONFLICT_RETRY_SECONDS = 0.5
HTTP_ROUTE_API = "gateway.networking.k8s.io/v1"

_TOKENS = {
    "promote": labels.PROMOTE_ANNOTATION,
    "abort": labels.ABORT_ANNOTATION,
    "retry": labels.RETRY_ANNOTATION,
}


@dataclass(frozen=True)
class Observed:
    versions: dict[str, VersionState]
    tracks: dict[str, str]  # version -> the track its Deployment was born with
    deployments: dict[str, dict[str, Any]]  # version -> its Deployment


def _http_route(spec: ModelDeploymentSpec) -> str | None:
    canary = spec.rollout.canary
    if spec.rollout.strategy != "Canary" or canary is None:
        return None
    routing = canary.traffic_routing
    return routing.gateway_api.http_route if routing.gateway_api is not None else None


def _route_weight(md: ModelDeployment, route: dict[str, Any] | None) -> int | None:
    assert md.metadata.name is not None
    return gatewayapi.route_weight(route, *gatewayapi.service_names(md.metadata.name))


def _known_header_routes(md: ModelDeployment) -> list[SetHeaderRoute]:
    rollout = md.status.rollout if md.status else None
    return headerroutes.known_routes(md.spec, rollout.header_routes if rollout else [])


def _header_routes(md: ModelDeployment, route: dict[str, Any] | None) -> tuple[SetHeaderRoute, ...]:
    """The header routes (setHeaderRoute) whose rules are on the route."""
    assert md.metadata.name is not None
    services = gatewayapi.service_names(md.metadata.name)
    return headerroutes.present(route, *services, _known_header_routes(md))


def _taken_off(md: ModelDeployment, route: dict[str, Any] | None, decision: Decision) -> bool:
    """Whether the canary's weight on the route goes down, or a header route goes."""
    current = _route_weight(md, route)
    weight = decision.route_weight
    if weight is not None and current is not None and weight < current:
        return True
    if route is None or decision.header_routes is None:
        return False
    assert md.metadata.name is not None
    services = gatewayapi.service_names(md.metadata.name)
    ops = headerroutes.header_patch(
        route, *services, decision.header_routes, _known_header_routes(md)
    )
    return headerroutes.removes_any(ops)


def tokens(annotations: dict[str, str]) -> Tokens:
    promote = annotations.get(labels.PROMOTE_ANNOTATION, "").lower()
    return Tokens(
        promote=promote in ("true", "full"),
        full=promote == "full",
        abort=annotations.get(labels.ABORT_ANNOTATION, "").lower() == "true",
        retry=annotations.get(labels.RETRY_ANNOTATION, "").lower() == "true",
    )


def observe(kube: Kube, md: ModelDeployment) -> Observed:
    assert md.metadata.namespace is not None
    assert md.metadata.name is not None
    versions: dict[str, VersionState] = {}
    tracks: dict[str, str] = {}
    found: dict[str, dict[str, Any]] = {}
    owned = kube.owned(
        "apps/v1", "Deployment", md.metadata.namespace, md.metadata.uid or "", md.metadata.name
    )
    for deployment in owned:
        meta = deployment["metadata"]
        version = (meta.get("annotations") or {}).get(labels.VERSION_ANNOTATION)
        if version is None or meta.get("deletionTimestamp"):
            continue  # the RollingUpdate Deployment, or one on its way out
        status = deployment.get("status") or {}
        versions[version] = VersionState(
            replicas=int(deployment["spec"].get("replicas", 0)),
            total=int(status.get("replicas") or 0),
            ready=int(status.get("readyReplicas") or 0),
        )
        tracks[version] = (meta.get("labels") or {}).get(labels.TRACK, "canary")
        found[version] = deployment
    return Observed(versions, tracks, found)


class ProgressiveReconciler:
    def __init__(self, kube: Kube, settings: OperatorSettings) -> None:
        self.kube = kube
        self.settings = settings

    def reconcile(
        self,
        md: ModelDeployment,
        target: ModelArtifact | None,
        error: RegistryError | None,
        model: ResolvedModel | None,
        now: datetime | None = None,
        *,
        features: FeatureResolution | None = None,
    ) -> tuple[ModelDeploymentStatus, Decision]:
        now = now or datetime.now(UTC)
        features = features or FeatureResolution()
        observed = observe(self.kube, md)
        route = self._route(md)
        # Measures only at a gate, once an interval has passed since the time in status.
        judged = analyse(
            md, target.version if target else None, observed.tracks, self.settings, now
        )
        seen = Observations(
            target=target,
            desired_replicas=desired_replicas(md.spec),
            versions=observed.versions,
            tokens=tokens(md.metadata.annotations),
            analysis=judged.verdict,
            analysis_message=judged.message,
            route_weight=_route_weight(md, route),
            header_routes=_header_routes(md, route),
            promotion_hold=promotion_hold(self.kube, md, now),
        )
        decision = judged.into(md.spec, decide(md.spec, judged.status, seen, now))
        url = self._apply(md, decision, observed, route, features)
        status = progressive_status(md, decision, seen, error=error, url=url, now=now)
        status.conditions = with_prediction_log_condition(status.conditions, md, self.settings, now)
        status.conditions = with_response_cache_condition(status.conditions, md, self.settings, now)
        status.conditions = with_features_condition(status.conditions, md, features, now)
        status.model = model or status.model
        try:
            self._write_status(md, status, md.metadata.resource_version)
        except ApiException as err:
            if err.status != 409:
                raise
            # Changed since read (a person, kopf's own annotations): decide again on the
            # fresh object; no token was removed, so none is lost.
            return status, replace(decision, events=(), requeue_after=CONFLICT_RETRY_SECONDS)
        self._remove_tokens(md, decision.consumed)
        return status, decision

    def _apply(
        self,
        md: ModelDeployment,
        decision: Decision,
        observed: Observed,
        route: dict[str, Any] | None = None,
        features: FeatureResolution | None = None,
    ) -> str | None:
        keep: set[tuple[str, str]] = set()
        ctx: RenderContext | None = None
        for wanted in decision.versions:
            if wanted.role == "draining":
                deployment = observed.deployments.get(wanted.artifact.version)
                if deployment is not None:
                    keep.add(("Deployment", deployment["metadata"]["name"]))
                continue
            artifact = self._with_tracking_uri(md, wanted.artifact)
            ctx = RenderContext(md, self.settings, artifact, features.view if features else None)
            track = observed.tracks.get(wanted.artifact.version, wanted.role)
            child = render_version_deployment(ctx, track, wanted.replicas)
            self.kube.apply(child)
            keep.add(("Deployment", child["metadata"]["name"]))
        if ctx is None:
            return None
        # In flight, weight taken off the canary goes to the stable Service, which keeps its
        # version: off first, before the canary Service may move to a version not ready yet
        # (a new target). Otherwise the Services first: a weight only ever moves to a
        # Service already on its version (at the end both select the version that serves).
        off_first = decision.canary is not None and _taken_off(md, route, decision)
        if off_first:
            self._set_route_weight(md, route, decision)
        for child in self._shared_children(ctx, decision):
            self.kube.apply(child)
            keep.add((child["kind"], child["metadata"]["name"]))
        if not off_first:
            self._set_route_weight(md, route, decision)
        settled = all(
            observed.versions.get(w.artifact.version, VersionState(0, 0, 0)).ready >= w.replicas
            for w in decision.versions
            if w.role != "draining"
        )
        self._prune(ctx, keep, settled=settled)
        return service_url(ctx)

    def _shared_children(self, ctx: RenderContext, decision: Decision) -> list[dict[str, Any]]:
        spec = ctx.md.spec
        children = render_services(ctx, decision.active, decision.preview)
        if _http_route(spec) is not None and decision.stable is not None:
            stable = decision.stable.version or ""
            canary = decision.canary.version if decision.canary else None
            children.extend(render_route_services(ctx, stable, canary or stable))
        if spec.autoscaling is not None:
            children.append(render_hpa(ctx, spec.autoscaling))
        max_replicas = spec.autoscaling.max_replicas if spec.autoscaling else spec.replicas
        if max_replicas > 1:
            children.append(render_pdb(ctx))
        if spec.monitoring.service_monitor and self.kube.has_api_group("monitoring.coreos.com"):
            children.append(render_service_monitor(ctx))
        return children

    def _prune(self, ctx: RenderContext, keep: set[tuple[str, str]], *, settled: bool) -> None:
        """Delete what is no longer wanted; a Deployment of no version (left by RollingUpdate)
        only once every wanted version has its pods ready, so capacity never drops."""
        uid = ctx.md.metadata.uid or ""
        for api_version, kind in CHILD_KINDS:
            if api_version.startswith("monitoring.coreos.com") and not self.kube.has_api_group(
                "monitoring.coreos.com"
            ):
                continue
            for obj in self.kube.owned(api_version, kind, ctx.namespace, uid, ctx.name):
                if (kind, obj["metadata"]["name"]) in keep:
                    continue
                annotations = obj["metadata"].get("annotations") or {}
                if kind == "Deployment" and not settled and VERSION not in annotations:
                    continue
                log.info("%s/%s: deleting %s %s", ctx.namespace, ctx.name, kind,
                         obj["metadata"]["name"])  # fmt: skip
                self.kube.delete({**obj, "apiVersion": api_version, "kind": kind})

    def _route(self, md: ModelDeployment) -> dict[str, Any] | None:
        """The user's HTTPRoute, with GatewayAPI routing."""
        name = _http_route(md.spec)
        if name is None:
            return None
        assert md.metadata.namespace is not None
        try:
            return self.kube.get(HTTP_ROUTE_API, "HTTPRoute", md.metadata.namespace, name)
        except ResourceNotFoundError:
            return None  # no Gateway API in this cluster: the rollout holds and says why

    def _set_route_weight(
        self, md: ModelDeployment, route: dict[str, Any] | None, decision: Decision
    ) -> None:
        """Only the two backendRef weights change, and the header routes' own rules come and
        go; every other field of the route is the user's (GitOps tools fight anything else a
        controller touches). One guarded JSON patch for both."""
        weight = decision.route_weight
        if route is None or weight is None:
            return
        assert md.metadata.name is not None
        stable, canary = gatewayapi.service_names(md.metadata.name)
        ops = gatewayapi.weight_patch(route, stable, canary, weight)
        if decision.header_routes is not None:
            known = _known_header_routes(md)
            ops += headerroutes.header_patch(route, stable, canary, decision.header_routes, known)
        if not ops:
            return
        meta = route["metadata"]
        names = [h.name for h in decision.header_routes or ()]
        log.info("%s/%s: HTTPRoute %s canary weight %d%%, header routes %s", meta["namespace"],
                 md.metadata.name, meta["name"], weight, names)  # fmt: skip
        try:
            self.kube.json_patch(HTTP_ROUTE_API, "HTTPRoute", meta["namespace"], meta["name"], ops)
        except UnprocessibleEntityError as err:
            # Edited since it was read (a guard failed), or it cannot take the header rules
            # (Gateway API allows 16 rules): the step holds, the next look reads it afresh.
            log.warning("%s/%s: HTTPRoute %s refused the patch: %s", meta["namespace"],
                        md.metadata.name, meta["name"], err.summary())  # fmt: skip

    def _with_tracking_uri(self, md: ModelDeployment, artifact: ModelArtifact) -> ModelArtifact:
        """Artifacts read back from status lack the tracking URI their pods need."""
        if artifact.tracking_uri or not artifact.source.startswith("models:/"):
            return artifact
        registry = md.spec.model.registry
        uri = (registry.tracking_uri if registry else None) or self.settings.mlflow_tracking_uri
        return ModelArtifact(artifact.source, artifact.version, uri)

    def _remove_tokens(self, md: ModelDeployment, consumed: Tokens) -> str | None:
        """Tokens go once the status that acted on them is written, so a conflict never
        loses one. (A crash between the two writes would apply a token twice.)"""
        keys = [key for name, key in _TOKENS.items() if getattr(consumed, name)]
        present = [key for key in keys if key in md.metadata.annotations]
        if not present:
            return md.metadata.resource_version
        assert md.metadata.namespace is not None
        assert md.metadata.name is not None
        return self.kube.remove_annotations(
            "modeldeployments", md.metadata.namespace, md.metadata.name, present
        )

    def _write_status(
        self, md: ModelDeployment, status: ModelDeploymentStatus, resource_version: str | None
    ) -> None:
        new = status.model_dump(by_alias=True, mode="json")
        old = (md.status or ModelDeploymentStatus()).model_dump(by_alias=True, mode="json")
        if new == old:
            return
        assert md.metadata.namespace is not None
        assert md.metadata.name is not None
        self.kube.patch_status(
            "modeldeployments", md.metadata.namespace, md.metadata.name, new, resource_version
        )
