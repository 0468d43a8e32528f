"""One FeatureView reconcile: observe (Redis, the latest Job) -> compute status (pure) ->
apply the CronJob -> one status patch, then the Events of what changed."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes.client.exceptions import ApiException

from sextant_operator import labels
from sextant_operator.api.featureview import FeatureView, FeatureViewStatus
from sextant_operator.featureview import jobs, online
from sextant_operator.featureview.render import (
    cronjob_name,
    render_cronjob,
    render_initial_job,
)
from sextant_operator.featureview.status import Observed, compute_status, events
from sextant_operator.kube import Kube
from sextant_operator.settings import OperatorSettings

log = logging.getLogger(__name__)

EventSink = Callable[[str, str, str], None]
PLURAL = "featureviews"
# URI schemes no run can read yet (status: SourceUnavailable, reason UnsupportedSource,
# and no CronJob); every scheme the API accepts is read today.
UNSUPPORTED_SCHEMES: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    status: FeatureViewStatus
    retry: bool  # Redis could not be read: look again soon


class FeatureViewReconciler:
    def __init__(self, kube: Kube, settings: OperatorSettings) -> None:
        self.kube = kube
        self.settings = settings

    def reconcile(
        self, body: dict[str, Any], emit: EventSink, now: datetime | None = None
    ) -> Outcome:
        now = now or datetime.now(UTC)
        fv = FeatureView.from_cluster(body)
        namespace, name = fv.metadata.namespace or "", fv.metadata.name or ""
        url = fv.spec.online.redis_url or self.settings.redis_url
        unsupported = unsupported_source(fv.spec.source.uri)
        schedule = fv.spec.materialization is not None and url is not None and not unsupported
        if schedule:
            assert url is not None
            self.kube.apply(render_cronjob(fv, self.settings.runtime_image, url))
        else:
            self._remove_cronjob(namespace, name)
        state, redis_error = self._online(fv, url, now)
        job = self._latest_job(namespace, name)
        if schedule and state is not None and job is None and not any(state.runs):
            # No run on record and none going: materialize now rather than at the next
            # tick, which for a daily schedule is up to a day without online values.
            assert url is not None
            created = self.kube.apply(render_initial_job(fv, self.settings.runtime_image, url))
            job = jobs.job_run(created, [])
        seen = Observed(url, unsupported, state, redis_error, job, now)
        status = compute_status(fv, seen)
        self._write_status(fv, status)
        for event in events(fv.status, status):
            emit(event.type, event.reason, event.message)
        return Outcome(status, retry=redis_error is not None)

    def _online(
        self, fv: FeatureView, url: str | None, now: datetime
    ) -> tuple[online.OnlineState | None, str | None]:
        if url is None:
            return None, None
        shards = fv.spec.materialization.parallelism if fv.spec.materialization else 1
        try:
            password = self._password(fv)
            state = online.read_state(
                url, password, namespace=fv.metadata.namespace or "",
                name=fv.metadata.name or "", shards=shards, now=now,
            )  # fmt: skip
            return state, None
        except (online.RedisUnavailable, SecretUnreadable) as err:
            log.warning("%s/%s: %s", fv.metadata.namespace, fv.metadata.name, err)
            return None, str(err)

    def _password(self, fv: FeatureView) -> str | None:
        ref = fv.spec.online.secret_ref
        if ref is None:
            return None
        try:
            secret = self.kube.core.read_namespaced_secret(ref.name, fv.metadata.namespace or "")
        except ApiException as err:
            if err.status == 404:
                raise SecretUnreadable(f"spec.online.secretRef: no Secret {ref.name}") from err
            if err.status == 403:
                raise SecretUnreadable(
                    f"spec.online.secretRef: the operator may not read Secret {ref.name}, so it "
                    "cannot check this Redis (the jobs still get the password); install the "
                    "chart with operator.readRedisSecrets=true"
                ) from err
            raise
        value = (secret.data or {}).get(ref.key)
        if value is None:
            raise SecretUnreadable(f"spec.online.secretRef: Secret {ref.name} has no key {ref.key}")
        return base64.b64decode(value).decode()

    def _latest_job(self, namespace: str, name: str) -> jobs.JobRun | None:
        selector = labels.selector_string(jobs.selector(name))
        found = self.kube.dynamic.resources.get(api_version="batch/v1", kind="Job")
        items = found.get(namespace=namespace, label_selector=selector).to_dict()["items"]
        job = jobs.latest(items)
        if job is None:
            return None
        messages: list[str] = []
        if (job.get("status") or {}).get("failed"):
            pods = self.kube.pods(namespace, {"job-name": job["metadata"]["name"]})
            pods.sort(key=lambda p: p.metadata.creation_timestamp)
            for pod in pods:
                for container in (pod.status and pod.status.container_statuses) or []:
                    terminated = container.state and container.state.terminated
                    if terminated is not None and terminated.message:
                        messages.append(terminated.message)
        return jobs.job_run(job, messages)

    def _remove_cronjob(self, namespace: str, name: str) -> None:
        found = self.kube.get("batch/v1", "CronJob", namespace, cronjob_name(name))
        if found is not None and _owned_by_view(found, name):
            self.kube.delete({**found, "apiVersion": "batch/v1", "kind": "CronJob"})

    def _write_status(self, fv: FeatureView, status: FeatureViewStatus) -> None:
        new = status.model_dump(by_alias=True, mode="json")
        old = (fv.status or FeatureViewStatus()).model_dump(by_alias=True, mode="json")
        if new == old:
            return  # nothing changed: no write, no watch event
        self.kube.patch_status(PLURAL, fv.metadata.namespace or "", fv.metadata.name or "", new)


class SecretUnreadable(Exception):
    """spec.online.secretRef names a Secret or key that does not exist."""


def unsupported_source(uri: str) -> str | None:
    """Why no run can read `uri`, or None."""
    if uri.startswith(UNSUPPORTED_SCHEMES):
        scheme = uri.partition("://")[0]
        return (
            f"spec.source.uri {uri}: {scheme}:// sources are not read by this version yet. "
            "No CronJob is scheduled"
        )
    return None


def _owned_by_view(obj: dict[str, Any], name: str) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(r.get("kind") == "FeatureView" and r.get("name") == name for r in refs)
