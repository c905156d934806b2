"""Featurization (L2): scikit-learn transformers fitted inside each fold, saved in the model.

``profile_columns`` types every raw column; ``plan_featurization`` decides, from that profile,
the settings, the learner's needs and the ONNX flag, what happens to each column (a
:class:`FeaturizationPlan`); ``make_featurizer`` and ``make_onnx_featurizer`` build the
``datatransformer`` step (:class:`AutoFeaturizer`, :class:`OnnxCompatibleFeaturizer`) from that
plan, and the featurization summary is the plan as fitted; ``compute_guardrails`` reports Azure's
data guardrails.
"""

from __future__ import annotations

from cirrusml.featurize._basic import CategoricalAsCategory
from cirrusml.featurize._build import (
    AutoFeaturizer,
    expected_width,
    expected_widths,
    make_featurizer,
)
from cirrusml.featurize._distributed import (
    DistributedFeaturization,
    fit_distributed_featurization,
)
from cirrusml.featurize._guardrails import (
    Guardrail,
    compute_guardrails,
    mark_class_balancing_done,
    render_guardrails,
)
from cirrusml.featurize._input import InputColumns, ToDense, as_frame
from cirrusml.featurize._onnx_compatible import OnnxCompatibleFeaturizer, make_onnx_featurizer
from cirrusml.featurize._plan import (
    ColumnPlan,
    FeaturizationPlan,
    check_featurization,
    plan_columns,
    plan_featurization,
)
from cirrusml.featurize._profile import (
    ColumnProfile,
    DataProfile,
    FeaturizationOptions,
    featurization_options,
    profile_columns,
)
from cirrusml.featurize._summary import featurization_summary, render_featurization_summary

__all__ = [
    "DistributedFeaturization",
    "fit_distributed_featurization",
    "AutoFeaturizer",
    "CategoricalAsCategory",
    "ColumnPlan",
    "ColumnProfile",
    "DataProfile",
    "FeaturizationOptions",
    "FeaturizationPlan",
    "Guardrail",
    "InputColumns",
    "OnnxCompatibleFeaturizer",
    "ToDense",
    "as_frame",
    "check_featurization",
    "compute_guardrails",
    "expected_width",
    "expected_widths",
    "featurization_options",
    "featurization_summary",
    "make_featurizer",
    "make_onnx_featurizer",
    "mark_class_balancing_done",
    "plan_columns",
    "plan_featurization",
    "profile_columns",
    "render_featurization_summary",
    "render_guardrails",
]
