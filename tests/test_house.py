"""The house rules of ARCHITECTURE.md, checked: the code type-checks, imports point one way,
and no glue code branches on the task."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK_HOUSE = ROOT.parent / "shared" / "tools" / "check-house"


def test_mypy_is_clean_on_src():
    # The configuration ([tool.mypy] in pyproject.toml) is strict for the typed spine.
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]


@pytest.mark.skipif(not CHECK_HOUSE.exists(), reason="../shared/tools/check-house is not beside "
                    "this checkout (it is in CI and on every developer machine)")
def test_no_import_cycle_and_no_task_branch_in_the_glue():
    result = subprocess.run(["bash", str(CHECK_HOUSE)], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    found = re.search(r"per-task branches in the glue: (\d+); import cycles: (\d+)",
                      result.stdout)
    assert found, result.stdout + result.stderr
    assert (int(found.group(1)), int(found.group(2))) == (0, 0), result.stdout
