"""Local explanations: how much each raw column moved one row's prediction.

:func:`explain_rows` returns one row per explained row and one column per raw input column
(its contribution) plus ``expected_value``, so that for every row

    sum of the contributions + expected_value == the model's output for that row

where the output is the prediction, or, for a probabilistic task (:attr:`Task.probabilistic
<cirrusml.tasks.Task.probabilistic>`), the probability of the predicted class (the class with
the highest probability, listed in ``attrs["predicted_class"]``).
Every method below is exact in this sense up to rounding; the additivity is checked for the
tree method, which gives way to the model-agnostic one when the check fails.

Methods (``attrs["method"]``)
-----------------------------
``shap_tree`` — tree pipelines whose tree output already is the explained output: regressors,
    and classifiers whose trees output probabilities (the learner's
    :attr:`~cirrusml.models.TreeModel.probability_trees`: RandomForest, ExtremeRandomTrees and
    DecisionTree). Path-dependent Tree SHAP on the featurized rows; no background needed.
``shap_tree_interventional`` — other tree classifiers with two classes (boosting: LightGBM,
    XGBoost, GradientBoosting) whose features SHAP's own tree code can read: interventional
    Tree SHAP in probability space against the featurized background sample. (Native
    categorical splits and multiclass softmax outputs are beyond it; those models use the next
    method.)
``shap_kernel_exact`` / ``shap_kernel`` — everything else (linear, SVM, KNN, naive Bayes,
    ensembles, and the tree cases above when they fail): ``shap.KernelExplainer`` over the raw
    columns, a column being "absent" when its value comes from a background row (an
    independent masker). Each row costs ``max_evals`` coalitions (at least ``2 × columns +
    2``), each predicted on every background row, in one batched model call. When all
    ``2 ** columns - 2`` coalitions fit (8 columns or fewer at the default 500) they are all
    enumerated and the values are the exact Shapley values (``shap_kernel_exact``); otherwise
    they are sampled (``shap_kernel``, seeded) — still additive, as Kernel SHAP constrains the
    sum. The expected value is the model's mean output over the background sample. Raw values
    of any type (text, dates, categories) are masked by swapping whole values between rows, so
    the model always sees well-typed rows. (Kernel SHAP rather than the permutation or exact
    algorithms of ``shap.Explainer``: those compile numba code on first use, which costs tens
    of seconds in every new process.)

For tree methods the SHAP values of engineered features are summed into their raw columns
through the featurizer's ``feature_map_``. The background is subsampled (seeded) to at most
:data:`BACKGROUND_ROWS` rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cirrusml.exceptions import CirrusMLError, DataError
from cirrusml.explain._common import (
    TreeParts,
    as_outputs,
    engineered_names,
    predict_output,
    quiet_libraries,
    raw_frame,
    shap_input,
    to_raw,
    tree_parts,
)
from cirrusml.spec import TaskType
from cirrusml.tasks import Task, as_task

__all__ = ["BACKGROUND_ROWS", "EXPECTED_VALUE", "explain_rows"]

#: The most background rows used (more costs time without changing much).
BACKGROUND_ROWS = 100
#: Name of the base-value column (suffixed with ``_`` if a raw column already has it).
EXPECTED_VALUE = "expected_value"


def explain_rows(model: Any, X_rows: pd.DataFrame, background: pd.DataFrame, *,
                 task: Task | TaskType | str, max_evals: int = 500, seed: int = 0
                 ) -> pd.DataFrame:
    """Per-row contributions of every raw column (see the module notes).

    ``task`` is the job's :class:`~cirrusml.tasks.Task` or its name.

    Returns a DataFrame indexed like ``X_rows`` with one column per raw input column and
    ``expected_value``. ``attrs`` holds ``method``, ``output`` (what is explained),
    ``prediction`` (the explained output per row), ``predicted_class`` (probabilistic tasks) and
    ``notes``.
    """
    probabilistic = as_task(task).probabilistic
    rows, columns = raw_frame(model, X_rows, "X_rows")
    back, _ = raw_frame(model, background, "background")
    if len(back) == 0:
        raise DataError("explain_rows needs at least one background row.")
    if len(back) > BACKGROUND_ROWS:
        picked = np.sort(np.random.default_rng(seed).choice(len(back), BACKGROUND_ROWS,
                                                            replace=False))
        back = back.iloc[picked]
    base_name = EXPECTED_VALUE
    while base_name in columns:
        base_name += "_"
    notes: list[str] = []
    if len(rows) == 0:
        return _frame(np.zeros((0, len(columns))), np.zeros(0), rows.index, columns, base_name,
                      "none", np.zeros(0), None, probabilistic, notes)

    with quiet_libraries():
        output = predict_output(model, rows, probabilistic)
        if probabilistic:
            picked_class = np.argmax(output, axis=1)
            explained = output[np.arange(len(rows)), picked_class]
            classes = np.asarray(model.classes_)
        else:
            picked_class, explained, classes = None, output, None
        parts = tree_parts(model)
        if parts is not None:
            try:
                values, base, method = _tree_rows(parts, rows, back, columns, probabilistic,
                                                  picked_class)
                _check_additive(values, base, explained)
                return _frame(values, base, rows.index, columns, base_name, method, explained,
                              None if classes is None else classes[picked_class],
                              probabilistic, notes)
            except Exception as exc:
                notes.append(f"tree SHAP not used ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:160]})")
        values, base, method = _agnostic_rows(model, rows, back, probabilistic, picked_class,
                                              max_evals, seed)
    return _frame(values, base, rows.index, columns, base_name, method, explained,
                  None if classes is None else classes[picked_class], probabilistic, notes)


def _frame(values: np.ndarray, base: np.ndarray, index: pd.Index, columns: list[str],
           base_name: str, method: str, explained: np.ndarray, predicted: Any,
           probabilistic: bool, notes: list[str]) -> pd.DataFrame:
    out = pd.DataFrame(values, index=index, columns=columns)
    out[base_name] = base
    out.attrs["method"] = method
    out.attrs["output"] = ("probability of the predicted class" if probabilistic
                           else "prediction")
    out.attrs["prediction"] = [float(v) for v in explained]
    if predicted is not None:
        out.attrs["predicted_class"] = [v.item() if hasattr(v, "item") else v for v in predicted]
    out.attrs["notes"] = notes
    return out


def _check_additive(values: np.ndarray, base: np.ndarray, explained: np.ndarray) -> None:
    total = values.sum(axis=1) + base
    scale = max(1.0, float(np.max(np.abs(explained))) if explained.size else 1.0)
    gap = float(np.max(np.abs(total - explained))) if explained.size else 0.0
    if not np.isfinite(gap) or gap > 1e-3 * scale:
        raise CirrusMLError(f"contributions miss the model output by up to {gap:.3g}")


# ---------------------------------------------------------------------------- tree SHAP


def _pick(values: np.ndarray, base: np.ndarray, picked: np.ndarray | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """(rows, features) values and per-row base for each row's explained output.

    ``values`` is (rows, features, outputs) and ``base`` (outputs,); a single output of a
    two-class model is the second class's probability (the first class's is its complement).
    """
    n = values.shape[0]
    if picked is None:
        return values[:, :, 0], np.full(n, float(base[0]))
    if values.shape[2] == 1:
        sign = np.where(picked == 1, 1.0, -1.0)
        offset = np.where(picked == 1, float(base[0]), 1.0 - float(base[0]))
        return values[:, :, 0] * sign[:, None], offset
    return values[np.arange(n), :, picked], base[picked]


def _tree_rows(parts: TreeParts, rows: pd.DataFrame, back: pd.DataFrame, columns: list[str],
               probabilistic: bool, picked: np.ndarray | None
               ) -> tuple[np.ndarray, np.ndarray, str]:
    import shap

    Z = parts.prefix.transform(rows)
    names = engineered_names(parts.featurizer, Z.shape[1])
    if not probabilistic or parts.tree.probability_trees:
        explainer = shap.TreeExplainer(parts.library, feature_perturbation="tree_path_dependent")
        method = "shap_tree"
        raw_values = explainer.shap_values(shap_input(parts.tree, Z), check_additivity=False)
    else:
        if len(parts.estimator.classes_) != 2:
            raise CirrusMLError("boosted multiclass probabilities are not additive in Tree SHAP")
        if parts.tree.frames and isinstance(Z, pd.DataFrame) and any(
                isinstance(d, pd.CategoricalDtype) for d in Z.dtypes):
            raise CirrusMLError("native categorical splits need path-dependent Tree SHAP")
        background = shap_input(None, parts.prefix.transform(back))
        explainer = shap.TreeExplainer(parts.library, data=np.asarray(background, dtype=float),
                                       feature_perturbation="interventional",
                                       model_output="probability")
        method = "shap_tree_interventional"
        raw_values = explainer.shap_values(np.asarray(shap_input(None, Z), dtype=float),
                                           check_additivity=False)
    values = as_outputs(raw_values)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)).ravel()
    per_feature, offset = _pick(values, base, picked)
    return to_raw(per_feature, names, parts.featurizer.feature_map_, columns), offset, method


# ------------------------------------------------------------------- model-agnostic SHAP


def _agnostic_rows(model: Any, rows: pd.DataFrame, back: pd.DataFrame, probabilistic: bool,
                   picked: np.ndarray | None, max_evals: int, seed: int
                   ) -> tuple[np.ndarray, np.ndarray, str]:
    """Kernel SHAP over raw columns.

    The masker works on row numbers, not values: every cell of the table SHAP manipulates holds
    the number of the row (in explained rows + background) whose value it stands for, and the
    prediction function rebuilds a typed DataFrame by taking each column's values from those
    rows. Masking a column of an explained row then means borrowing that column from a
    background row, exactly as an independent masker does with numbers.
    """
    import shap

    pool = pd.concat([rows, back], ignore_index=True)
    n, p = len(rows), rows.shape[1]
    own = np.repeat(np.arange(n, dtype=float)[:, None], p, axis=1)
    borrowed = np.repeat(np.arange(n, len(pool), dtype=float)[:, None], p, axis=1)
    columns = list(pool.columns)

    def predict(codes: np.ndarray) -> np.ndarray:
        index = np.asarray(codes, dtype=np.int64)
        table = pd.DataFrame({c: pool[c].take(index[:, j]).reset_index(drop=True)
                              for j, c in enumerate(columns)})
        return predict_output(model, table, probabilistic)

    # Kernel SHAP's sampling draws from numpy's global generator; seed it, then put it back.
    state = np.random.get_state()
    np.random.seed(seed % 2**32)
    try:
        explainer = shap.KernelExplainer(predict, borrowed)
        # With no more coalitions than the budget, Kernel SHAP enumerates them all and its
        # weighted regression gives the exact Shapley values; l1_reg=False keeps every column.
        budget = max(int(max_evals), 2 * p + 2)
        values = as_outputs(explainer.shap_values(own, nsamples=budget, l1_reg=False,
                                                  silent=True))
    finally:
        np.random.set_state(state)
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)).ravel()
    method = "shap_kernel_exact" if 2 ** p - 2 <= budget else "shap_kernel"
    if picked is None:
        return values[:, :, 0], np.full(n, float(base[0])), method
    return values[np.arange(n), :, picked], base[picked], method
