"""Loading a CLI v2 job file of either kind: an AutoML job (:mod:`cirrusml.spec._yaml`) or a
pipeline job (:mod:`cirrusml.spec._pipeline_yaml`), chosen by its ``type``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cirrusml.exceptions import InvalidSpecError
from cirrusml.spec._job import AutoMLTabular
from cirrusml.spec._pipeline import PipelineJob
from cirrusml.spec._pipeline_yaml import pipeline_from_dict
from cirrusml.spec._yaml import apply_overrides, job_from_dict, read_yaml

__all__ = ["load_automl_job", "load_job"]


def load_job(
    source: str | Path,
    *,
    relative_origin: str | None = None,
    params_override: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> AutoMLTabular | PipelineJob:
    """Load a CLI v2 job file (``azure.ai.ml.load_job``): an AutoML job (``type: automl``)
    or a pipeline job (``type: pipeline``, a :class:`~cirrusml.spec.PipelineJob`).

    Relative paths resolve against the file's folder (or ``relative_origin``).
    ``params_override`` takes dotted keys, as ``--set`` does: ``[{"limits.max_trials": 5}]``,
    ``[{"jobs.train_node.limits.max_trials": 2}]``.
    """
    path = Path(source)
    data = read_yaml(path)
    if isinstance(data, dict):
        apply_overrides(data, params_override)
    base = Path(relative_origin) if relative_origin else path.resolve().parent
    if isinstance(data, dict) and data.get("type") == "pipeline":
        return pipeline_from_dict(data, base_path=base, source=str(source))
    return job_from_dict(data, base_path=base, source=str(source))


def load_automl_job(source: str | Path) -> AutoMLTabular:
    """Load a job file that must hold an AutoML job (``type: automl``): a job folder's
    ``job.yml``, which the client writes for AutoML jobs only."""
    job = load_job(source)
    if not isinstance(job, AutoMLTabular):
        raise InvalidSpecError(f"'{source}' holds a {job.type} job; an AutoML job "
                               "(type: automl) was expected here.")
    return job
