"""Test tiers follow the folder a test lives in: tests/unit, tests/integration, tests/e2e.

Fixtures that start real servers live in tests/fixtures, one module per kind of server.
"""

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.cluster",
    "tests.fixtures.crds",
    "tests.fixtures.operator",
]

_TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_root = Path(__file__).parent
    for item in items:
        tier = item.path.relative_to(tests_root).parts[0]
        if tier not in _TIERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in one of {', '.join(_TIERS)}")
        item.add_marker(getattr(pytest.mark, tier))
