"""The featurization summary: what happened to each raw column (Azure's "featurization summary").

One entry per raw column, in the data's order::

    {"raw_column": "job", "detected_type": "Categorical", "dropped": False,
     "transformations": ["ModeImputer", "OneHotEncoder"], "engineered_features": 12,
     "notes": []}

``notes`` says why a column was dropped, or which blocked transformer was replaced by what.
The summary is derived from the featurizer's fitted :class:`~cirrusml.featurize.FeaturizationPlan`
and nothing else, so the two cannot disagree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cirrusml.exceptions import NotFittedError

if TYPE_CHECKING:
    from cirrusml.featurize._plan import FeaturizationPlan

__all__ = ["featurization_summary", "render_featurization_summary", "summarize_plan"]


def summarize_plan(plan: FeaturizationPlan, feature_map: Mapping[str, str]) -> list[dict[str, Any]]:
    """The summary of a fitted plan; ``feature_map`` maps each engineered name to its raw column."""
    counts = Counter(feature_map.values())
    return [
        {
            "raw_column": column.name,
            "detected_type": column.purpose,
            "dropped": column.dropped,
            "transformations": column.transformations(),
            "engineered_features": int(counts.get(column.name, 0)),
            "notes": list(column.notes),
        }
        for column in plan.columns
    ]


def featurization_summary(featurizer: Any) -> list[dict[str, Any]]:
    """The summary of a fitted :class:`~cirrusml.featurize.AutoFeaturizer` or
    :class:`~cirrusml.featurize.OnnxCompatibleFeaturizer`: its fitted plan."""
    if not hasattr(featurizer, "feature_map_"):
        raise NotFittedError("the featurizer is not fitted yet; call fit first.")
    return summarize_plan(featurizer.plan_, featurizer.feature_map_)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
              for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths])] + [line(r) for r in rows]


def render_featurization_summary(summary: list[dict[str, Any]],
                                 notes: list[str] | None = None) -> str:
    """The summary as a plain-text table (for the CLI and logs)."""
    rows = [
        [
            str(entry["raw_column"]),
            str(entry["detected_type"]),
            "yes" if entry["dropped"] else "no",
            str(entry["engineered_features"]),
            ", ".join(entry["transformations"]) or "-",
        ]
        for entry in summary
    ]
    lines = _table(["Raw column", "Type detected", "Dropped", "Features", "Transformations"], rows)
    remarks = [f"- {e['raw_column']}: {n}" for e in summary for n in e.get("notes", [])]
    remarks += [f"- {n}" for n in notes or []]
    if remarks:
        lines += ["", "Notes:"] + remarks
    return "\n".join(lines)
