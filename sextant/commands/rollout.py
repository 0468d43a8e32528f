"""`sextant promote|abort|retry|status NAME`: rollout control without editing the spec.

Each sets a one-time annotation on the ModelDeployment; the operator acts on it and
removes it. Uses the kubernetes client and KUBECONFIG (or in-cluster credentials).
"""

from __future__ import annotations

import json
from typing import Any

import click

from sextant_operator.labels import ABORT_ANNOTATION as ABORT
from sextant_operator.labels import GROUP
from sextant_operator.labels import PROMOTE_ANNOTATION as PROMOTE
from sextant_operator.labels import RETRY_ANNOTATION as RETRY

VERSION, PLURAL = "v1alpha1", "modeldeployments"

_namespace = click.option(
    "-n", "--namespace", default=None, help="Namespace (default: the kubeconfig context's)."
)


def _api() -> tuple[Any, str]:
    from kubernetes import client, config

    try:
        config.load_kube_config()
        _, context = config.list_kube_config_contexts()
        namespace = str(context.get("context", {}).get("namespace") or "default")
    except config.ConfigException:
        config.load_incluster_config()
        namespace = "default"
    return client.CustomObjectsApi(), namespace


def _annotate(name: str, namespace: str | None, key: str, value: str) -> None:
    from kubernetes.client.exceptions import ApiException

    api, default = _api()
    patch = {"metadata": {"annotations": {key: value}}}
    try:
        api.patch_namespaced_custom_object(
            GROUP, VERSION, namespace or default, PLURAL, name, patch
        )
    except ApiException as err:
        raise click.ClickException(f"modeldeployment {name}: {err.reason}") from err


@click.command()
@click.argument("name")
@_namespace
@click.option("--full", is_flag=True, help="Skip every remaining step (traffic still follows "
              "canary readiness).")  # fmt: skip
def promote(name: str, namespace: str | None, full: bool) -> None:
    """Advance a paused rollout one step (or all the way with --full)."""
    _annotate(name, namespace, PROMOTE, "full" if full else "true")
    click.echo(f"modeldeployment/{name}: promote{' --full' if full else ''} requested")


@click.command()
@click.argument("name")
@_namespace
def abort(name: str, namespace: str | None) -> None:
    """Abort the rollout: all traffic back to stable; that version is not retried by itself."""
    _annotate(name, namespace, ABORT, "true")
    click.echo(f"modeldeployment/{name}: abort requested")


@click.command()
@click.argument("name")
@_namespace
def retry(name: str, namespace: str | None) -> None:
    """Start an aborted version's rollout again from step 0."""
    _annotate(name, namespace, RETRY, "true")
    click.echo(f"modeldeployment/{name}: retry requested")


@click.command()
@click.argument("name")
@_namespace
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text")
def status(name: str, namespace: str | None, output: str) -> None:
    """Show a ModelDeployment's rollout: state, step, weights, versions."""
    from kubernetes.client.exceptions import ApiException

    api, default = _api()
    try:
        md = api.get_namespaced_custom_object(GROUP, VERSION, namespace or default, PLURAL, name)
    except ApiException as err:
        raise click.ClickException(f"modeldeployment {name}: {err.reason}") from err
    st = md.get("status") or {}
    if output == "json":
        click.echo(json.dumps(st, indent=2))
        return
    rollout, stable, canary = st.get("rollout") or {}, st.get("stable") or {}, st.get("canary")
    click.echo(f"Name:      {name}")
    click.echo(f"Strategy:  {(md['spec'].get('rollout') or {}).get('strategy', 'RollingUpdate')}")
    click.echo(f"Phase:     {st.get('phase', '-')}")
    click.echo(f"State:     {rollout.get('state', '-')}")
    if rollout.get("message"):
        click.echo(f"Message:   {rollout['message']}")
    click.echo(f"Stable:    {stable.get('version', '-')} "
               f"({stable.get('readyReplicas', 0)}/{stable.get('replicas', 0)} ready)")  # fmt: skip
    if canary:
        pods = f"{canary.get('readyReplicas', 0)}/{canary.get('replicas', 0)} ready"
        where = f"weight {canary.get('weight', 0)}%, step {canary.get('step', '-')}"
        click.echo(f"Canary:    {canary.get('version')} ({pods}), {where}")
    if rollout.get("abortedVersion"):
        click.echo(f"Aborted:   {rollout['abortedVersion']} (sextant retry {name} to try again)")
