"""One DriftMonitor reconcile: observe -> decide -> apply the CronJob -> act -> one status write.

Triggers: the DriftMonitor changes or is found at start-up, a periodic resync (the target
may gain spec.predictionLog, Redis may come back), and one of its Jobs finishing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from sextant_operator import labels
from sextant_operator.api import API_VERSION, GROUP, VERSION, DriftMonitor, ModelDeployment
from sextant_operator.api.driftmonitor import DriftCheck, DriftMonitorStatus
from sextant_operator.driftmonitor import contract, jobs, metrics
from sextant_operator.driftmonitor.actions import Effects, run_actions
from sextant_operator.driftmonitor.cronjob import UnsupportedReference, render_cronjob
from sextant_operator.driftmonitor.results import ResultUnavailable, read_result, to_last_check
from sextant_operator.driftmonitor.status import Problem, Seen, compute_status
from sextant_operator.driftmonitor.webhook import post_result
from sextant_operator.kube import Kube
from sextant_operator.settings import OperatorSettings

log = logging.getLogger(__name__)

EventSink = Callable[[str, str, str], None]  # (type, reason, message) on the DriftMonitor
# (object, type, reason, message): posts an Event on the object (kopf.event)
EventPoster = Callable[[dict[str, Any], str, str, str], None]
# Ready=False reasons worth retrying soon: the dependency may come back any moment.
RETRY_REASONS = frozenset({"RedisUnavailable"})
_WATCHED_CONDITIONS = ("Ready", "Drifted")


@dataclass(frozen=True)
class Outcome:
    status: DriftMonitorStatus | None  # None: the DriftMonitor is gone
    retry: Problem | None = None  # the caller retries with backoff


class DriftMonitorReconciler:
    def __init__(self, kube: Kube, settings: OperatorSettings) -> None:
        self.kube = kube
        self.settings = settings

    def reconcile(self, namespace: str, name: str, post: EventPoster) -> Outcome:
        body = self.kube.get(API_VERSION, "DriftMonitor", namespace, name)
        if body is None or body["metadata"].get("deletionTimestamp"):
            metrics.forget(namespace, name)
            return Outcome(status=None)

        def emit(type_: str, reason: str, message: str) -> None:
            post(body, type_, reason, message)

        dm = DriftMonitor.from_cluster(body)
        now = datetime.now(UTC)
        target = self._target(dm)
        problem = self._schedule(dm, target)
        previous = dm.status.last_check if dm.status else None
        seen = Seen(problem=problem, last_check=previous)
        latest = jobs.latest(self._list("batch/v1", "Job", namespace, _job_selector(name)))
        retry: Problem | None = None
        if latest is not None and _newer(latest.finished_at, previous):
            if latest.succeeded:
                seen, retry = self._record(dm, target, latest, seen, emit)
            else:
                seen = Seen(problem, previous, failed_check=self._failure(namespace, latest))
        status = compute_status(dm, seen, now)
        self._write_status(dm, status)
        _emit_transitions(dm.status or DriftMonitorStatus(), status, emit)
        alerting = any(a.type == "Alert" for a in dm.spec.actions)
        metrics.export(namespace, name, status.last_check, alerting=alerting)
        return Outcome(status=status, retry=retry)

    # --- observe and apply ---------------------------------------------------------------

    def _target(self, dm: DriftMonitor) -> ModelDeployment | None:
        assert dm.metadata.namespace is not None
        body = self.kube.get_model_deployment(
            dm.metadata.namespace, dm.spec.target.model_deployment
        )
        return ModelDeployment.from_cluster(body) if body is not None else None

    def _schedule(self, dm: DriftMonitor, target: ModelDeployment | None) -> Problem | None:
        """Apply the CronJob when checks can run; otherwise remove it and say why."""
        assert dm.metadata.name is not None
        assert dm.metadata.namespace is not None
        problem = _precondition(dm, target, self.settings)
        if problem is None and self.settings.redis_url:
            try:
                self.kube.apply(render_cronjob(dm, self.settings, self.settings.redis_url))
            except UnsupportedReference as err:
                problem = Problem("ReferenceUnsupported", str(err))
        if problem is not None:
            # A job that can only fail is not scheduled; a fixed spec brings it back.
            self.kube.delete(
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "metadata": {
                        "name": contract.cronjob_name(dm.metadata.name),
                        "namespace": dm.metadata.namespace,
                    },
                }
            )
        return problem

    def _record(
        self,
        dm: DriftMonitor,
        target: ModelDeployment | None,
        latest: jobs.JobOutcome,
        seen: Seen,
        emit: EventSink,
    ) -> tuple[Seen, Problem | None]:
        """Read a finished Job's result into lastCheck and act on it, once."""
        assert dm.metadata.name is not None
        assert dm.metadata.namespace is not None
        key = contract.result_key(dm.metadata.namespace, dm.metadata.name, latest.name)
        if not self.settings.redis_url:
            return seen, None  # the precondition already says so
        try:
            result = read_result(self.settings.redis_url, key)
            check = to_last_check(result, latest.finished_at)
        except ResultUnavailable as err:
            problem = Problem(err.reason, f"job {latest.name}: {err}")
            log.warning("%s/%s: %s", dm.metadata.namespace, dm.metadata.name, problem.message)
            retry = problem if err.reason in RETRY_REASONS else None
            return Seen(seen.problem or problem, seen.last_check), retry
        failures: tuple[str, ...] | None = None
        if check.dataset_drift:
            effects = Effects(abort=self._abort, post=post_result)
            failures = run_actions(dm, check, result, target, effects=effects, emit=emit)
        return Seen(seen.problem, check, action_failures=failures), None

    def _failure(self, namespace: str, job: jobs.JobOutcome) -> Problem:
        pods = self._list("v1", "Pod", namespace, {contract.JOB_NAME_LABEL: job.name})
        said = jobs.termination_message(pods) or job.reason or "no message"
        return Problem("CheckFailed", f"job {job.name} failed: {said}")

    def _abort(self, namespace: str, name: str) -> None:
        """The rollout engine's own abort: the one-time token it acts on and removes."""
        client.CustomObjectsApi(self.kube.api).patch_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "modeldeployments",
            name,
            {"metadata": {"annotations": {labels.ABORT_ANNOTATION: "true"}}},
        )

    def _list(
        self, api_version: str, kind: str, namespace: str, selector: dict[str, str]
    ) -> list[dict[str, Any]]:
        resource = self.kube.dynamic.resources.get(api_version=api_version, kind=kind)
        found = resource.get(namespace=namespace, label_selector=labels.selector_string(selector))
        items: list[dict[str, Any]] = found.to_dict()["items"]
        return items

    def _write_status(self, dm: DriftMonitor, status: DriftMonitorStatus) -> None:
        new = status.model_dump(by_alias=True, mode="json")
        old = (dm.status or DriftMonitorStatus()).model_dump(by_alias=True, mode="json")
        if new == old:
            return
        assert dm.metadata.namespace is not None
        assert dm.metadata.name is not None
        self.kube.patch_status("driftmonitors", dm.metadata.namespace, dm.metadata.name, new)


def _precondition(
    dm: DriftMonitor, target: ModelDeployment | None, settings: OperatorSettings
) -> Problem | None:
    name = dm.spec.target.model_deployment
    if not settings.redis_url:
        return Problem(
            "RedisNotConfigured",
            "the operator has no Redis URL (--redis-url / SEXTANT_REDIS_URL, chart value "
            "operator.redisUrl): there is no prediction log to check",
        )
    if target is None:
        return Problem("TargetNotFound", f"spec.target.modelDeployment: {name} does not exist")
    if target.spec.prediction_log is None:
        return Problem(
            "PredictionLogDisabled",
            f"spec.target.modelDeployment: {name} has no spec.predictionLog, so nothing is "
            "logged to check",
        )
    return None


def _job_selector(monitor: str) -> dict[str, str]:
    return {contract.DRIFT_MONITOR: monitor, labels.MANAGED_BY: labels.MANAGED_BY_VALUE}


def _newer(finished_at: datetime, check: DriftCheck | None) -> bool:
    return check is None or check.time is None or finished_at > check.time


def _emit_transitions(
    before: DriftMonitorStatus, after: DriftMonitorStatus, emit: EventSink
) -> None:
    """One Event per watched condition that changed status or reason."""
    for type_ in _WATCHED_CONDITIONS:
        old, new = before.condition(type_), after.condition(type_)
        if new is None or new.status == "Unknown":
            continue
        if old is None or (old.status, old.reason) != (new.status, new.reason):
            good = (type_ == "Ready") == (new.status == "True")
            emit("Normal" if good else "Warning", new.reason, new.message)
