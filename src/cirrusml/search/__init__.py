"""The search (L2): which configurations to try, and when to stop."""

from __future__ import annotations

from cirrusml.search._cost import CostModel, DataShape, TrialCosts
from cirrusml.search._planner import MAX_SHARE, Planner, Proposal
from cirrusml.search._portfolio import load_portfolio
from cirrusml.search._stopping import (
    EARLY_STOPPING_ITERATIONS,
    LANDMARK_ITERATIONS,
    StoppingRule,
)

__all__ = [
    "CostModel",
    "DataShape",
    "EARLY_STOPPING_ITERATIONS",
    "LANDMARK_ITERATIONS",
    "MAX_SHARE",
    "Planner",
    "Proposal",
    "StoppingRule",
    "TrialCosts",
    "load_portfolio",
]
