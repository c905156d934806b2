"""Explanations (L2): importance of a model's raw columns and engineered features.

Azure's ``enable_model_explainability`` for the best model of a job:

* :func:`explain_global` — global importance on a sample: Tree SHAP for tree pipelines,
  permutation importance on the raw columns for everything else (ensembles included);
  a :class:`GlobalExplanation` with raw and engineered importances and a JSON-ready ``to_dict``.
* :func:`explain_rows` — per-row contributions of each raw column to the prediction (or to
  the predicted class's probability), plus the expected value; additive.
* :func:`render_importance` — a text table for the command line.
"""

from __future__ import annotations

from cirrusml.explain._global import GlobalExplanation, explain_global, render_importance
from cirrusml.explain._local import BACKGROUND_ROWS, EXPECTED_VALUE, explain_rows

__all__ = [
    "BACKGROUND_ROWS",
    "EXPECTED_VALUE",
    "GlobalExplanation",
    "explain_global",
    "explain_rows",
    "render_importance",
]
