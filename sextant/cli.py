"""The one `sextant` command. Subcommands live in their own modules and load on demand.

Loading on demand keeps `sextant --help` fast and lets the operator image run without
torch and the runtime image without kopf: a subcommand imports only what it uses.
"""

from __future__ import annotations

import importlib

import click

from sextant import __version__
from sextant.logs import configure_logging

# name -> "module:attribute" of a click command; each later issue adds its line here.
SUBCOMMANDS: dict[str, str] = {
    "abort": "sextant.commands.rollout:abort",
    "crds": "sextant.commands.crds:crds",
    "cluster": "sextant.commands.cluster:cluster",
    "demo": "sextant.commands.demo:demo",
    "drift": "sextant.commands.drift:drift",
    "features": "sextant.commands.features:features",
    "images": "sextant.commands.images:images",
    "materialize": "sextant.commands.features:materialize",
    "operator": "sextant.commands.operator:operator_command",
    "promote": "sextant.commands.rollout:promote",
    "retry": "sextant.commands.rollout:retry",
    "serve": "sextant.commands.serve:serve",
    "status": "sextant.commands.rollout:status",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when invoked or listed in help."""

    def __init__(self, *args: object, lazy: dict[str, str], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self._lazy:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = self._lazy[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self._lazy[cmd_name]} is not a click command")
        return command


@click.group(
    cls=LazyGroup,
    lazy=SUBCOMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "SEXTANT"},
)
@click.version_option(__version__, "-V", "--version", prog_name="sextant")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging for Sextant's own modules.")
def main(verbose: bool) -> None:
    """Sextant runs machine-learning models on Kubernetes."""
    configure_logging(verbose)


if __name__ == "__main__":  # pragma: no cover - `python -m sextant.cli`
    main()
