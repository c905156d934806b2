"""The featurization summary: what happened to each raw column (Azure's "featurization summary").

One entry per raw column, in the data's order::

    {"raw_column": "job", "detected_type": "Categorical", "dropped": False,
     "transformations": ["ModeImputer", "OneHotEncoder"], "engineered_features": 12,
     "notes": []}

``notes`` says why a column was dropped, or which blocked transformer was replaced by what.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from cirrusml.exceptions import NotFittedError

__all__ = ["featurization_summary", "render_featurization_summary"]


def featurization_summary(featurizer: Any) -> list[dict[str, Any]]:
    """The summary of a fitted :class:`~cirrusml.featurize.AutoFeaturizer`."""
    if not hasattr(featurizer, "feature_map_"):
        raise NotFittedError("the featurizer is not fitted yet; call fit first.")
    counts = Counter(featurizer.feature_map_.values())
    return [
        {
            "raw_column": record["raw_column"],
            "detected_type": record["detected_type"],
            "dropped": bool(record["dropped"]),
            "transformations": list(record["transformations"]),
            "engineered_features": int(counts.get(record["raw_column"], 0)),
            "notes": list(record["notes"]),
        }
        for record in featurizer.columns_
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
              for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()

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
