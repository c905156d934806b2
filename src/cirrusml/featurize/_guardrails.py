"""Data guardrails (Azure reference §11): checks on the training data, reported before training.

Each guardrail has a status: ``Passed`` (nothing found), ``Done`` (the data was changed; review
the change) or ``Alerted`` (a problem was found and not fixed). The rules:

* **Validation split handling** — always ``Done``: the validation rule in use.
* **Missing target values** — only when rows were dropped for a missing target: ``Done``.
* **Missing feature values imputation** — ``Done`` listing each column with missing values, how
  many, and how they are filled; ``Passed`` when nothing is missing. With featurization off,
  ``Alerted`` (the missing values reach the learner as they are).
* **High cardinality feature detection** — ``Done`` listing id-like columns (dropped) and
  high-cardinality categoricals (target-encoded or hashed); ``Passed`` when there are none.
* **Class balancing detection** (classification) — ``Alerted`` when the smallest class has fewer
  than :data:`CLASS_IMBALANCE_RATIO` times the rows of the largest; ``Passed`` otherwise. The
  engine turns ``Alerted`` into ``Done`` with :func:`mark_class_balancing_done` when it applies
  class weights.
* **Memory issues detection** — ``Alerted`` when the estimated size of the featurized training
  data exceeds :data:`MEMORY_ALERT_FRACTION` of the available memory (learners copy their input
  at least once, and folds are sliced from it); ``Passed`` otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cirrusml.featurize._profile import DataProfile, fill_rule
from cirrusml.spec import FeatureType, TaskType
from cirrusml.tasks import Task, as_task

__all__ = [
    "CLASS_IMBALANCE_RATIO",
    "MEMORY_ALERT_FRACTION",
    "Guardrail",
    "compute_guardrails",
    "mark_class_balancing_done",
    "render_guardrails",
]

PASSED, DONE, ALERTED = "Passed", "Done", "Alerted"

#: A class with fewer rows than this share of the largest class's rows makes the data imbalanced.
CLASS_IMBALANCE_RATIO = 0.2
#: The featurized training data should take at most this share of the available memory.
MEMORY_ALERT_FRACTION = 1 / 3
#: Rough non-zeros per row of one text column's TF-IDF features (word and character n-grams).
_TEXT_NNZ_PER_ROW = 120
#: Widest one-hot encoding of a column (kept equal to the featurizer's bound).
_ONE_HOT_WIDTH = 50

CLASS_BALANCING = "Class balancing detection"


@dataclass
class Guardrail:
    """One guardrail's outcome. ``details`` are rows of a small table (same keys per row)."""

    name: str
    status: str
    description: str
    details: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _split_guardrail(split: Mapping[str, Any], notices: Iterable[str]) -> Guardrail:
    kind = split.get("kind", "")
    n_folds = int(split.get("n_folds", 1) or 1)
    stratified = bool(split.get("stratified", False))
    technique = (f"{n_folds}-fold cross-validation" if kind == "cv"
                 else "a train/validation holdout" if kind == "holdout" else str(kind))
    description = f"Trials are validated with {technique}"
    description += " (stratified by class)." if stratified else "."
    if split.get("rule"):
        description += f" Rule: {split['rule']}."
    details = [{"kind": kind, "rule": split.get("rule", ""), "n_folds": n_folds,
                "stratified": stratified}]
    all_notices = dict.fromkeys([*(split.get("notices") or []), *notices])  # once each, in order
    details += [{"notice": n} for n in all_notices]
    return Guardrail("Validation split handling", DONE, description, details)


def _missing_guardrail(profile: DataProfile) -> Guardrail:
    off = profile.options.mode == "off"
    rows = []
    for name, col in profile.columns.items():
        if col.n_missing == 0:
            continue
        if col.purpose is FeatureType.ALL_NAN and not off:
            how = "column dropped (every value missing)"
        elif col.dropped and not off:
            continue
        else:
            how = "left as missing (featurization off)" if off else \
                fill_rule(name, col.purpose.value, profile.options) + f"; {name}_WASNULL added"
        rows.append({"column": name, "missing_values": col.n_missing,
                     "share": f"{col.n_missing / max(col.n_rows, 1):.1%}", "filled_with": how})
    if not rows:
        return Guardrail("Missing feature values imputation", PASSED,
                         "No missing feature values were found in the training data.")
    if off:
        return Guardrail("Missing feature values imputation", ALERTED,
                         f"{len(rows)} column(s) have missing values and featurization is off, "
                         "so they reach the learner as they are.", rows)
    return Guardrail("Missing feature values imputation", DONE,
                     f"Missing values in {len(rows)} column(s) are filled inside each training "
                     "fold; a <col>_WASNULL indicator marks where they were.", rows)


def _cardinality_action(name: str, profile: DataProfile) -> str:
    blocked = set(profile.options.blocked)
    chain = ["HashOneHotEncoder"] if name in profile.options.hash_bits else []
    chain += ["CatTargetEncoder", "HashOneHotEncoder", "LabelEncoder"]
    for option in chain:
        if option in blocked:
            continue
        if option == "CatTargetEncoder":
            return "target-encoded (CatTargetEncoder, cross-fitted)"
        if option == "HashOneHotEncoder":
            bits = profile.options.hash_bits.get(name, 10)
            return f"hashed into {2 ** bits:,} columns (HashOneHotEncoder)"
        return "label codes (LabelEncoder)"
    return "dropped (every encoder for it is blocked)"


def _cardinality_guardrail(profile: DataProfile) -> Guardrail:
    off = profile.options.mode == "off"
    rows = []
    for name, col in profile.columns.items():
        if col.purpose is FeatureType.HASHES:
            action = "kept as is (featurization off)" if off else "dropped (id-like)"
        elif col.purpose is FeatureType.CATEGORICAL_HASH:
            action = "kept as is (featurization off)" if off else _cardinality_action(name, profile)
        else:
            continue
        rows.append({"column": name, "distinct_values": col.n_unique, "type": col.purpose.value,
                     "action": action, "reason": col.reason})
    if not rows:
        return Guardrail("High cardinality feature detection", PASSED,
                         "No id-like or high-cardinality columns were found.")
    status = ALERTED if off else DONE
    return Guardrail("High cardinality feature detection", status,
                     f"{len(rows)} id-like or high-cardinality column(s) found"
                     + (" and left as they are (featurization off)." if off else "; see the action "
                        "taken for each."), rows)


def _class_guardrail(y: Any) -> Guardrail:
    counts = pd.Series(np.asarray(y)).value_counts()
    total = int(counts.sum())
    rows = [{"class": str(label), "count": int(n), "share": f"{n / max(total, 1):.1%}"}
            for label, n in counts.items()]
    rule = (f"alert when the smallest class has fewer than {CLASS_IMBALANCE_RATIO:.0%} of the "
            "rows of the largest")
    if len(counts) < 2:
        return Guardrail(CLASS_BALANCING, PASSED, f"Only one class in the target; {rule}.", rows)
    smallest, largest = counts.idxmin(), counts.idxmax()
    ratio = counts.min() / counts.max()
    if ratio < CLASS_IMBALANCE_RATIO:
        return Guardrail(
            CLASS_BALANCING, ALERTED,
            f"The classes are imbalanced: class '{smallest}' has {counts.min():,} rows, "
            f"{ratio:.1%} of the {counts.max():,} rows of class '{largest}' (rule: {rule}). "
            "Metrics such as accuracy can look good while the small class is missed; prefer "
            "AUC_weighted or balanced metrics, or let class weighting run.", rows)
    return Guardrail(CLASS_BALANCING, PASSED,
                     f"The classes are balanced enough: the smallest has {ratio:.1%} of the rows "
                     f"of the largest (rule: {rule}).", rows)


def _estimated_bytes(profile: DataProfile, n_classes: int) -> tuple[int, int]:
    """Rough size of the featurized training data: (dense bytes, sparse bytes)."""
    width = 0
    text_columns = 0
    for col in profile.columns.values():
        if col.dropped and profile.options.mode != "off":
            continue
        extra = 1 if col.n_missing else 0
        purpose = col.purpose
        if profile.options.mode == "off" or purpose is FeatureType.NUMERIC:
            width += 1
        elif purpose is FeatureType.DATE_TIME:
            width += 10 + extra
        elif purpose is FeatureType.CATEGORICAL:
            width += min(col.n_unique, _ONE_HOT_WIDTH) + extra
        elif purpose is FeatureType.CATEGORICAL_HASH:
            width += (n_classes if n_classes > 2 else 1) + extra
        elif purpose is FeatureType.TEXT:
            text_columns += 1
            width += extra
        if purpose is FeatureType.NUMERIC and profile.options.mode != "off":
            width += extra
    dense = profile.n_rows * width * 8
    sparse = profile.n_rows * text_columns * _TEXT_NNZ_PER_ROW * 8
    return dense, sparse


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TB"


def _memory_guardrail(profile: DataProfile, X: pd.DataFrame | None, n_classes: int,
                      available: int | None) -> Guardrail:
    dense, sparse = _estimated_bytes(profile, n_classes)
    estimate = dense + sparse
    raw = int(X.memory_usage(index=True, deep=False).sum()) if X is not None else 0
    row = {"rows": profile.n_rows, "raw_bytes": raw, "estimated_featurized_bytes": estimate,
           "available_bytes": available}
    size = f"The featurized training data is estimated at {_human(estimate)}"
    if available is None:
        return Guardrail("Memory issues detection", PASSED,
                         f"{size}; the available memory was not given, so it was not compared.",
                         [row])
    limit = available * MEMORY_ALERT_FRACTION
    if estimate > limit:
        return Guardrail(
            "Memory issues detection", ALERTED,
            f"{size}, more than {MEMORY_ALERT_FRACTION:.0%} of the {_human(available)} of "
            "available memory; trials may run out of memory. Sample the data, drop wide "
            "columns, or run on a machine or cluster with more memory.", [row])
    return Guardrail("Memory issues detection", PASSED,
                     f"{size}, within {MEMORY_ALERT_FRACTION:.0%} of the {_human(available)} of "
                     "available memory.", [row])


def compute_guardrails(
    profile: DataProfile,
    X: pd.DataFrame | None,
    y: Any,
    *,
    task: Task | TaskType | str,
    split_description: Mapping[str, Any],
    dropped_target_rows: int = 0,
    validation_notices: Iterable[str] = (),
    memory_bytes_available: int | None = None,
) -> list[Guardrail]:
    """Every guardrail for one job's training data.

    ``split_description`` is :meth:`cirrusml.tasks.SplitPlan.describe` (keys kind, rule,
    n_folds, stratified, notices); ``validation_notices`` are further notices about validation.
    ``task`` is the job's task (a :class:`~cirrusml.tasks.Task`, a ``TaskType`` or its name);
    the class balance is checked when ``y`` is given for a task whose models predict class
    probabilities.
    """
    probabilistic = as_task(task).probabilistic
    guardrails = [_split_guardrail(split_description, validation_notices)]
    if dropped_target_rows > 0:
        guardrails.append(Guardrail(
            "Missing target values", DONE,
            f"{dropped_target_rows:,} row(s) with a missing target value were removed before "
            "training.", [{"rows_removed": int(dropped_target_rows)}]))
    guardrails.append(_missing_guardrail(profile))
    guardrails.append(_cardinality_guardrail(profile))
    n_classes = 0
    if y is not None and probabilistic:
        guardrails.append(_class_guardrail(y))
        n_classes = int(pd.Series(np.asarray(y)).nunique())
    guardrails.append(_memory_guardrail(profile, X, n_classes, memory_bytes_available))
    return guardrails


def mark_class_balancing_done(guardrails: list[Guardrail],
                              detail: str | Mapping[str, Any]) -> list[Guardrail]:
    """Record that class balancing was applied: the class guardrail becomes ``Done``.

    ``detail`` says what was done (for example ``"class_weight='balanced' won the search"``).
    Returns ``guardrails`` (changed in place). Does nothing without a class guardrail.
    """
    for guardrail in guardrails:
        if guardrail.name == CLASS_BALANCING:
            guardrail.status = DONE
            row = dict(detail) if isinstance(detail, Mapping) else {"action": str(detail)}
            guardrail.details.append(row)
            text = row.get("action") or "; ".join(f"{k}: {v}" for k, v in row.items())
            guardrail.description += f" Class balancing was applied: {text}."
    return guardrails


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    return "" if value is None else str(value)


def _table(rows: list[dict[str, Any]], indent: str = "  ") -> list[str]:
    keys: list[str] = []
    for row in rows:
        keys += [k for k in row if k not in keys]
    cells = [[_cell(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]

    def line(values: list[str]) -> str:
        padded = (v.ljust(w) for v, w in zip(values, widths, strict=True))
        return (indent + "  ".join(padded)).rstrip()

    return [line(keys), line(["-" * w for w in widths])] + [line(c) for c in cells]


def render_guardrails(guardrails: list[Guardrail]) -> str:
    """The guardrails as plain text: a status table, then each one's description and details."""
    width = max((len(g.name) for g in guardrails), default=10)
    lines = ["DATA GUARDRAILS", ""]
    lines += [f"{'Guardrail'.ljust(width)}  Status", f"{'-' * width}  -------"]
    lines += [f"{g.name.ljust(width)}  {g.status}" for g in guardrails]
    for g in guardrails:
        lines += ["", f"{g.name} [{g.status.upper()}]", f"  {g.description}"]
        if g.details:
            lines += _table(g.details)
    return "\n".join(lines)
