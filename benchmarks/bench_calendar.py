"""Calendar-time simulation (issue 12): 10,000 trials, 8 doses, N = 30.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_calendar.py [--trials 10000]
[--only TITE-CRM] [--baseline]`` (``--only``: designs whose name contains the text;
``--baseline``: also time TITE-CRM with every decision on the full grid, the path before
:mod:`bayes_dose.inference.crm_tite_fast`, and count the trials whose doses differ).
Targets (issue 12): BOIN and 3+3 with staggering <= 1 s, TITE-BOIN <= 2 s, TITE-CRM <= 3 s;
cohort-time simulation no slower than before (timed here beside the calendar runs).
On a shared machine compare against a baseline in the same session: the table also gives
the process CPU time, and an older version runs from its own copy of the sources, e.g.
``git archive ff5cfb5 src | tar -x -C /tmp/old`` then alternate
``PYTHONPATH=/tmp/old/src`` and ``PYTHONPATH=src`` runs of ``--only "TITE-CRM (cohorts of 1)"``.

Accrual 4 patients/month (Poisson), DLT onset late (70% in the second half of the
21-day window), patients queue; BAT6021 staggering (24 h, 7 days, complete window).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import bayes_dose as bd

CURVE = [0.01, 0.01, 0.02, 0.04, 0.10, 0.25, 0.45, 0.60]


def timed(f, repeat: int, cpu: list | None = None) -> tuple[float, float]:
    """Median and min wall time of ``repeat`` runs (their process CPU times appended to
    ``cpu``: steadier than wall time on a shared machine)."""
    t = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        f()
        t.append(time.perf_counter() - t0)
        if cpu is not None:
            cpu.append(time.process_time() - c0)
    return float(np.median(t)), float(min(t))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="")
    ap.add_argument("--baseline", action="store_true")
    ap.add_argument("--n-jobs", type=int, default=1, help="simulate(n_jobs=...): threads")
    args = ap.parse_args()
    skel = bd.crm_skeleton(0.25, 0.05, 6, 8)
    proto = bd.protocols.bat6021()
    tl = bd.Timeline(accrual_per_month=4, dlt_onset=("late", 0.7))
    designs = {
        "3+3 (AT) staggered": (bd.ThreePlusThree(8, titration_levels=3), 1.0),
        "BOIN staggered": (bd.BOIN(0.25, 8, max_n=30), 1.0),
        "TITE-BOIN": (bd.BOIN(0.25, 8, max_n=30, tite_window=21), 2.0),
        "TITE-CRM (cohorts of 1)": (bd.CRM(skel, 0.25, max_n=30, cohort_size=1,
                                           tite_window=21), 3.0),
        "TITE-CRM (cohorts of 3)": (bd.CRM(skel, 0.25, max_n=30, cohort_size=3,
                                           tite_window=21), 3.0),
    }  # fmt: skip
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}, load {os.getloadavg()[0]:.1f}")
    print(f"{args.trials} trials, accrual 4/month, late onset 0.7, queue, BAT6021 staggering, "
          f"n_jobs={args.n_jobs} (calendar time)")
    bd.simulate({"w": bd.BOIN(0.25, 8, max_n=30)}, CURVE, n_trials=50, progress=False,
                timeline=tl, protocol=proto)  # warm-up (imports)
    print("| design | target | calendar median / min (CPU) | cohort time median / min | mean months |")
    print("|---|---|---|---|---|")
    for name, (d, target) in designs.items():
        if args.only not in name:
            continue
        out = {}

        def cal(d=d, out=out, name=name):
            out["s"] = bd.simulate({name: d}, CURVE, n_trials=args.trials, seed=1,
                                   progress=False, timeline=tl, protocol=proto,
                                   n_jobs=args.n_jobs)  # fmt: skip

        cpu: list = []
        med, mn = timed(cal, 1 if "CRM" in name else args.repeat, cpu)
        plain = d.replace(tite_window=None) if getattr(d, "tite_window", None) else d
        cmed, cmn = timed(lambda p=plain, name=name: bd.simulate({name: p}, CURVE, n_trials=args.trials,
                                                       seed=1, progress=False), args.repeat)
        months = float(out["s"].duration_days.mean()) / bd.timeline.DAYS_PER_MONTH
        print(f"| {name} | <= {target:g} s | {med:.2f} / {mn:.2f} s ({np.median(cpu):.2f} s) "
              f"| {cmed:.2f} / {cmn:.2f} s "
              f"| {months:.1f} |")
        if args.baseline and "CRM" in name:
            old = _full_grid_run(d, args.trials, tl, proto)
            differ = int((old["s"].patient_dose.values != out["s"].patient_dose.values)
                         .any(axis=-1).sum())  # fmt: skip
            print(f"| {name}, full grid at every decision (old path) | | {old['t']:.2f} s | | "
                  f"| trials with other doses: {differ} |")


def _full_grid_run(d, trials, tl, proto) -> dict:
    import bayes_dose.designs.crm as crm_module
    from bayes_dose.inference.crm_grid import crm_posterior

    fast = crm_module.crm_decision_estimate
    crm_module.crm_decision_estimate = (
        lambda model, data, target, interval=0.9: crm_posterior(model, data, target, interval))
    try:
        t0 = time.perf_counter()
        s = bd.simulate({"x": d}, CURVE, n_trials=trials, seed=1, progress=False,
                        timeline=tl, protocol=proto)
        return {"s": s, "t": time.perf_counter() - t0}
    finally:
        crm_module.crm_decision_estimate = fast


if __name__ == "__main__":
    main()
