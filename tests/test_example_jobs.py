"""Azure's example job files with custom featurization, run unchanged through the `cirrus` CLI.

The data stays in the shared folder; only the limits are lowered with ``--set``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SHARED = Path(__file__).resolve().parents[2] / "shared"
EXAMPLES = SHARED / "azure-examples"
BANK = EXAMPLES / "cli-automl-classification-task-bankmarketing" / \
    "cli-automl-classification-task-bankmarketing.yml"
HARDWARE = EXAMPLES / "cli-automl-regression-task-hardware-perf" / \
    "cli-automl-regression-task-hardware-perf.yml"
CIRRUS = str(Path(sys.executable).with_name("cirrus"))
AZURE_STATUSES = {"Passed", "Done", "Alerted", "Fixed"}
ENSEMBLES = {"VotingEnsemble", "StackEnsemble"}


def cirrus(*args: str, workspace: Path, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CIRRUS, *args, "--workspace", str(workspace)], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def _run_example(path: Path, workspace: Path, *settings: str) -> tuple[str, str]:
    """Create and stream the job; returns its name and what `cirrus job show` prints."""
    if not path.is_file():
        pytest.fail(f"the shared example is expected at {path}")
    args = [a for s in settings for a in ("--set", s)]
    result = cirrus("job", "create", "--file", str(path), *args, "--stream",
                    workspace=workspace)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    (name,) = [p.name for p in (workspace / "jobs").iterdir()]
    assert f"Job {name} Completed" in result.stdout
    assert _json(workspace, name, "record.json")["status"] == "Completed"
    shown = cirrus("job", "show", "-n", name, workspace=workspace)
    assert shown.returncode == 0, shown.stderr
    return name, shown.stdout


def _json(workspace: Path, name: str, file: str):
    return json.loads((workspace / "jobs" / name / file).read_text(encoding="utf-8"))


def _trial_learners(workspace: Path, name: str) -> list[str]:
    trials = sorted((workspace / "jobs" / name / "trials").glob("*.json"),
                    key=lambda p: int(p.stem))
    return [json.loads(p.read_text())["learner"] for p in trials]


def _status_table(shown: str) -> dict[str, str]:
    """The guardrail status table printed by `cirrus job show`: name → status."""
    table = shown.split("DATA GUARDRAILS", 1)[1].split("\n\n", 2)[1]
    rows = {}
    for line in table.splitlines()[2:]:  # after the header and its rule
        match = re.fullmatch(r"(\S.*?)\s{2,}(\w+)", line.strip())
        assert match, line
        rows[match.group(1)] = match.group(2)
    return rows


def _assert_guardrails_shown(workspace: Path, name: str, shown: str) -> dict[str, dict]:
    saved = {g["name"]: g for g in _json(workspace, name, "guardrails.json")}
    assert "Data guardrails" in shown
    table = _status_table(shown)
    assert table == {n: g["status"] for n, g in saved.items()}
    assert set(table.values()) <= AZURE_STATUSES
    for guardrail in saved.values():
        assert f"{guardrail['name']} [{guardrail['status'].upper()}]" in shown
    return saved


def test_bank_marketing_honours_its_custom_featurization(tmp_path):
    workspace = tmp_path / "ws"
    name, shown = _run_example(BANK, workspace, "limits.max_trials=2",
                               "limits.timeout_minutes=2")

    summary = {e["raw_column"]: e for e in _json(workspace, name, "featurization_summary.json")}
    assert "y" not in summary and len(summary) == 20
    assert summary["job"]["detected_type"] == "Categorical" and not summary["job"]["dropped"]
    assert summary["job"]["transformations"][0] == "ModeImputer"  # strategy: most_frequent
    assert not any("WordEmbedding" in t for e in summary.values() for t in e["transformations"])
    assert "Featurization summary (best model)" in shown
    assert re.search(r"\njob\s+Categorical\s+no\s+\d+\s+ModeImputer", shown)

    learners = _trial_learners(workspace, name)
    searched = [a for a in learners if a not in ENSEMBLES]
    assert len(searched) == 2
    assert set(searched) <= {"GradientBoosting", "LogisticRegression"}, learners
    record = _json(workspace, name, "record.json")
    assert record["best_algorithm"] in {"GradientBoosting", "LogisticRegression"} | ENSEMBLES

    guardrails = _assert_guardrails_shown(workspace, name, shown)
    split = guardrails["Validation split handling"]
    assert split["status"] == "Done"
    assert "validation_data was given" in split["description"]
    # about 11% of the rows say yes: imbalanced (Done if class weighting won the search)
    assert guardrails["Class balancing detection"]["status"] in {"Alerted", "Done"}
    assert guardrails["Missing feature values imputation"]["status"] == "Passed"
    assert re.search(r"Class balancing detection\s+(Alerted|Done)\n", shown)
    # test_data: the best model is scored on it, apart from validation
    assert "accuracy" in record["test_metrics"]
    assert re.search(r"test accuracy\s+0\.\d+", shown)
    # enable_model_explainability: true: the best model's importance is stored and shown
    importance = json.loads((workspace / "jobs" / name / "outputs" / "explanation"
                             / "global_importance.json").read_text())
    assert set(importance["raw_importance"]) <= set(summary) and importance["raw_importance"]
    assert "Feature importance" in shown


def test_hardware_performance_honours_its_custom_featurization(tmp_path):
    workspace = tmp_path / "ws"
    name, shown = _run_example(HARDWARE, workspace, "limits.max_trials=2")

    summary = {e["raw_column"]: e for e in _json(workspace, name, "featurization_summary.json")}
    assert "ERP" not in summary
    assert summary["CHMIN"]["detected_type"] == "Categorical"  # column_name_and_types
    assert not summary["CHMIN"]["dropped"]
    assert summary["ModelName"]["dropped"]
    assert summary["ModelName"]["detected_type"] == "Hashes"
    assert any("id-like" in n for n in summary["ModelName"]["notes"])
    for column in ("CACH", "PRP"):  # imputer strategy: most_frequent
        assert summary[column]["detected_type"] == "Numeric"
        assert summary[column]["transformations"][0] == "ModeImputer", summary[column]
    assert summary["MYCT"]["transformations"][0] == "MeanImputer"  # the default for numbers
    assert not any("LabelEncoder" in t for e in summary.values() for t in e["transformations"])
    assert re.search(r"\nCHMIN\s+Categorical\s+no", shown)
    assert re.search(r"\nModelName\s+Hashes\s+yes", shown)

    learners = _trial_learners(workspace, name)
    searched = [a for a in learners if a not in ENSEMBLES]
    assert len(searched) == 2
    assert set(searched) <= {"LightGBM", "XGBoostRegressor"}, learners

    guardrails = _assert_guardrails_shown(workspace, name, shown)
    split = guardrails["Validation split handling"]
    assert split["status"] == "Done" and split["details"][0]["n_folds"] == 5
    assert "n_cross_validations=5" in split["description"]
    cardinality = guardrails["High cardinality feature detection"]
    assert cardinality["status"] == "Done"
    assert [row["column"] for row in cardinality["details"]] == ["ModelName"]
    assert "Class balancing detection" not in guardrails  # regression
    assert re.search(r"High cardinality feature detection\s+Done\n", shown)
