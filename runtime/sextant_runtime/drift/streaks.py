"""Drift declared only after N consecutive drifting windows.

The check itself is stateless; the caller keeps each feature's streak between windows
(the DriftMonitor's status, or a file for `sextant drift check --state`) and passes the
last one in. A window where a feature does not drift, or cannot be tested, resets it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sextant_runtime.drift.types import FeatureResult, Status


@dataclass
class WindowStreaks:
    by_feature: dict[str, int] = field(default_factory=dict)

    def advance(self, results: list[FeatureResult], consecutive: int) -> None:
        """Count this window in, and keep `drifted` only where the streak reaches N."""
        for result in results:
            raw = result.drifted and result.status is Status.OK
            streak = self.by_feature.get(result.name, 0) + 1 if raw else 0
            self.by_feature[result.name] = streak
            result.streak = streak
            if raw and streak < consecutive:
                result.drifted = False
                result.message = _join(
                    result.message, f"drifting for {streak} of {consecutive} windows"
                )

    @classmethod
    def load(cls, path: Path) -> WindowStreaks:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text())
        streaks = data.get("streaks", {}) if isinstance(data, dict) else {}
        return cls({str(k): int(v) for k, v in streaks.items()})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps({"streaks": self.by_feature}, sort_keys=True) + "\n")


def _join(first: str, second: str) -> str:
    return f"{first}; {second}" if first else second
