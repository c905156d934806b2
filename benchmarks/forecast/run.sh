#!/usr/bin/env bash
# cirrusml's forecasting jobs on ../shared/bench's forecasting datasets, then a report against the
# peers' recorded figures (../shared/bench/results/forecast-*.jsonl).
#
#   bash benchmarks/forecast/run.sh BUDGET OUT.jsonl [--only a,b] [more run.py flags]
#
# Runs run.py with the adapter benchmarks/forecast/cirrusml_forecast_adapter.py (framework name
# cirrusml_forecast) under the repo's .venv (CIRRUS_PYTHON overrides), one fold, seed 0, 2 cores,
# tag dev (TAG overrides). The harness itself runs under its base venv (BENCH_BASE_PYTHON
# overrides; ../shared/bench/install_peers.sh ~/bench-peers makes it). With --only, the report
# keeps only those datasets, for the peers too. Extra flags (--wait-idle 600, --keep-tmp, ...)
# go to run.py.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
BENCH="$(realpath -m "${BENCH_DIR:-$REPO/../shared/bench}")"
DATASETS="$(realpath -m "${BENCH_DATASETS:-$BENCH/../datasets}")"
if [ "$#" -lt 2 ]; then
  echo "usage: $0 BUDGET OUT.jsonl [--only a,b] [run.py flags]" >&2
  exit 2
fi
BUDGET="$1"; OUT="$(realpath -m "$2")"; shift 2
PY="${BENCH_BASE_PYTHON:-$HOME/bench-peers/base/venv/bin/python}"
CIRRUS_PY="${CIRRUS_PYTHON:-$REPO/.venv/bin/python}"
ADAPTER="$REPO/benchmarks/forecast/cirrusml_forecast_adapter.py"
TAG="${TAG:-dev}"
ONLY=""
EXTRA=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    --only=*) ONLY="${1#--only=}"; shift ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done

(cd "$BENCH" && BENCH_DIR="$BENCH" "$PY" run.py --framework "$ADAPTER" \
    --python "cirrusml_forecast=$CIRRUS_PY" --datasets "$DATASETS" ${ONLY:+--only "$ONLY"} \
    --budget "$BUDGET" --folds 1 --seed 0 --cores 2 --tag "$TAG" --tasks forecasting \
    --out "$OUT" "${EXTRA[@]}")

# The report: our records and the peers', limited to the --only datasets when given.
PEERS=("$BENCH"/results/forecast-*.jsonl)
SELECTED="$(mktemp -d)"
trap 'rm -rf "$SELECTED"' EXIT
"$PY" - "$ONLY" "$SELECTED" "$OUT" "${PEERS[@]}" <<'EOF'
import json, sys
from pathlib import Path
only = {s.strip() for s in sys.argv[1].split(",") if s.strip()}
dest = Path(sys.argv[2])
for i, path in enumerate(sys.argv[3:]):
    lines = [l for l in Path(path).read_text().splitlines()
             if l.strip() and (not only or json.loads(l)["dataset"] in only)]
    (dest / f"{i:02d}-{Path(path).name}").write_text("".join(l + "\n" for l in lines))
EOF
"$PY" "$BENCH/report.py" "$SELECTED"/*.jsonl
