"""What the feature tests share: a clock that starts with each test."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


@pytest.fixture(autouse=True)
def _now_at_each_test(request: pytest.FixtureRequest) -> None:
    """A module's NOW, where it has one, is when each test starts (whole seconds). Keys
    expire a TTL after their event time, so a NOW taken when the module was collected goes
    stale in a long suite (CI once reached test_materialize more than 11 minutes after
    collection, when keys written "49 minutes ago" with a 1 h TTL had expired)."""
    if hasattr(request.module, "NOW"):
        request.module.NOW = datetime.now(UTC).replace(microsecond=0)
