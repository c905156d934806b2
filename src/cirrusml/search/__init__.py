"""The search (L2): which configurations to try, and when to stop."""

from __future__ import annotations

from cirrusml.search._planner import Planner, Proposal, load_portfolio
from cirrusml.search._stopping import (
    EARLY_STOPPING_ITERATIONS,
    LANDMARK_ITERATIONS,
    StoppingRule,
)

__all__ = [
    "EARLY_STOPPING_ITERATIONS",
    "LANDMARK_ITERATIONS",
    "Planner",
    "Proposal",
    "StoppingRule",
    "load_portfolio",
]
