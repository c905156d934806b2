"""Generated code for a job of the workspace (``ml_client.jobs.generate_code``).

Reads the job folder — ``job.yml`` (the job as submitted), ``record.json`` (its best trial) and
``trials/<index>.json`` (each trial's learner, hyperparameters and score) — and hands them to
:func:`cirrusml.codegen.generate_training_script`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cirrusml.codegen import ENSEMBLE_LEARNERS, generate_training_script
from cirrusml.exceptions import CirrusMLError
from cirrusml.spec import load_automl_job
from cirrusml.tracking import JobLayout

__all__ = ["generate_code", "read_trials"]


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CirrusMLError(f"{what} is missing ({path}).") from None
    except (OSError, ValueError) as err:
        raise CirrusMLError(f"{what} could not be read ({path}: {err}).") from None


def read_trials(job_folder: Path) -> dict[int, dict[str, Any]]:
    """Every trial record of a job folder, by index (ensembles included)."""
    out: dict[int, dict[str, Any]] = {}
    for index, path in JobLayout(Path(job_folder)).trial_files().items():
        info = _read_json(path, f"the record of trial {index}")
        out[int(info.get("index", index))] = info
    return dict(sorted(out.items()))


def _listing(trials: dict[int, dict[str, Any]]) -> str:
    if not trials:
        return "it has no trial records yet"
    shown = [f"{i} ({t.get('learner')}, {t.get('status')})" for i, t in trials.items()]
    return "its trials are " + ", ".join(shown)


def generate_code(job_folder: Path, trial: int | None = None) -> str:
    """The training script of ``trial`` (default: the job's best) of the job in ``job_folder``.

    Raises ``CirrusMLError`` naming the job and the trial when the trial does not exist or did
    not complete, listing the trials there are.
    """
    folder = Path(job_folder)
    layout = JobLayout(folder)
    name = folder.name
    job_file = layout.job_file
    if not job_file.is_file():
        raise CirrusMLError(f"job '{name}' has no job.yml in {folder}; is it a job folder?")
    job = load_automl_job(job_file)
    name = job.name or name
    trials = read_trials(folder)
    record_file = layout.record
    record = _read_json(record_file, f"the record of job '{name}'") \
        if record_file.is_file() else {}
    if record.get("training_mode") == "distributed":
        raise CirrusMLError(
            f"job '{name}' trained in training_mode: distributed, which generates no training "
            "code (as in Azure); run it with training_mode: non_distributed for a script.")
    if trial is None:
        best = record.get("best_iteration")
        if best is None:
            status = record.get("status", "unknown")
            raise CirrusMLError(
                f"job '{name}' has no best trial yet (status {status}); pass trial=<index> "
                f"to choose one; {_listing(trials)}."
            )
        trial = int(best)
    if isinstance(trial, bool) or not isinstance(trial, int):
        raise CirrusMLError(f"trial must be a trial index (a whole number), got {trial!r}.")
    if trial not in trials:
        raise CirrusMLError(f"job '{name}' has no trial {trial}; {_listing(trials)}.")
    info = trials[trial]
    if info.get("status") != "Completed":
        completed = [i for i, t in trials.items() if t.get("status") == "Completed"]
        error = f": {info['error']}" if info.get("error") else ""
        raise CirrusMLError(
            f"trial {trial} of job '{name}' did not complete ({info.get('status')}{error}); "
            "generated code covers completed trials: "
            f"{', '.join(map(str, completed)) or 'none'}."
        )
    members = None
    if info.get("learner") in ENSEMBLE_LEARNERS:
        members = [trials[i] for i in info.get("members") or [] if i in trials]
    return generate_training_script(job, info, job_name=name, members=members)
