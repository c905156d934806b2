"""Featurization (L2): scikit-learn transformers fitted inside each fold, saved in the model.

``profile_columns`` types every raw column; ``make_featurizer`` builds the ``datatransformer``
step (:class:`AutoFeaturizer`) for a learner; ``compute_guardrails`` reports Azure's data
guardrails.
"""

from __future__ import annotations

from cirrusml.featurize._basic import CategoricalAsCategory
from cirrusml.featurize._build import AutoFeaturizer, check_featurization, make_featurizer
from cirrusml.featurize._guardrails import (
    Guardrail,
    compute_guardrails,
    mark_class_balancing_done,
    render_guardrails,
)
from cirrusml.featurize._input import InputColumns, ToDense, as_frame
from cirrusml.featurize._onnx_compatible import OnnxCompatibleFeaturizer, make_onnx_featurizer
from cirrusml.featurize._profile import (
    ColumnProfile,
    DataProfile,
    FeaturizationOptions,
    featurization_options,
    profile_columns,
)
from cirrusml.featurize._summary import featurization_summary, render_featurization_summary

__all__ = [
    "AutoFeaturizer",
    "CategoricalAsCategory",
    "ColumnProfile",
    "DataProfile",
    "FeaturizationOptions",
    "Guardrail",
    "InputColumns",
    "OnnxCompatibleFeaturizer",
    "ToDense",
    "as_frame",
    "check_featurization",
    "compute_guardrails",
    "featurization_options",
    "featurization_summary",
    "make_featurizer",
    "make_onnx_featurizer",
    "mark_class_balancing_done",
    "profile_columns",
    "render_featurization_summary",
    "render_guardrails",
]
