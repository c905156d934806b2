"""Reading and writing CLI v2 job files (``type: automl`` and ``type: pipeline``).

Reading builds a job class of :mod:`cirrusml.spec._job`; writing goes through
:mod:`cirrusml.spec._dump`, which ``job.dump`` uses too, so the job model never imports this
module back. Pipeline files are read by :mod:`cirrusml.spec._pipeline_yaml`, which builds its
AutoML nodes with :func:`job_from_dict`.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import yaml

from cirrusml.data._io import Input
from cirrusml.exceptions import InvalidSpecError, NotSupportedYetError
from cirrusml.spec._dump import write_yaml, yaml_text
from cirrusml.spec._job import JOB_CLASSES, AutoMLTabular
from cirrusml.utils import suggestion

_DATA_KEYS = ("training_data", "validation_data", "test_data")
_REMOTE_PREFIXES = ("azureml:", "http://", "https://", "wasbs://", "abfss://", "adl://", "s3://",
                    "gs://", "${{")


def read_yaml(path: str | Path, what: str = "job file") -> Any:
    """Parse a YAML file, turning every failure into one sentence naming the file."""
    path = Path(path)
    if not path.exists():
        raise InvalidSpecError(f"{what} '{path}' does not exist; check the path.")
    if path.is_dir():
        raise InvalidSpecError(f"{what} '{path}' is a folder; pass the YAML file inside it.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InvalidSpecError(
            f"{what} '{path}' is not UTF-8 text (byte {err.start}); save it as UTF-8."
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise InvalidSpecError(
            f"{what} '{path}' is not valid YAML{where}: {problem}. Check the indentation and "
            "quoting there."
        ) from None


def apply_overrides(data: dict[str, Any], overrides: list[dict[str, Any]] | None) -> None:
    """Apply ``--set key.sub=value`` style overrides (dotted keys) to a parsed job, in place."""
    for override in overrides or []:
        for dotted, value in override.items():
            parts = str(dotted).split(".")
            node = data
            for part in parts[:-1]:
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
                if not isinstance(child, dict):
                    raise InvalidSpecError(
                        f"cannot set '{dotted}': '{part}' holds a value, not a mapping.",
                        field=dotted,
                    )
                node = child
            node[parts[-1]] = value


def _resolve_paths(data: dict[str, Any], base: Path) -> None:
    for key in _DATA_KEYS:
        entry = data.get(key)
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            entry["path"] = resolve_local_path(entry["path"], base)


def resolve_local_path(path: str, base: Path) -> str:
    """An absolute local path for ``path`` relative to ``base``; remote references unchanged.

    Azure's ``job.dump`` writes a local data path with an ``azureml:`` prefix
    (``azureml:/data/train``, ``azureml:./train``). Such a path means the local folder its
    author gave: the prefix is dropped when the rest is absolute, starts with ``./``, ``../`` or
    ``~``, or names something that exists under ``base``. Asset references
    (``azureml:name:version``, ``azureml:name@latest``) and ``azureml://`` URIs stay as written.
    """
    local = _local_azureml_path(path, base)
    if local is not None:
        path = local
    elif path.startswith(_REMOTE_PREFIXES):
        return path
    if path.startswith("file://"):
        path = path[len("file://"):]
    elif path.startswith("file:"):
        path = path[len("file:"):]
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = base / candidate
    return str(candidate.resolve())


def _local_azureml_path(path: str, base: Path) -> str | None:
    """The local path inside an ``azureml:`` reference written by Azure's SDK, else ``None``."""
    if not path.startswith("azureml:") or path.startswith("azureml://"):
        return None
    rest = path[len("azureml:"):]
    if not rest:
        return None
    if rest.startswith(("/", "./", "../", "~")) or rest in (".", ".."):
        return rest
    if ":" in rest or "@" in rest:
        return None  # azureml:name:version, azureml:name@label
    return rest if (base / rest).exists() else None


def job_from_dict(
    data: Any, *, base_path: str | Path = ".", source: str | None = None,
    pipeline_node: bool = False,
) -> AutoMLTabular:
    """Build an AutoML job from parsed YAML (relative data paths resolve against ``base_path``).

    ``pipeline_node``: the job is a node of a pipeline, so its data may be bindings
    (``${{parent.inputs.x}}``, ``${{parent.jobs.n.outputs.y}}``).
    """
    if not isinstance(data, dict):
        raise InvalidSpecError(
            f"a job file must be a YAML mapping (key: value lines), got {type(data).__name__}.",
            source=source,
        )
    kind = data.get("type")
    if kind is None:
        raise InvalidSpecError("is required; AutoML job files start with 'type: automl'.",
                               field="type", source=source)
    if kind == "pipeline" and not pipeline_node:
        raise InvalidSpecError(
            "is pipeline; read pipeline files with load_job (or pipeline_from_dict), which "
            "returns a PipelineJob.", field="type", source=source)
    if kind != "automl":
        raise NotSupportedYetError(
            f"{source or 'this file'}: jobs of type '{kind}' are not supported; cirrusml runs "
            "AutoML jobs (type: automl) and pipeline jobs (type: pipeline)."
        )
    task = data.get("task")
    if task is None:
        raise InvalidSpecError("is required: classification, regression or forecasting.",
                               field="task", source=source)
    cls = JOB_CLASSES.get(str(task).lower())
    if cls is None:
        raise InvalidSpecError(
            f"'{task}' is not a task; use classification, regression or forecasting."
            + suggestion(str(task), JOB_CLASSES),
            field="task", source=source,
        )
    data = dict(data)
    data.setdefault("primary_metric", cls._yaml_default_metric)
    _resolve_paths(data, Path(base_path))
    try:
        job = cls(**data)
        if pipeline_node:
            job._as_pipeline_node()
        job.validate_spec()
    except InvalidSpecError as err:
        raise (err.with_source(source) if source else err) from None
    return job


def job_to_yaml_text(job: AutoMLTabular) -> str:
    """``job`` as the text of a CLI v2 job file."""
    return yaml_text(job._to_yaml_dict())


def dump_job(job: AutoMLTabular, dest: str | Path | IO[str]) -> None:
    """Write ``job`` as YAML to a path or a text stream."""
    write_yaml(job._to_yaml_dict(), dest)


__all__ = ["Input", "apply_overrides", "dump_job", "job_from_dict", "read_yaml",
           "resolve_local_path"]
