"""The training script of one trial: a readable Python file that rebuilds the trial's model.

Azure ML offers "generated code" for a trial: a ``script.py`` that trains the same model again.
:func:`generate_training_script` writes ours from the job as submitted and the trial's record
(``trials/<index>.json``). The script reads the same data, drops the same rows, makes the same
test split and validation folds with the same seed, builds the featurizer and the learner the
way the engine does, prints the primary metric (the mean over the folds, which equals the score
the job recorded), and saves the final model with MLflow.

Nothing here branches on the task or knows a learner: the script rebuilds every estimator as the
engine does (``get_learner(name, task).build(...)``), the template's probability-or-value code
paths follow :attr:`Task.probabilistic <cirrusml.tasks.Task.probabilistic>`, and the saved
model pins cirrusml's own dependencies plus every learner's
:attr:`~cirrusml.models.Learner.runtime_packages`.

The script uses cirrusml's public pieces (``mltable``, ``featurize``, ``models``, ``tasks``,
``metrics``, ``spec``; ``ensemble`` for ensembles) and nothing of the engine or the
workspace, so it runs anywhere cirrusml is installed. Every value in it is a Python literal:
floats are written with ``repr``, which round-trips exactly.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from cirrusml._version import __version__
from cirrusml.data import Input
from cirrusml.ensemble import DEFAULT_TRAIN_PERCENTAGE
from cirrusml.exceptions import CirrusMLError, NotSupportedYetError
from cirrusml.models import LEARNERS, get_learner
from cirrusml.spec import AutoMLTabular, resolved_limits
from cirrusml.tasks import task_for

__all__ = ["ENSEMBLE_LEARNERS", "generate_training_script", "py_literal"]

#: Learner names of the ensembles a job may end with.
ENSEMBLE_LEARNERS = ("VotingEnsemble", "StackEnsemble")
_TEMPLATE = "train.py.j2"
_FORECAST_TEMPLATE = "train_forecast.py.j2"
_WIDTH = 99  # the line length the scripts aim for
_DATA_FIELDS = ("training_data", "validation_data", "test_data")
#: What a saved model needs besides its learners' own libraries (and cloudpickle, which saves it).
_BASE_PACKAGES = ("cirrusml", "scikit-learn", "pandas", "numpy", "scipy")


def runtime_packages() -> tuple[str, ...]:
    """The distributions a generated script pins in the saved model's requirements."""
    packages = list(_BASE_PACKAGES)
    for learner in LEARNERS:
        packages += [p for p in learner.runtime_packages if p not in packages]
    return (*packages, "cloudpickle")


# -------------------------------------------------------------------------- Python literals


def _inline(value: Any) -> str:
    """``value`` as one line of Python source that evaluates back to an equal value."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes, list, tuple, dict)):
        value = value.item()  # a numpy scalar
        if isinstance(value, bool):
            return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(value)  # shortest text that reads back as the same float
    if isinstance(value, str):
        return json.dumps(value)  # double quotes; every JSON escape is a Python escape too
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_inline(k)}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        inner = ", ".join(_inline(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, (list, Sequence)) and not isinstance(value, bytes):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    raise CirrusMLError(
        f"cannot write {value!r} (a {type(value).__name__}) as a Python literal in the "
        "generated script."
    )


def py_literal(value: Any, *, prefix: int = 0, indent: int = 0) -> str:
    """``value`` as Python source; dicts and lists too long for one line get one item a line.

    ``prefix`` is how many characters precede the literal on its first line (``NAME = ``);
    ``indent`` is the indentation of the statement, which continuation lines add 4 to.
    """
    flat = _inline(value)
    if (prefix + len(flat) <= _WIDTH or not isinstance(value, (Mapping, list, tuple))
            or not value):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, Mapping):
        items = []
        for k, v in value.items():
            key = f"{pad}{_inline(k)}: "
            items.append(key + py_literal(v, prefix=len(key) + 1, indent=indent + 4) + ",")
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + py_literal(v, prefix=len(pad) + 1, indent=indent + 4) + "," for v in value]
    open_, close = ("(", ")") if isinstance(value, tuple) else ("[", "]")
    return open_ + "\n" + "\n".join(items) + "\n" + " " * indent + close


def _call(name: str, kwargs: Mapping[str, Any], *, prefix: int = 0) -> str:
    """``name(key=value, ...)`` as source, one argument a line when long."""
    if not all(isinstance(k, str) and k.isidentifier() for k in kwargs):
        return f"{name}(**{py_literal(kwargs, prefix=prefix + len(name) + 3)})"
    flat = f"{name}(" + ", ".join(f"{k}={_inline(v)}" for k, v in kwargs.items()) + ")"
    if prefix + len(flat) <= _WIDTH:
        return flat
    lines = [f"    {k}={py_literal(v, prefix=len(k) + 5, indent=4)}," for k, v in kwargs.items()]
    return f"{name}(\n" + "\n".join(lines) + "\n)"


def _text(value: Any) -> str:
    """Text safe inside a comment or a docstring: one line, no backslashes or triple quotes."""
    text = re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", str(value))
    return text.replace("\\", "/").replace('"""', "'''")


# ------------------------------------------------------------------------------ data inputs


def _kind(value: Input) -> str:
    return str(getattr(value.type, "value", value.type))


def _input(field_name: str, value: Any, needs: dict[str, bool]) -> dict[str, Any]:
    """How the script reads one data input: its path constant, a description, its reader."""
    if isinstance(value, pd.DataFrame):
        raise CirrusMLError(
            f"{field_name} is an in-memory DataFrame; generated code reads data from files. "
            "Save it as CSV or Parquet and submit the job with Input(type='uri_file', path=...)."
        )
    if isinstance(value, str) or not hasattr(value, "path") or value.path is None:
        raise CirrusMLError(
            f"{field_name} is {value!r}, not a data file; generated code needs a job whose data "
            "are local files (pipeline bindings are resolved only when the pipeline runs)."
        )
    kind, path = _kind(value), str(value.path)
    const = field_name.upper()
    entry = {"field": field_name, "const": const, "kind": kind, "path_src": py_literal(path)}
    lower = path.lower()
    compressed = lower.endswith(".gz")
    stem = lower[:-3] if compressed else lower
    is_mltable_file = Path(path).name == "MLTable"
    folder_table = kind == "uri_folder" and (Path(path) / "MLTable").is_file()
    if kind == "mltable" or is_mltable_file or folder_table:
        needs["mltable"] = True
        what = "an MLTable file" if is_mltable_file else "an MLTable folder"
        return {**entry, "description_text": what, "lines": [
            "# The MLTable file lists the data files and how to read them.",
            f"frame = mltable.load({const}).to_pandas_dataframe()"]}
    if kind == "uri_file" and stem.endswith((".csv", ".txt", ".tsv")):
        sep = "\\t" if stem.endswith(".tsv") else ","
        return {**entry, "description_text": "a delimited text file", "lines": [
            "# Read as the job reads it: the header names the columns; empty fields and the",
            "# usual markers (NA, NaN, null, ...) are missing values; a BOM is skipped.",
            f'frame = pd.read_csv({const}, sep="{sep}", encoding="utf-8-sig", index_col=False,',
            "                    low_memory=False)"]}
    if kind == "uri_file" and stem.endswith((".parquet", ".pq")) and not compressed:
        needs["pyarrow"] = needs["re"] = True
        return {**entry, "description_text": "a Parquet file", "lines": [
            "# Read as the job reads it: the stored columns, without pandas' saved index.",
            f"frame = pq.read_table({const}).to_pandas(ignore_metadata=True)",
            "frame = frame.drop(columns=[c for c in frame.columns",
            '                            if re.match(r"^__index_level_\\d+__$", str(c))])']}
    needs["read_input"] = True
    what = "a folder of data files" if kind == "uri_folder" else "a data file"
    return {**entry, "description_text": f"{what} ({kind})", "lines": [
        "# cirrusml's reader for Azure's data input types (JSON lines, folders of files).",
        f"frame = read_input({py_literal(kind)}, {const})"]}


# ------------------------------------------------------------------------------------ trials


def _check_trial(trial: Mapping[str, Any], job_name: str) -> None:
    index = trial.get("index")
    status = trial.get("status")
    if status != "Completed":
        error = trial.get("error")
        why = f" ({error})" if error else ""
        raise CirrusMLError(
            f"trial {index} of job '{job_name}' did not complete (status {status}){why}; "
            "generated code covers completed trials."
        )
    if trial.get("score") is None:
        raise CirrusMLError(f"trial {index} of job '{job_name}' has no recorded score.")


def _members(trial: Mapping[str, Any], members: Sequence[Mapping[str, Any]] | None,
             job_name: str) -> list[dict[str, Any]]:
    """The ensemble's members as the script lists them (in the record's order: a StackEnsemble's
    meta-learner reads their predictions in that order)."""
    index, learner = trial.get("index"), trial.get("learner")
    member_ids = list(trial.get("members") or [])
    weights = list(trial.get("weights") or [])
    if not member_ids or len(member_ids) != len(weights):
        raise CirrusMLError(
            f"trial {index} of job '{job_name}' ({learner}) does not list its members and "
            "their weights."
        )
    by_index = {int(m["index"]): m for m in members or []}
    missing = [i for i in member_ids if int(i) not in by_index]
    if missing:
        raise CirrusMLError(
            f"the records of trial(s) {', '.join(map(str, missing))}, members of the "
            f"{learner} (trial {index}) of job '{job_name}', were not given."
        )
    out = []
    for member_id, weight in zip(member_ids, weights):
        member = by_index[int(member_id)]
        if member.get("learner") in ENSEMBLE_LEARNERS:
            raise CirrusMLError(f"trial {member_id}, a member of trial {index}, is an ensemble.")
        out.append({"trial": int(member_id), "learner": member["learner"],
                    "params": dict(member.get("params") or {}),
                    "class_weight": member.get("class_weight"), "weight": float(weight)})
    return out


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cirrusml.codegen", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )


def generate_training_script(job: AutoMLTabular, trial: Mapping[str, Any], *, job_name: str,
                             members: Sequence[Mapping[str, Any]] | None = None) -> str:
    """A standalone Python script that rebuilds ``trial`` of ``job`` and saves its model.

    Parameters
    ----------
    job
        The job as submitted (``job.yml`` of its folder, loaded with ``load_job``), with its data
        paths as the job read them.
    trial
        The trial's record (``trials/<index>.json``): ``index``, ``learner``, ``params``,
        ``class_weight``, ``seed``, ``status``, ``score``; for a VotingEnsemble or a
        StackEnsemble ``members`` and ``weights`` instead of ``params``.
    job_name
        The job's name, for the script's comments and the saved model's metadata.
    members
        For an ensemble: the records of its member trials.

    Raises
    ------
    CirrusMLError
        For a trial that did not complete, a forecasting job, or data the script cannot read (an
        in-memory DataFrame).
    """
    task = job.task_type
    kind = task_for(task)
    _check_trial(trial, job_name)
    index = int(trial["index"])
    learner = str(trial["learner"])
    ensemble = learner in ENSEMBLE_LEARNERS
    member_list = _members(trial, members, job_name) if ensemble else []
    names = [str(m["learner"]) for m in member_list] if ensemble else [learner]
    # Forecasters build their own features from the series' history: their script fits them
    # on raw rows put on the time grid, with no featurizer in front.
    forecaster = all(get_learner(name, task).featurizes_itself for name in names)
    if forecaster and learner == "StackEnsemble":
        raise NotSupportedYetError(
            f"trial {index} of job '{job_name}' is a StackEnsemble of forecasters; generated "
            "code covers single forecasters and VotingEnsembles of them.")

    needs = {"mltable": False, "read_input": False, "pyarrow": False, "re": False}
    inputs = []
    for field_name in _DATA_FIELDS:
        value = getattr(job, field_name)
        if value is None:
            continue
        inputs.append(_input(field_name, value, needs))
    if not inputs or inputs[0]["field"] != "training_data":
        raise CirrusMLError(f"job '{job_name}' has no training_data.")
    test_kind = "data" if job.test_data is not None else ("size" if job.test_data_size else "")
    if test_kind != "data":
        inputs = [i for i in inputs if i["field"] != "test_data"]

    limits = resolved_limits(job.limits)
    seed = trial.get("seed")
    if seed is None:
        seed = 0 if job.seed is None else job.seed
    featurization = job.featurization._to_yaml_dict() if job.featurization is not None else None
    probabilistic = kind.probabilistic
    if ensemble:
        listed = ", ".join(str(m["trial"]) for m in member_list)
        what = f"trial {index}, a {learner} of trials {listed}"
    else:
        what = f"trial {index} ({learner})"
    n_cv = job.n_cross_validations
    settings = job.training.stack_ensemble_settings if job.training is not None else None
    meta_type = (settings.stack_meta_learner_type.value
                 if settings and settings.stack_meta_learner_type else None)
    meta_kwargs = dict(settings.stack_meta_learner_kwargs or {}) if settings else {}
    train_percentage = (settings.stack_meta_learner_train_percentage
                        if settings and settings.stack_meta_learner_train_percentage
                        else DEFAULT_TRAIN_PERCENTAGE)
    context = {
        "what_text": _text(what),
        "job_text": _text(job_name),
        "version_text": _text(__version__),
        "metric_text": _text(trial.get("metric") or job.primary_metric_name),
        "score_text": _text(repr(float(trial["score"]))),
        "script_name_text": "script.py",
        "ensemble": ensemble,
        "ensemble_kind": learner,
        "stack": learner == "StackEnsemble",
        "ensemble_class": (("Stack" if learner == "StackEnsemble" else "Voting")
                           + ("ClassifierEnsemble" if probabilistic else "RegressorEnsemble")),
        "meta_type_src": py_literal(meta_type),
        "meta_kwargs_src": py_literal(meta_kwargs, prefix=len("META_LEARNER_KWARGS = ")),
        "train_percentage_src": py_literal(float(train_percentage)),
        "probabilistic": probabilistic,
        "task_name_text": _text(kind.name),
        "metrics_function": "classification_metrics" if probabilistic else "regression_metrics",
        "runtime_packages_src": py_literal(runtime_packages(), prefix=len("RUNTIME_PACKAGES = ")),
        "needs": needs,
        "inputs": inputs,
        "test_kind": test_kind,
        "has_validation_data": job.validation_data is not None,
        "cv_columns": list(job.cv_split_column_names or []),
        "task_src": py_literal(task.yaml),
        "metric_src": py_literal(job.primary_metric_name),
        "target_src": py_literal(job.target_column_name),
        "weight_src": py_literal(job.weight_column_name),
        "cv_columns_src": py_literal(list(job.cv_split_column_names or [])),
        "n_cross_validations_src": py_literal(n_cv),
        "validation_data_size_src": py_literal(job.validation_data_size),
        "test_data_size_src": py_literal(job.test_data_size),
        "positive_label_src": py_literal(getattr(job, "positive_label", None)),
        "seed_src": py_literal(int(seed)),
        "featurization_src": ("None" if featurization is None else
                              _call("TabularFeaturizationSettings", featurization,
                                    prefix=len("FEATURIZATION = "))),
        "members_src": py_literal(member_list, prefix=len("MEMBERS: list[dict[str, Any]] = ")),
        "learner_src": py_literal(learner),
        "params_src": py_literal(dict(trial.get("params") or {}),
                                 prefix=len("PARAMS: dict[str, Any] = ")),
        "class_weight_src": py_literal(trial.get("class_weight")),
        "score_src": py_literal(float(trial["score"])),
        "max_concurrent_src": py_literal(limits.max_concurrent_trials),
        "max_cores_src": py_literal(limits.max_cores_per_trial),
        "job_src": py_literal(job_name),
        "index_src": py_literal(index),
        "algorithm_src": py_literal(learner),
    }
    settings = getattr(job, "forecasting_settings", None)
    context["forecasting_src"] = py_literal(
        settings._to_yaml_dict() if settings is not None else {},
        prefix=len("FORECASTING: dict[str, Any] = "))
    template = _FORECAST_TEMPLATE if forecaster else _TEMPLATE
    script = _environment().get_template(template).render(**context)
    compile(script, f"<generated script for trial {index}>", "exec")  # a template bug fails here
    return script
