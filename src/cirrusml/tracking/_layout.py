"""Every file of a job folder, named once.

The engine writes these files (through :class:`~cirrusml.tracking.JobRecorder`), the client, the
CLI and later the studio and serving read them (through :class:`~cirrusml.tracking.JobStore`);
nobody else spells a file name of a job folder. ``jobs/<name>/`` holds::

    job.yml                                   the job as submitted (data paths made absolute)
    batch.json                                a batch scoring job's settings (instead of job.yml)
    plan.json                                 a pipeline job's plan (instead of job.yml)
    node.json                                 a command node as it ran: command line, inputs,
                                              outputs, environment (instead of job.yml)
    code/                                     a command node's working copy of its code folder
    record.json                               the job's record (:class:`JobRecord`)
    record.lock                               held while the record is read-modified-written
    log.txt                                   the runner's log (what ``jobs.stream`` prints)
    events.jsonl                              progress events (phases, trials) for live displays
    inputs/<field>.parquet                    in-memory DataFrames saved at submission
    work/data.pkl                             the prepared data the trial workers read
    trials/<index>.json                       one trial or ensemble: learner, parameters, score
    trials/<index>.model.pkl                  that trial's fitted model (the best ones only)
    trials/<index>.oof.npz                    beside it: its validation predictions and rows
    guardrails.json                           Azure's data guardrails
    featurization_summary.json                how the best model featurizes each raw column
    outputs/best_model/                       the ``best_model`` output (an MLflow model)
    outputs/explanation/global_importance.json  the best model's global importance
    outputs/explanation/background.pkl        rows that per-row explanations compare against
    outputs/onnx_model/model.onnx             the ONNX export (ONNX-compatible jobs)
    outputs/score/<output_file_name>          a batch scoring job's predictions (``score``)
    outputs/<name>/                           a command node's output ``<name>``

Every folder under ``outputs/`` is a named output of the job (``jobs.download(output_name=)``).

:class:`RunArtifacts` names the artifact paths of the job's MLflow runs in the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["JobLayout", "RunArtifacts"]


class RunArtifacts:
    """Artifact paths inside the job's MLflow runs (the parent run and its child runs)."""

    #: The best child run's MLflow model (Azure's place for it).
    MLFLOW_MODEL = "outputs/mlflow-model"
    #: Where the best child run keeps the ONNX export (``outputs/model.onnx``).
    ONNX_FOLDER = "outputs"
    GUARDRAILS = "outputs/guardrails.json"
    FEATURIZATION_SUMMARY = "outputs/featurization_summary.json"
    VALIDATION_PLAN = "outputs/validation_plan.json"
    COLUMN_PROFILE = "outputs/column_profile.json"
    TEST_METRICS = "outputs/test_metrics.json"
    #: Chart data of the best model (``validation.json`` on the best child run, ``test.json``
    #: on the parent run).
    CHARTS = "outputs/charts"
    GLOBAL_IMPORTANCE = "outputs/explanation/global_importance.json"
    #: A failed trial's error and traceback.
    TRIAL_ERROR = "outputs/error.json"


@dataclass(frozen=True)
class JobLayout:
    """The paths of one job folder. Pure: building one touches nothing on disk."""

    root: Path

    @property
    def name(self) -> str:
        return self.root.name

    # ------------------------------------------------------------------------ bookkeeping

    @property
    def job_file(self) -> Path:
        return self.root / "job.yml"

    @property
    def batch_settings(self) -> Path:
        """A batch scoring job's settings (:class:`~cirrusml.tracking.BatchJobSettings`)."""
        return self.root / "batch.json"

    @property
    def plan(self) -> Path:
        """A pipeline job's plan (the JSON form of its nodes, bindings and settings)."""
        return self.root / "plan.json"

    @property
    def node_spec(self) -> Path:
        """A command node as it ran: its command line, resolved inputs, outputs, environment."""
        return self.root / "node.json"

    @property
    def code_dir(self) -> Path:
        """A command node's working copy of its code folder (where its command runs)."""
        return self.root / "code"

    @property
    def record(self) -> Path:
        return self.root / "record.json"

    @property
    def record_lock(self) -> Path:
        return self.root / "record.lock"

    @property
    def log(self) -> Path:
        return self.root / "log.txt"

    @property
    def events(self) -> Path:
        return self.root / "events.jsonl"

    # ----------------------------------------------------------------------------- inputs

    @property
    def inputs_dir(self) -> Path:
        return self.root / "inputs"

    def input_frame(self, field_name: str) -> Path:
        """Where an in-memory DataFrame given as ``field_name`` is saved at submission."""
        return self.inputs_dir / f"{field_name}.parquet"

    @property
    def work_dir(self) -> Path:
        return self.root / "work"

    @property
    def worker_data(self) -> Path:
        """The prepared data (features, target, folds) every trial worker loads."""
        return self.work_dir / "data.pkl"

    # ----------------------------------------------------------------------------- trials

    @property
    def trials_dir(self) -> Path:
        return self.root / "trials"

    def trial(self, index: int) -> Path:
        """``trials/<index>.json``: what it takes to rebuild trial ``index``."""
        return self.trials_dir / f"{index}.json"

    def trial_model(self, index: int) -> Path:
        """``trials/<index>.model.pkl``: trial ``index``'s fitted model (joblib)."""
        return self.trials_dir / f"{index}.model.pkl"

    def trial_predictions(self, index: int) -> Path:
        """``trials/<index>.oof.npz``: trial ``index``'s validation predictions and their rows
        (``predictions``, ``rows``), kept with its model so a resumed job can ensemble it."""
        return self.trials_dir / f"{index}.oof.npz"

    def trial_files(self) -> dict[int, Path]:
        """The trial records present, by index, in index order."""
        if not self.trials_dir.is_dir():
            return {}
        found = {int(p.stem): p for p in self.trials_dir.glob("*.json") if p.stem.isdigit()}
        return dict(sorted(found.items()))

    # ---------------------------------------------------------------------------- reports

    @property
    def guardrails(self) -> Path:
        return self.root / "guardrails.json"

    @property
    def featurization_summary(self) -> Path:
        return self.root / "featurization_summary.json"

    def charts(self, kind: str) -> Path:
        """``charts/<kind>.json``: the best model's chart data on the ``validation`` rows (its
        out-of-fold or validation predictions) or on the ``test`` rows."""
        return self.root / "charts" / f"{kind}.json"

    # ---------------------------------------------------------------------------- outputs

    @property
    def outputs_dir(self) -> Path:
        return self.root / "outputs"

    @property
    def best_model(self) -> Path:
        return self.outputs_dir / "best_model"

    @property
    def best_model_pickle(self) -> Path:
        """The pickled model inside the MLflow model (what the final steps' workers load)."""
        return self.best_model / "model.pkl"

    @property
    def best_model_file(self) -> Path:
        """The best model's ``MLmodel`` file: present once the model is saved."""
        return self.best_model / "MLmodel"

    @property
    def explanation_dir(self) -> Path:
        return self.outputs_dir / "explanation"

    @property
    def global_importance(self) -> Path:
        return self.explanation_dir / "global_importance.json"

    @property
    def explanation_background(self) -> Path:
        return self.explanation_dir / "background.pkl"

    @property
    def onnx_dir(self) -> Path:
        return self.outputs_dir / "onnx_model"

    @property
    def onnx_model(self) -> Path:
        return self.onnx_dir / "model.onnx"

    @property
    def score_dir(self) -> Path:
        """A batch scoring job's ``score`` output (Azure's name): the predictions file."""
        return self.outputs_dir / "score"

    def output(self, name: str) -> Path:
        """``outputs/<name>``: the folder of named output ``name``."""
        return self.outputs_dir / name

    def named_outputs(self) -> dict[str, Path]:
        """The job's named outputs that hold something, by name."""
        if not self.outputs_dir.is_dir():
            return {}
        return {p.name: p for p in sorted(self.outputs_dir.iterdir())
                if p.is_dir() and any(p.iterdir())}
