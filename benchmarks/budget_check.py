"""Did each framework keep to its budget? Failures and overruns from ../shared/bench results.

    python benchmarks/budget_check.py benchmarks/results/*-dev-b60.jsonl

``fit_seconds`` is what the harness measured from submission to a model ready to predict (for
cirrusml: the job submitted, streamed to its end and its best model downloaded). A run overruns
when it is more than 10% past the budget. Prints a Markdown table.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

ALLOWANCE = 1.10


def main(paths: list[str]) -> None:
    runs: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        for line in Path(path).read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                runs[record["framework"]].append(record)
    print("| framework | runs | failures | longest fit / budget | overruns (> 1.1 × budget) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for framework, records in sorted(runs.items()):
        failures = [r["dataset"] for r in records if r.get("status") != "ok"]
        ratios = [(r["fit_seconds"] / r["budget"], r["dataset"]) for r in records
                  if r.get("fit_seconds") is not None]
        worst = max(ratios, default=(float("nan"), "—"))
        over = [f"{d} ({ratio:.2f})" for ratio, d in sorted(ratios, reverse=True)
                if ratio > ALLOWANCE]
        print(f"| {framework} | {len(records)} | {len(failures)}"
              f"{' (' + ', '.join(failures) + ')' if failures else ''} | "
              f"{worst[0]:.2f} ({worst[1]}) | {', '.join(over) or 'none'} |")


if __name__ == "__main__":
    main(sys.argv[1:])
