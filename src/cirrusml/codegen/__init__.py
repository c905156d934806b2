"""Generated code (L2): a readable training script for any trial of a job.

:func:`generate_training_script` turns a job as submitted and one trial's record into a
standalone Python script that reads the same data, validates the same way, prints the trial's
primary metric and saves the model with MLflow, as Azure ML's "generated code" does.
"""

from __future__ import annotations

from cirrusml.codegen._generate import ENSEMBLE_LEARNERS, generate_training_script, py_literal

__all__ = ["ENSEMBLE_LEARNERS", "generate_training_script", "py_literal"]
