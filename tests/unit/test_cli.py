import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

from click.testing import CliRunner

from sextant import __version__
from sextant.cli import SUBCOMMANDS, main

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_version_prints_the_installed_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"sextant, version {__version__}"
    assert __version__ != "0.0.0+unknown"


def test_help_lists_every_registered_subcommand() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for name in SUBCOMMANDS:
        assert f"  {name}" in result.output


def test_every_subcommand_has_its_own_help() -> None:
    for name in SUBCOMMANDS:
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0, f"sextant {name} --help: {result.output}"
        assert "Usage:" in result.output


def test_unknown_subcommand_fails_with_a_clear_message() -> None:
    result = CliRunner().invoke(main, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


def test_stdlib_operator_module_is_not_shadowed_from_the_repo_root() -> None:
    code = "import operator; operator.itemgetter; print(operator.__file__)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert not out.stdout.strip().startswith(str(REPO_ROOT))


def test_top_level_help_imports_neither_kopf_nor_torch() -> None:
    # The operator image has no torch and the runtime image no kopf: the CLI front
    # door must load neither.
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from sextant.cli import main\n"
        "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
        "print(sorted(m for m in ('kopf', 'torch', 'onnxruntime') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_kubectl_finds_sextant_as_a_plugin() -> None:
    """kubectl runs `kubectl-sextant` from PATH for `kubectl sextant ...`."""
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts["kubectl-sextant"] == scripts["sextant"] == "sextant.cli:main"
