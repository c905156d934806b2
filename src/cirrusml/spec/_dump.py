"""Writing a job's YAML data out as a CLI v2 job file.

The lowest layer of the YAML side: it takes the plain data a job gives
(``AutoMLTabular._to_yaml_dict``) and knows nothing of job classes, so both the job model
(:mod:`cirrusml.spec._job`, for ``job.dump``) and the reader (:mod:`cirrusml.spec._yaml`) build
on it without importing each other back.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import yaml

from cirrusml.exceptions import CirrusMLError

__all__ = ["yaml_text", "write_yaml"]

#: Order of top-level keys when a job is written out.
ORDER: tuple[str, ...] = (
    "$schema", "type", "task", "name", "display_name", "description", "experiment_name",
    "compute", "tags", "properties", "log_verbosity", "primary_metric", "positive_label",
    "target_column_name", "weight_column_name", "training_data", "validation_data", "test_data",
    "validation_data_size", "test_data_size", "n_cross_validations", "cv_split_column_names",
    "seed", "limits", "training", "featurization", "forecasting", "outputs", "resources",
    "identity", "queue_settings", "environment_id", "environment_variables",
)


def yaml_text(data: dict[str, Any]) -> str:
    """``data`` as YAML, its top-level keys in :data:`ORDER` and any others after them."""
    rest = dict(data)
    ordered = {k: rest.pop(k) for k in ORDER if k in rest}
    ordered.update(rest)
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False, allow_unicode=True)


def write_yaml(data: dict[str, Any], dest: str | Path | IO[str]) -> None:
    """Write ``data`` as YAML (see :func:`yaml_text`) to a path or a text stream."""
    text = yaml_text(data)
    if isinstance(dest, (str, Path)):
        Path(dest).write_text(text, encoding="utf-8")
    elif hasattr(dest, "write"):
        dest.write(text)
    else:
        raise CirrusMLError(f"dump() takes a path or a text stream, got {type(dest).__name__}")
