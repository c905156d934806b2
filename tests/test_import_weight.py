"""What ``import cirrusml`` costs a user's process: the client API without the learners.

A notebook or script that only builds and submits jobs (the job runs in its own process)
should not pay for scikit-learn and SciPy: about 70 MB and a third of a second each time.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sklearn", "scipy", "mlflow", "optuna", "lightgbm", "xgboost", "shap")


def test_the_client_api_imports_no_learner_or_tracking_library() -> None:
    code = ("import sys\n"
            "import cirrusml\n"
            "from cirrusml import Input, MLClient, automl, load_job\n"
            "job = automl.classification(training_data=Input(type='mltable', path='./d'),\n"
            "                            target_column_name='y', primary_metric='accuracy')\n"
            "job.set_limits(timeout_minutes=1)\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
