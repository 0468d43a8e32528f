"""Rollout analysis: Prometheus measurements of the new version and the judge of them.

prometheus (queries, scoping), measurements (error rate, p99 and predictions from how
much the runtime's counters grew per interval), statistics (Mann-Whitney U canary vs
stable, PSI), checks (the protocol and registry of checks), judge (the verdict table,
pure), runner (when to measure; status bookkeeping).
"""

from sextant_operator.analysis.checks import Check, Context, Measurement, register
from sextant_operator.analysis.runner import Analysed, analyse, gate_of

__all__ = ["Analysed", "Check", "Context", "Measurement", "analyse", "gate_of", "register"]
