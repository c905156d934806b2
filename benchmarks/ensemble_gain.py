"""Do the ensembles beat the best single trial? Read from the benchmark's job logs.

    .venv/bin/python benchmarks/ensemble_gain.py benchmarks/results/cirrusml-dev-b60.jsonl.logs

Each cirrusml log in the folder holds the job's streamed progress: one line per finished trial
(``Trial 9: XGBoostClassifier    AUC_weighted=0.9290 (2.7 s)``) and one per ensemble. The scores
are the job's own validation scores (cross-validated or holdout, as the job's validation rule
chose), so this compares like with like: the ensembles are scored on the same rows as the trials
they combine. Prints a Markdown table, one row per dataset, and how many datasets with more than
five successful trials each ensemble won.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

LINE = re.compile(r"Trial (\d+): (\S+)\s+(\w+)=([-\d.]+|—)")
LOWER_IS_BETTER = ("error", "loss")


def read_log(path: Path) -> dict | None:
    singles: list[float] = []
    ensembles: dict[str, float] = {}
    metric = None
    for match in LINE.finditer(path.read_text(errors="replace")):
        _, algorithm, metric, value = match.groups()
        if value == "—":
            continue
        if algorithm in ("VotingEnsemble", "StackEnsemble"):
            ensembles[algorithm] = float(value)
        else:
            singles.append(float(value))
    if not singles:
        return None
    lower = any(word in metric.lower() for word in LOWER_IS_BETTER)
    best = min(singles) if lower else max(singles)
    return {"metric": metric, "lower": lower, "trials": len(singles), "best": best,
            **ensembles}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", type=Path, help="a run.py logs folder (<results>.jsonl.logs)")
    args = parser.parse_args()

    rows = []
    for path in sorted(args.logs.glob("cirrusml-*.log")):
        record = read_log(path)
        if record is not None:
            dataset = path.stem.removeprefix("cirrusml-").rsplit("-f", 1)[0]
            rows.append((dataset, record))

    print("| dataset | metric | trials | best trial | VotingEnsemble | StackEnsemble |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    wins = {"VotingEnsemble": 0, "StackEnsemble": 0}
    eligible = 0
    for dataset, r in rows:
        cells = []
        for name in ("VotingEnsemble", "StackEnsemble"):
            if name not in r:
                cells.append("—")
                continue
            better = r[name] < r["best"] if r["lower"] else r[name] > r["best"]
            cells.append(f"{r[name]:.4f}{' ✓' if better else ''}")
            if r["trials"] > 5 and better:
                wins[name] += 1
        eligible += r["trials"] > 5
        print(f"| {dataset} | {r['metric']} | {r['trials']} | {r['best']:.4f} | "
              f"{cells[0]} | {cells[1]} |")
    print()
    print(f"Datasets with more than five successful trials: {eligible}. "
          f"VotingEnsemble beat the best trial on {wins['VotingEnsemble']}, "
          f"StackEnsemble on {wins['StackEnsemble']} (✓ marks a win; ties are not wins).")


if __name__ == "__main__":
    main()
