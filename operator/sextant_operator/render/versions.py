"""Children of progressive rollouts: one Deployment per model version, and the Services.

A version's Deployment keeps its name, selector and pod template while its role changes
(canary -> stable, preview -> active): roles live in status, so promoting never restarts
a pod. The Services pick versions by the model-version label.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from sextant_operator import labels
from sextant_operator.render.context import RenderContext
from sextant_operator.render.deployment import render_deployment
from sextant_operator.render.service import render_service
from sextant_operator.rollout.gatewayapi import service_names

PREVIEW_SUFFIX = "-preview"


def version_deployment_name(name: str, version: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", version.lower()).strip("-")[:40] or "x"
    return f"{name}-v{slug}"


def render_version_deployment(ctx: RenderContext, track: str, replicas: int) -> dict[str, Any]:
    """`track` is the role the version was born with; it never changes for that Deployment."""
    deployment = render_deployment(ctx, track, replicas)
    version = ctx.artifact.version
    meta = deployment["metadata"]
    meta["name"] = version_deployment_name(ctx.name, version)
    meta["labels"][labels.MODEL_VERSION] = labels.version_value(version)
    # Label values are sanitised; the annotation keeps the version exactly as status has it.
    meta["annotations"] = {labels.VERSION_ANNOTATION: version}
    deployment["spec"]["selector"] = {"matchLabels": labels.version_selector(ctx.name, version)}
    return deployment


def render_services(
    ctx: RenderContext, active: str | None, preview: str | None
) -> list[dict[str, Any]]:
    """The main Service (every version, or only `active`), and a preview Service if asked."""
    main = render_service(ctx)
    if active is not None:
        main["spec"]["selector"] = labels.version_selector(ctx.name, active)
    if preview is None:
        return [main]
    extra = copy.deepcopy(main)
    extra["metadata"]["name"] = f"{ctx.name}{PREVIEW_SUFFIX}"
    extra["spec"]["selector"] = labels.version_selector(ctx.name, preview)
    return [main, extra]


def render_route_services(ctx: RenderContext, stable: str, canary: str) -> list[dict[str, Any]]:
    """GatewayAPI routing: NAME-stable and NAME-canary, the backends the user's HTTPRoute
    names; out of a rollout both select the stable version."""
    main = render_service(ctx)
    services = []
    for name, version in zip(service_names(ctx.name), (stable, canary), strict=True):
        service = copy.deepcopy(main)
        service["metadata"]["name"] = name
        service["spec"]["selector"] = labels.version_selector(ctx.name, version)
        services.append(service)
    return services
