"""The rollout engine: a pure function from (spec, status, observations, now) to a decision.

`decide` never does I/O; everything a rollout needs to resume after an operator restart
lives in the status it returns.
"""

from sextant_operator.rollout.engine import decide
from sextant_operator.rollout.types import (
    AnalysisVerdict,
    Decision,
    DesiredVersion,
    Event,
    Observations,
    Tokens,
    VersionState,
)

__all__ = [
    "AnalysisVerdict",
    "Decision",
    "DesiredVersion",
    "Event",
    "Observations",
    "Tokens",
    "VersionState",
    "decide",
]
