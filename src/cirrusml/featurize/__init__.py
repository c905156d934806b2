"""Featurization (L2): scikit-learn transformers fitted inside each fold, saved in the model."""

from __future__ import annotations

from cirrusml.featurize._basic import CategoricalAsCategory
from cirrusml.featurize._input import InputColumns, as_frame

__all__ = ["CategoricalAsCategory", "InputColumns", "as_frame"]
