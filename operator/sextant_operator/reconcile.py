"""One ModelDeployment reconcile: observe -> decide (pure) -> apply children -> one status patch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sextant.registry import ModelNotFound, RegistryError, RegistryUnavailable
from sextant_operator import labels
from sextant_operator.api.modeldeployment import ModelDeployment, ModelDeploymentStatus
from sextant_operator.feature_lookup import RETRY_SECONDS as FEATURES_RETRY_SECONDS
from sextant_operator.feature_lookup import (
    FeatureResolution,
    resolve_features,
    unresolved_status,
    with_features_condition,
)
from sextant_operator.kube import Kube
from sextant_operator.predictionlog import with_prediction_log_condition
from sextant_operator.progressive import ProgressiveReconciler
from sextant_operator.render.children import CHILD_KINDS, desired_children, desired_replicas
from sextant_operator.render.context import ModelArtifact, RenderContext
from sextant_operator.render.deployment import deployment_name
from sextant_operator.render.service import service_url
from sextant_operator.resolution import (
    RegistryPoller,
    reference,
    resolve_model,
    resolved_status,
)
from sextant_operator.responsecache import with_response_cache_condition
from sextant_operator.settings import OperatorSettings
from sextant_operator.status import DeploymentProgress, Observation, compute_status

log = logging.getLogger(__name__)

# emit(type, reason, message): posts a Kubernetes Event on the ModelDeployment.
EventSink = Callable[[str, str, str], None]
_WATCHED_CONDITIONS = ("ModelResolved", "Ready")
MONITORING_GROUP = "monitoring.coreos.com"
# Ready=False reasons that are a normal step, not a problem: Events of type Normal.
_PROGRESS_REASONS = frozenset({"RolloutInProgress"})
_REGISTRY_ERRORS: dict[str, type[RegistryError]] = {
    kind.reason: kind for kind in (RegistryError, RegistryUnavailable, ModelNotFound)
}


@dataclass(frozen=True)
class Outcome:
    status: ModelDeploymentStatus
    error: RegistryError | None  # set when the caller should retry with backoff
    requeue_after: float | None = None  # a rollout timer ends then: reconcile again


class ModelDeploymentReconciler:
    def __init__(
        self, kube: Kube, settings: OperatorSettings, poller: RegistryPoller | None = None
    ) -> None:
        self.kube = kube
        self.settings = settings
        self.poller = poller
        self.progressive = ProgressiveReconciler(kube, settings)

    def reconcile(self, body: dict[str, Any], emit: EventSink, *, resolve: bool = True) -> Outcome:
        """`resolve=False` reuses the version in status instead of asking the registry."""
        md = ModelDeployment.from_cluster(body)
        features = resolve_features(self.kube, md, self.settings)
        if features.problem is not None:
            return self._features_unresolved(md, features, emit)
        serving = None if resolve else _serving_artifact(md, self.settings, same_spec=True)
        artifact: ModelArtifact | None
        error: RegistryError | None
        if serving is not None:
            # Not asked again: the last answer stands, so a child event during a registry
            # outage does not clear the error it reported.
            artifact, error = serving, _standing_error(md)
        else:
            artifact, error = self._resolve(md)
        if md.spec.rollout.strategy != "RollingUpdate":
            return self._progressive(md, artifact, error, emit, features)
        stable: DeploymentProgress | None = None
        unschedulable: str | None = None
        url: str | None = None
        if artifact is not None:
            ctx = RenderContext(md, self.settings, artifact, features.view)
            applied = self._apply_children(ctx)
            stable = DeploymentProgress.of(
                applied.get(("Deployment", deployment_name(ctx, "stable")))
            )
            # Pods are listed only while some are missing: a settled model costs no request.
            if stable is None or not stable.complete:
                unschedulable = self._unschedulable(ctx)
            url = service_url(ctx)
        observation = Observation(
            desired_replicas=desired_replicas(md.spec),
            artifact=artifact,
            resolution_error=error,
            stable=stable,
            unschedulable=unschedulable,
            url=url,
        )
        status = compute_status(md, observation)
        status.conditions = with_prediction_log_condition(status.conditions, md, self.settings)
        status.conditions = with_response_cache_condition(status.conditions, md, self.settings)
        status.conditions = with_features_condition(status.conditions, md, features)
        if artifact is not None:
            status.model = resolved_status(md.spec.model, artifact)
        self._write_status(md, status)
        _emit_transitions(md.status or ModelDeploymentStatus(), status, emit)
        return Outcome(status=status, error=error)

    def _progressive(
        self,
        md: ModelDeployment,
        artifact: ModelArtifact | None,
        error: RegistryError | None,
        emit: EventSink,
        features: FeatureResolution,
    ) -> Outcome:
        model = resolved_status(md.spec.model, artifact) if artifact is not None else None
        status, decision = self.progressive.reconcile(md, artifact, error, model, features=features)
        for event in decision.events:
            emit(event.type, event.reason, event.message)
        _emit_transitions(md.status or ModelDeploymentStatus(), status, emit, versions=False)
        return Outcome(status=status, error=error, requeue_after=decision.requeue_after)

    def _features_unresolved(
        self, md: ModelDeployment, features: FeatureResolution, emit: EventSink
    ) -> Outcome:
        """No runtime is rendered without its features: serving pods stay as they are,
        status says why, and the FeatureView is looked for again (feature_lookup)."""
        status = unresolved_status(md, features)
        self._write_status(md, status)
        _emit_transitions(md.status or ModelDeploymentStatus(), status, emit)
        return Outcome(status=status, error=None, requeue_after=FEATURES_RETRY_SECONDS)

    def _resolve(self, md: ModelDeployment) -> tuple[ModelArtifact | None, RegistryError | None]:
        """The artifact to serve, and the resolution error if there was one.

        When the registry fails, the version already serving (from status) stays: a
        registry outage must never take a serving model down.
        """
        try:
            return resolve_model(md.spec.model, self.settings, self.poller), None
        except RegistryError as err:
            log.warning("%s/%s: %s", md.metadata.namespace, md.metadata.name, err)
            return _serving_artifact(md, self.settings, same_spec=False), err

    def _apply_children(self, ctx: RenderContext) -> dict[tuple[str, str], dict[str, Any]]:
        children = desired_children(ctx, service_monitors=self.kube.has_api_group(MONITORING_GROUP))
        applied = {
            (child["kind"], child["metadata"]["name"]): self.kube.apply(child) for child in children
        }
        stable = DeploymentProgress.of(applied.get(("Deployment", deployment_name(ctx, "stable"))))
        keep = {(c["apiVersion"], c["kind"], c["metadata"]["name"]) for c in children}
        self._prune(ctx, keep, settled=stable is not None and stable.complete)
        return applied

    def _prune(self, ctx: RenderContext, keep: set[tuple[str, str, str]], *, settled: bool) -> None:
        """Delete children this ModelDeployment owns but no longer wants (an HPA removed...).

        Per-version Deployments left by a Canary or BlueGreen strategy go only once the
        RollingUpdate Deployment has every pod ready, so switching strategy never drops
        serving capacity."""
        uid = ctx.md.metadata.uid or ""
        for api_version, kind in CHILD_KINDS:
            if api_version.startswith(MONITORING_GROUP) and not self.kube.has_api_group(
                MONITORING_GROUP
            ):
                continue
            for obj in self.kube.owned(api_version, kind, ctx.namespace, uid, ctx.name):
                versioned = labels.VERSION_ANNOTATION in (obj["metadata"].get("annotations") or {})
                if kind == "Deployment" and versioned and not settled:
                    continue
                if (api_version, kind, obj["metadata"]["name"]) not in keep:
                    log.info(
                        "%s/%s: deleting %s %s",
                        ctx.namespace,
                        ctx.name,
                        kind,
                        obj["metadata"]["name"],
                    )
                    self.kube.delete({**obj, "apiVersion": api_version, "kind": kind})

    def _unschedulable(self, ctx: RenderContext) -> str | None:
        """The scheduler's message for a pod of the current version that cannot be placed."""
        selector = {
            **labels.track_selector(ctx.name, "stable"),
            labels.MODEL_VERSION: labels.version_value(ctx.artifact.version),
        }
        for pod in self.kube.pods(ctx.namespace, selector):
            for condition in (pod.status and pod.status.conditions) or []:
                if (
                    condition.type == "PodScheduled"
                    and condition.status == "False"
                    and condition.reason == "Unschedulable"
                ):
                    name = pod.metadata.name if pod.metadata else "?"
                    return f"pod {name}: {condition.message}"
        return None

    def _write_status(self, md: ModelDeployment, status: ModelDeploymentStatus) -> None:
        new = status.model_dump(by_alias=True, mode="json")
        old = (md.status or ModelDeploymentStatus()).model_dump(by_alias=True, mode="json")
        if new == old:
            return  # nothing changed: no write, no watch event, no resourceVersion churn
        assert md.metadata.namespace is not None
        assert md.metadata.name is not None
        # Guarded: a status computed from a stale copy of the object is refused (409) and
        # the object is reconciled again from the fresh one.
        self.kube.patch_status(
            "modeldeployments",
            md.metadata.namespace,
            md.metadata.name,
            new,
            md.metadata.resource_version,
        )


def _serving_artifact(
    md: ModelDeployment, settings: OperatorSettings, *, same_spec: bool
) -> ModelArtifact | None:
    """The artifact recorded in status. With `same_spec`, only if the spec still names it:
    after a spec edit the recorded artifact is stale and must be resolved again."""
    model = md.status.model if md.status else None
    if model is None or not model.uri or not model.version:
        return None
    if same_spec and model.resolved_from != reference(md.spec.model):
        return None
    registry = md.spec.model.registry
    tracking_uri = (registry.tracking_uri if registry else None) or settings.mlflow_tracking_uri
    return ModelArtifact(
        source=model.uri,
        version=model.version,
        tracking_uri=tracking_uri if model.uri.startswith("models:/") else None,
    )


def _standing_error(md: ModelDeployment) -> RegistryError | None:
    """The error of the last resolution, as its ModelResolved condition recorded it."""
    resolved = md.status.condition("ModelResolved") if md.status else None
    if resolved is None or resolved.status != "False":
        return None
    kind = _REGISTRY_ERRORS.get(resolved.reason, RegistryError)
    error = kind(resolved.message)
    error.reason = resolved.reason
    return error


def _emit_transitions(
    before: ModelDeploymentStatus,
    after: ModelDeploymentStatus,
    emit: EventSink,
    *,
    versions: bool = True,
) -> None:
    """One Event per condition that changed status, and one per new model version
    (`versions=False`: the rollout engine reports versions with its own Events)."""
    old_version = before.model.version if before.model else None
    new_version = after.model.version if after.model else None
    if versions and new_version is not None and new_version != old_version:
        was = f" (was {old_version})" if old_version else ""
        emit("Normal", "RollingOut", f"rolling out model version {new_version}{was}")
    for type_ in _WATCHED_CONDITIONS:
        old, new = before.condition(type_), after.condition(type_)
        if new is not None and (
            old is None or (old.status, old.reason) != (new.status, new.reason)
        ):
            expected = new.status == "True" or new.reason in _PROGRESS_REASONS
            emit("Normal" if expected else "Warning", new.reason, new.message)
