"""Peak memory (RSS) of long simulations, each measured in a fresh subprocess.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_memory.py [--trials 1e7]
[--designs BOIN CRM] [--modes oc store memory]``

Modes: ``oc`` = ``bd.simulate_oc`` (chunk-wise reduction, nothing kept), ``store`` =
``bd.simulate_oc(..., store=...)`` (also writes every trial to a Zarr store), ``memory`` =
``bd.simulate`` (the whole in-memory Dataset, then its OCs).  Designs: 8 levels, cohorts
of 3, N = 30, target 0.25, one scenario.  The child reports ``ru_maxrss`` (peak resident
set size) and its wall time; the parent prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, shutil
import bayes_dose as bd
design, n_trials, mode, store = sys.argv[1], int(float(sys.argv[2])), sys.argv[3], sys.argv[4]
curve = [0.02, 0.04, 0.06, 0.10, 0.15, 0.25, 0.40, 0.55]
if design == "BOIN":
    d = bd.BOIN(0.25, 8, cohort_size=3, max_n=30)
else:
    d = bd.CRM(bd.crm_skeleton(0.25, 0.05, 5, 8), 0.25, cohort_size=3, max_n=30)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
kw = dict(n_trials=n_trials, seed=1, progress=False)
if mode == "oc":
    res = bd.simulate_oc({design: d}, curve, **kw)
elif mode == "store":
    res = bd.simulate_oc({design: d}, curve, store=store, **kw)
else:
    res = bd.operating_characteristics(bd.simulate({design: d}, curve, **kw))
wall = time.perf_counter() - t0
oc = res if mode == "memory" else res.oc
print(json.dumps({"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "import_rss_mib": base / 1024, "wall_s": wall,
                  "p_select": [round(float(x), 4) for x in oc.p_select.values.ravel()]}))
"""


def measure(design: str, n_trials: float, mode: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        store = str(Path(tmp) / "sims.zarr")
        out = subprocess.run([sys.executable, "-c", CHILD, design, str(n_trials), mode, store],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=float, nargs="+", default=[1e6, 1e7])
    ap.add_argument("--designs", nargs="+", default=["BOIN", "CRM"])
    ap.add_argument("--modes", nargs="+", default=["oc", "store"])
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}, Python "
          f"{platform.python_version()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")  # fmt: skip
    print("| design | trials | mode | peak RSS (MiB) | after import (MiB) | wall (s) |")
    print("|---|---|---|---|---|---|")
    for design in args.designs:
        for n in args.trials:
            for mode in args.modes:
                r = measure(design, n, mode)
                print(f"| {design} | {n:.0e} | {mode} | {r['peak_rss_mib']:.0f} | "
                      f"{r['import_rss_mib']:.0f} | {r['wall_s']:.1f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
