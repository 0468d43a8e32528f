"""Run the kopf operator in this process with Sextant's settings."""

from __future__ import annotations

import logging
import random
from typing import Any

import kopf

from sextant_operator import pending
from sextant_operator.controller import ModelDeploymentController
from sextant_operator.driftmonitor import handlers as driftmonitor_handlers
from sextant_operator.featureview import handlers as featureview_handlers
from sextant_operator.kube import load_api_client
from sextant_operator.settings import OperatorSettings
from sextant_operator.standby import Standby

log = logging.getLogger(__name__)

# A watch that the server does not end by itself is ended by the client: no stream can
# stall silently behind a dead load balancer or a half-open connection.
WATCH_SERVER_TIMEOUT_SECONDS = 300
WATCH_CLIENT_TIMEOUT_SECONDS = 330
CONNECT_TIMEOUT_SECONDS = 15


def run_operator(
    settings: OperatorSettings,
    *,
    liveness_endpoint: str | None,
    peering_name: str | None,
) -> None:
    """Blocks until SIGINT/SIGTERM.

    With `peering_name`, replicas coordinate through kopf peering: each picks a random
    priority and only the highest one handles objects; the others stand by and take over
    when it stops renewing its lease (the ClusterKopfPeering CRD must exist; the chart
    installs it). Without it, run exactly one replica.
    """
    registry = kopf.OperatorRegistry()
    pending.register(registry)
    driftmonitor_handlers.register(registry, settings)
    featureview_handlers.register(registry, settings)
    # ModelDeployments run on Sextant's own watch caches and work queue (controller.py);
    # kopf runs the other kinds, peering and the liveness endpoint.
    api_client = load_api_client()
    priority = random.randint(1, 2**31) if peering_name else 0
    controller = ModelDeploymentController(
        api_client,
        settings,
        workers=settings.workers,
        standby=Standby(api_client, peering_name, priority, settings.namespaces),
    )

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # The same credentials as the kubernetes client: in-cluster or KUBECONFIG.
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.watching.server_timeout = WATCH_SERVER_TIMEOUT_SECONDS
        settings.watching.client_timeout = WATCH_CLIENT_TIMEOUT_SECONDS
        settings.watching.connect_timeout = CONNECT_TIMEOUT_SECONDS
        # kopf's bookkeeping goes to annotations: status belongs to the CRD's schema.
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(
            prefix="sextant.dev"
        )
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix="sextant.dev", key="last-handled-configuration"
        )
        # Only explicit Events (kopf.event) and warnings reach `kubectl describe`.
        settings.posting.level = logging.WARNING
        settings.peering.mandatory = peering_name is not None

    if not log.isEnabledFor(logging.DEBUG):
        # kopf logs every handler success at INFO; keep its per-object chatter for -v.
        logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    log.info(
        "starting the operator (%s); runtime image %s",
        ", ".join(settings.namespaces) or "all namespaces",
        settings.runtime_image,
    )
    controller.start()
    try:
        kopf.run(
            registry=registry,
            clusterwide=not settings.namespaces,
            namespaces=settings.namespaces,
            liveness_endpoint=liveness_endpoint,
            standalone=peering_name is None,
            peering_name=peering_name,
            priority=priority,
        )
    finally:
        controller.stop()
