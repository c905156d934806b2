"""Featurization benchmark: profile, fit and transform a wide mixed table.

Generates ``--rows`` rows (default 1,000,000) of 50 columns: 30 numeric (some with missing
values), 2 booleans, 10 low-cardinality and 3 high-cardinality categoricals, a text datetime
column, 2 short text columns, an id column and a constant one. It then times, for
``native_categorical`` True and False: ``profile_columns``, ``fit_transform`` (the training
path, with cross-fitted target encoding) and ``transform`` (the prediction path). Memory is the
process's peak resident set size during each step, sampled every 20 ms, and how far it rose
above the level before the step. CPU is the process's user + system time (steady when other
work shares the machine; wall time is not).

    python benchmarks/featurize_bench.py --rows 1000000
    python benchmarks/featurize_bench.py --rows 100000 --no-text   # dense output, native categories

Prints a markdown table.
"""

from __future__ import annotations

import argparse
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import psutil
import scipy.sparse as sp

from cirrusml.featurize import make_featurizer, profile_columns

_WORDS = np.array(
    "data model price order ship late early good bad fast slow item box paper metal wood glass "
    "red blue green small large new old return refund card cash store online customer support "
    "quality broken fine great poor happy angry delivery week day month open closed fresh".split()
)


def make_data(rows: int, seed: int = 0, text: bool = True) -> tuple[pd.DataFrame, pd.Series]:
    """A mixed table of ``rows`` rows and 50 columns (48 without text), and a binary target."""
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    signal = np.zeros(rows)
    for j in range(25):
        values = rng.normal(loc=j, scale=1 + j % 5, size=rows)
        if j < 3:
            signal += values / (1 + j % 5)
        if j % 3 == 0:
            values[rng.random(rows) < 0.1] = np.nan
        columns[f"num_{j:02d}"] = values
    for j in range(5):
        columns[f"int_{j}"] = rng.integers(0, 1000 * (j + 1), size=rows)
    for j in range(2):
        columns[f"flag_{j}"] = rng.random(rows) < 0.3 + 0.2 * j
    for j in range(10):
        k = 3 + 3 * j
        codes = rng.integers(0, k, size=rows)
        labels = pd.Series(np.char.add(f"c{j}_", codes.astype(str)), dtype=object)
        if j % 4 == 0:
            labels[rng.random(rows) < 0.05] = np.nan
        if j == 0:
            signal += (codes == 1) * 1.5
        columns[f"cat_{j}"] = labels
    for j, k in enumerate((5_000, 50_000, 200_000)):
        codes = rng.integers(0, k, size=rows)
        columns[f"highcard_{j}"] = pd.Series(np.char.add(f"h{j}_", codes.astype(str)), dtype=object)
    offsets = pd.to_timedelta(rng.integers(0, 8 * 365 * 86400, rows), unit="s")
    stamps = pd.Timestamp("2015-01-01") + offsets
    columns["event_time"] = pd.Series(stamps).dt.strftime("%Y-%m-%d %H:%M:%S")
    if text:
        for j in range(2):
            picks = rng.integers(0, len(_WORDS), size=(rows, 8))
            lengths = rng.integers(3, 9, size=rows)
            parts = [pd.Series(np.where(lengths > i, _WORDS[picks[:, i]], ""), dtype=object)
                     for i in range(8)]
            columns[f"note_{j}"] = parts[0].str.cat(parts[1:], sep=" ").str.strip()
    columns["row_id"] = pd.Series(np.char.add("r", rng.permutation(rows).astype(str)), dtype=object)
    columns["constant"] = np.ones(rows)
    X = pd.DataFrame(columns)
    y = pd.Series((signal + rng.normal(scale=2.0, size=rows) > np.median(signal)).astype(int))
    return X, y


class PeakMemory:
    """Samples this process's resident set size in a thread; ``peak`` is the highest seen."""

    def __init__(self, interval: float = 0.02):
        self.interval = interval
        self.process = psutil.Process()

    def __enter__(self) -> PeakMemory:
        gc.collect()
        self.start = self.process.memory_info().rss
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


def _cpu() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def measure(step: Callable[[], Any]) -> tuple[Any, float, float, int, int]:
    """Run ``step``: its result, wall seconds, CPU seconds, peak RSS and rise over the start."""
    with PeakMemory() as memory:
        cpu = _cpu()
        start = time.perf_counter()
        result = step()
        seconds = time.perf_counter() - start
        cpu = _cpu() - cpu
    return result, seconds, cpu, memory.peak, memory.peak - memory.start


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f}"


def _shape(out: Any) -> str:
    kind = "CSR float32" if sp.issparse(out) else (
        f"DataFrame ({int((out.dtypes == 'category').sum())} category cols)")
    return f"{out.shape[1]:,} · {kind}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-text", action="store_true",
                        help="leave out the two text columns (dense output, native categories)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    X, y = make_data(args.rows, args.seed, text=not args.no_text)
    generated = time.perf_counter() - start
    rss = psutil.Process().memory_info().rss
    print(f"generated {len(X):,} rows x {X.shape[1]} columns in {generated:.1f} s; "
          f"process RSS {_gb(rss)} GB (raw frame {_gb(int(X.memory_usage(deep=True).sum()))} GB)\n")

    profile, seconds, cpu, peak, rise = measure(lambda: profile_columns(X))
    purposes = pd.Series(profile.purposes()).value_counts().to_dict()
    rows = [("profile_columns", "-", seconds, cpu, peak, rise,
             ", ".join(f"{v} {k}" for k, v in sorted(purposes.items())))]
    for native in (True, False):
        featurizer = make_featurizer(profile, None, native_categorical=native, scale=not native,
                                     task="classification", seed=args.seed)
        out, seconds, cpu, peak, rise = measure(lambda f=featurizer: f.fit_transform(X, y))
        rows.append(("fit_transform", str(native), seconds, cpu, peak, rise, _shape(out)))
        del out
        gc.collect()
        out, seconds, cpu, peak, rise = measure(lambda f=featurizer: f.transform(X))
        rows.append(("transform", str(native), seconds, cpu, peak, rise, _shape(out)))
        del out, featurizer
        gc.collect()

    print(f"rows: {len(X):,} · columns: {X.shape[1]} · cores: {psutil.cpu_count()}\n")
    print("| step | native_categorical | wall (s) | CPU (s) | peak RSS (GB) | rise (GB) | output |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for step, native, seconds, cpu, peak, rise, note in rows:
        print(f"| {step} | {native} | {seconds:.1f} | {cpu:.1f} | {_gb(peak)} | {_gb(rise)} "
              f"| {note} |")


if __name__ == "__main__":
    main()
