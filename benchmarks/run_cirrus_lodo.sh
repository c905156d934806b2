#!/usr/bin/env bash
# cirrusml on ../shared/bench, each dataset scored with a warm-start portfolio built WITHOUT it
# (leave-one-dataset-out), so the portfolio never saw the data it is judged on.
#
#   bash benchmarks/run_cirrus_lodo.sh BUDGET OUT.jsonl [DATASET ...]
#
# Needs the harness's base venv (../shared/bench/install_peers.sh ~/bench-peers) and cirrusml
# installed in .venv. With no DATASET, every dataset the portfolio was built on.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$REPO/../shared/bench"
BUDGET="$1"; OUT="$(realpath -m "$2")"; shift 2
PY="${BENCH_BASE_PYTHON:-$HOME/bench-peers/base/venv/bin/python}"
CIRRUS_PY="${CIRRUS_PYTHON:-$REPO/.venv/bin/python}"
DATASETS=("$@")
if [ "${#DATASETS[@]}" -eq 0 ]; then
  mapfile -t DATASETS < <("$CIRRUS_PY" -c "import json,sys; print('\n'.join(sorted({json.loads(l)['dataset'] for l in open(sys.argv[1])})))" "$REPO/benchmarks/portfolio/evaluations.jsonl")
fi
PORTFOLIOS="$(mktemp -d)"
for d in "${DATASETS[@]}"; do
  "$CIRRUS_PY" "$REPO/benchmarks/portfolio/build_portfolio.py" --leave-out "$d" --out "$PORTFOLIOS/$d.json"
  (cd "$BENCH" && CIRRUS_PORTFOLIO="$PORTFOLIOS/$d.json" "$PY" run.py --framework cirrusml \
      --python "cirrusml=$CIRRUS_PY" --datasets ../datasets --only "$d" --budget "$BUDGET" \
      --folds 1 --seed 0 --cores 2 --tag dev --tasks binary,multiclass,regression --out "$OUT")
done
