"""Learners (L2): one module per algorithm family, each with Azure's name and its defaults."""

from __future__ import annotations

from cirrusml.models._base import Learner
from cirrusml.models._registry import get_learner, learners_for

__all__ = ["Learner", "get_learner", "learners_for"]
