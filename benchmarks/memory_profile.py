"""Where a job's memory goes: resident memory per process of one benchmark run, over time.

    python benchmarks/memory_profile.py DATASET [--budget 60] [--every 1.0]

Runs the harness's cirrusml adapter on one dataset of ../shared/datasets (as
``run_cirrus_lodo.sh`` does, with the shipped portfolio) and samples every process of the job
four times a second: the caller (the adapter, which builds and submits the job and then loads
the best model), the runner, the fork server and the workers. It prints the peak of the sum,
which is what ``../shared/bench`` reports as ``peak_rss_mb`` (resident pages counted once per
process, shared library pages included), what each process held at that moment, each
process's own peak, and the sum's timeline every ``--every`` seconds.

Run it with the project's interpreter (it needs psutil, which cirrusml depends on) on an idle
machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parents[2] / "shared" / "bench"


def role(process: psutil.Process) -> str | None:
    """What a process of the run is, from its command line (``None``: the harness itself)."""
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return None
    if "run.py" in command:
        return None
    if "cirrusml_adapter" in command:
        return "caller"
    if "cirrusml.client._runner" in command:
        return "runner"
    if "resource_tracker" in command:
        return "resource tracker"
    if "forkserver" in command:
        # The workers are the fork server's children and keep its command line.
        try:
            parent = " ".join(process.parent().cmdline())
        except (psutil.Error, AttributeError):
            parent = ""
        return "worker" if "forkserver" in parent else "fork server"
    if "multiprocessing" in command:
        return "worker"
    return command[:40]


def processes(harness: psutil.Process) -> list[psutil.Process]:
    """The harness's descendants and the runner (it runs in its own session)."""
    found = {}
    try:
        found.update({p.pid: p for p in harness.children(recursive=True)})
    except psutil.Error:
        pass
    for p in psutil.process_iter():
        try:
            if "cirrusml.client._runner" in " ".join(p.cmdline()):
                found[p.pid] = p
        except psutil.Error:
            continue
    return list(found.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--every", type=float, default=1.0, help="timeline step, seconds")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="cirrus-memory-")) / "run.jsonl"
    command = [sys.executable, "run.py", "--framework", "cirrusml",
               "--python", f"cirrusml={sys.executable}", "--datasets", "../datasets",
               "--only", args.dataset, "--budget", str(args.budget), "--folds", "1",
               "--seed", "0", "--cores", "2", "--tag", "memory",
               "--tasks", "binary,multiclass,regression", "--out", str(out)]
    harness = subprocess.Popen(command, cwd=BENCH, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    parent = psutil.Process(harness.pid)
    start = time.monotonic()
    own_peak: dict[str, float] = {}
    peak_total, peak_at, peak_parts = 0.0, 0.0, {}
    timeline: list[tuple[float, float]] = []
    while harness.poll() is None:
        parts: dict[str, float] = {}
        for process in processes(parent):
            name = role(process)
            if name is None:
                continue
            try:
                mb = process.memory_info().rss / 2**20
            except psutil.Error:
                continue
            key = f"{name} {process.pid}"
            parts[key] = mb
            own_peak[key] = max(own_peak.get(key, 0.0), mb)
        total = sum(parts.values())
        now = time.monotonic() - start
        if not timeline or now - timeline[-1][0] >= args.every:
            timeline.append((now, total))
        if total > peak_total:
            peak_total, peak_at, peak_parts = total, now, parts
        time.sleep(0.25)
    record = json.loads(out.read_text().splitlines()[-1]) if out.exists() else {}
    print(f"{args.dataset}: {record.get('status')} {record.get('metric')}={record.get('value')}; "
          f"harness peak_rss_mb {record.get('peak_rss_mb')}")
    print(f"peak of the sum: {peak_total:.0f} MB at {peak_at:.1f} s")
    for key, mb in sorted(peak_parts.items(), key=lambda kv: -kv[1]):
        print(f"  {key:28s} {mb:7.0f} MB   (its own peak {own_peak[key]:.0f} MB)")
    others = {k: v for k, v in own_peak.items() if k not in peak_parts}
    for key, mb in sorted(others.items(), key=lambda kv: -kv[1]):
        print(f"  {key:28s}       -      (its own peak {mb:.0f} MB)")
    print("timeline (s, MB): " + ", ".join(f"{t:.0f}:{mb:.0f}" for t, mb in timeline))


if __name__ == "__main__":
    main()
