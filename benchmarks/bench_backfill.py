"""Backfill (issue 14 item 7): 10,000 trials of BF-BOIN with a timeline, 8 doses,
N = 36 escalation patients plus a backfill cap of 12; target <= 3 s.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_backfill.py [--trials 10000]``.
Baseline in the same run: BOIN with the same timeline and protocol, no backfill.
BF-BOIN: ``BOIN(target=0.25, stay_one_in_three=True, backfill=Backfill(BelowCurrent() &
OpensWhenCleared(), ratio=None, max_total=12))``; accrual 6 patients/month (Poisson),
DLT onset uniform over the 21-day window, no staggering gaps, patients queue.
Also times the cohort-time BF-BOIN (ratio 1 backfill patient per escalation patient).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np

import bayes_dose as bd

CURVE = [0.05, 0.10, 0.20, 0.30, 0.45, 0.55, 0.60, 0.70]


def timed(f, repeat: int) -> tuple[float, float]:
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return float(np.median(t)), float(min(t))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    tl = bd.Timeline(accrual_per_month=6)
    proto = dataclasses.replace(bd.protocols.bat6021(), dlt_window_days=21,
                                staggering=bd.Staggering(0, 0))  # fmt: skip
    opening = bd.BelowCurrent() & bd.OpensWhenCleared()
    boin = bd.BOIN(target=0.25, n_doses=8, max_n=36, stay_one_in_three=True)
    bf = boin.replace(backfill=bd.Backfill(opening=opening, ratio=None, max_total=12))
    bf_cohort = boin.replace(backfill=bd.Backfill(opening=opening, ratio=1.0, max_total=12))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}; {a.trials} trials")  # fmt: skip
    runs = {
        "BOIN, timeline (baseline)": lambda: bd.simulate({"BOIN": boin}, CURVE, n_trials=a.trials,
                                                         seed=1, progress=False, timeline=tl,
                                                         protocol=proto),
        "BF-BOIN, timeline": lambda: bd.simulate({"BF": bf}, CURVE, n_trials=a.trials, seed=1,
                                                 progress=False, timeline=tl, protocol=proto),
        "BF-BOIN, cohort time": lambda: bd.simulate({"BF": bf_cohort}, CURVE,
                                                    n_trials=a.trials, seed=1, progress=False),
    }  # fmt: skip
    for name, f in runs.items():
        med, best = timed(f, a.repeat)
        print(f"{name:28s} median {med:6.2f} s  best {best:6.2f} s")
    s = runs["BF-BOIN, timeline"]()
    print(f"BF-BOIN: mean backfill patients {float(s.n_backfill.mean()):.2f}, "
          f"mean N {float(s.n_patients.mean()):.1f}, mean duration "
          f"{float(s.duration_days.mean()) / 30.4375:.1f} months")  # fmt: skip


if __name__ == "__main__":
    main()
