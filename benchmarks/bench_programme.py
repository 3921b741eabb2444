"""Two-arm programmes (issue 13 item 5): time per programme of the combination BLRM.

``bd.Programme``: Part I = BLRM (8 BAT6021 monotherapy levels, reference 300 mg, N <= 30,
cohorts of 3), Part II = ``CombinationBLRM`` with full borrowing (5 combination levels,
N <= 30), every combination decision reading the same programme's final monotherapy
counts; a mid scenario (mono MTD at 100-300 mg, combination MTD at level 2-3).  Each
method of the combination BLRM is timed on its own number of programmes (a same-run
baseline: ``grid`` on fewer programmes, scaled to the target); wall and CPU seconds
(the machine is shared: CPU time is the fairer figure), combination decisions and
distinct (mono, combo) count states; and the monotherapy BLRM arm alone on the target
number of trials (its share of the budget).

Run: ``PYTHONPATH=src python benchmarks/bench_programme.py [--quick]
[--runs auto:200,grid:200] [--mono-trials 10000] [--n-jobs 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import numpy as np

import bayes_dose as bd
from bayes_dose.designs.state import DoseData

MONO = [0.02, 0.04, 0.06, 0.10, 0.16, 0.25, 0.35, 0.50]
COMBO = [0.04, 0.10, 0.25, 0.45, 0.60]
TARGET = 10_000


def run(method: str, n: int, n_jobs: int, seed: int = 1, grid: tuple | None = None) -> dict:
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300, max_n=30)
    combo = bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, max_n=30,
                               method=method, borrowing="full",
                               **({} if grid is None else {"grid": grid}))  # fmt: skip
    seen = {"decisions": 0, "states": set(), "flagged": 0}
    inner = combo.estimate

    def counting(data: DoseData, *a, **k):
        seen["decisions"] += data.n_trials
        for row in np.concatenate([data.n, data.dlt, data.source_n, data.source_dlt], axis=1):
            seen["states"].add(row.tobytes())
        est = inner(data, *a, **k)
        seen["flagged"] += int(np.asarray(est.stats.get("grid_flag", False)).sum())
        return est

    t0 = time.perf_counter()
    # the engine's one-off tables (the 4-D prior grid), shared by later runs in this process
    inner(DoseData.empty(1, combo.n_doses), mono_counts=(np.zeros(8, int), np.zeros(8, int)))
    build = time.perf_counter() - t0
    combo.estimate = counting  # type: ignore[method-assign]
    prog = bd.Programme(arms={"mono": {"blrm": mono}, "combo": {"blrm": combo}},
                        opens=bd.opens_after("mono"))  # fmt: skip
    w0, c0 = time.perf_counter(), time.process_time()
    res = prog.simulate({"mono": MONO, "combo": COMBO}, n_trials=n, seed=seed, n_jobs=n_jobs)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    sel = bd.arm_view(res, "combo")["selected"].values.ravel()
    out = {
        "method": method, "programmes": n, "n_jobs": n_jobs, "build_s": round(build, 1),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1), "combo_decisions": seen["decisions"],
        "flagged_decisions": seen["flagged"],
        "distinct_states": len(seen["states"]),
        f"wall_s_scaled_to_{TARGET}": round(wall * TARGET / n, 0),
        f"cpu_s_scaled_to_{TARGET}": round(cpu * TARGET / n, 0),
        "combo_selection (none, 1..5)": (np.bincount(sel, minlength=6) / n).round(3).tolist(),
    }  # fmt: skip
    out["_selected"] = sel
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="auto:10,grid:10, mono 2000")
    ap.add_argument("--runs", default="auto:200,grid:200")
    ap.add_argument("--mono-trials", type=int, default=TARGET)
    ap.add_argument("--n-jobs", type=int, default=2)
    args = ap.parse_args()
    runs = "auto:10,grid:10" if args.quick else args.runs
    n_mono = 2000 if args.quick else args.mono_trials
    mono = bd.BLRM(bd.protocols.bat6021().arm("mono").doses_mg, reference_dose=300, max_n=30)
    w0, c0 = time.perf_counter(), time.process_time()
    bd.simulate({"blrm": mono}, MONO, n_trials=n_mono, seed=1, n_jobs=args.n_jobs, progress=False)
    print(json.dumps({"mono BLRM alone": n_mono, "wall_s": round(time.perf_counter() - w0, 2),
                      "cpu_s": round(time.process_time() - c0, 2)}), flush=True)  # fmt: skip
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    sel = {}
    for item in runs.split(","):
        m, n = item.split(":")
        r = run(m, int(n), args.n_jobs)
        sel[m] = r.pop("_selected")
        common = min(len(s) for s in sel.values())
        if len(sel) > 1:
            a, b = (s[:common] for s in list(sel.values())[:2])
            r["first_programmes_selecting_differently"] = f"{int((a != b).sum())} / {common}"
        r["load_average_after"] = round(os.getloadavg()[0], 1)
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
