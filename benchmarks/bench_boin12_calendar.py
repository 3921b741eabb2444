"""BOIN12 with a timeline (issue 14 item 7): 10,000 trials, 8 doses, N = 36, target <= 3 s.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_boin12_calendar.py [--trials 10000]
[--repeat 3]``.  Same-run baselines: BOIN with the same timeline (toxicity only) and BOIN12
in cohort time, so the load of the machine (2 cores shared) shows in all rows alike.

Accrual 4 patients/month (Poisson), DLT onset late (70% in the second half of the 21-day
window), patients queue; BAT6021 staggering; response assessed at the end of the window
(BOIN12 waits for it); correlation 0.3.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

import bayes_dose as bd

CURVE = [0.01, 0.01, 0.02, 0.04, 0.10, 0.25, 0.45, 0.60]
RESP = [0.05, 0.10, 0.20, 0.30, 0.40, 0.40, 0.40, 0.40]


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
    args = ap.parse_args()
    proto = bd.protocols.bat6021()
    tl = bd.Timeline(accrual_per_month=4, dlt_onset=("late", 0.7))
    eff = {"true_tox": RESP}
    runs = {
        "BOIN12, timeline": (bd.BOIN12(target=0.25, n_doses=8, phi_e=0.25, max_n=36),
                             {"timeline": tl, "protocol": proto, "efficacy": eff,
                              "correlation": 0.3}, 3.0),
        "BOIN, same timeline (baseline)": (bd.BOIN(0.25, 8, max_n=36),
                                           {"timeline": tl, "protocol": proto}, None),
        "BOIN12, cohort time (baseline)": (bd.BOIN12(target=0.25, n_doses=8, phi_e=0.25,
                                                     max_n=36),
                                           {"efficacy": eff, "correlation": 0.3}, None),
    }  # fmt: skip
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, numpy {np.__version__}, load {os.getloadavg()[0]:.1f}")
    print(f"{args.trials} trials, 8 doses, N = 36, accrual 4/month, late onset 0.7, queue, "
          "BAT6021 staggering, rho 0.3")
    bd.simulate({"w": runs["BOIN12, timeline"][0]}, CURVE, n_trials=50, progress=False,
                **runs["BOIN12, timeline"][1])  # warm-up (imports)
    for name, (design, kw, target) in runs.items():
        med, best = timed(lambda d=design, kw=kw: bd.simulate(
            {"d": d}, CURVE, n_trials=args.trials, seed=1, progress=False, **kw), args.repeat)
        verdict = "" if target is None else (" ok" if med <= target else f" OVER {target:g} s")
        print(f"{name:34s} median {med:6.2f} s  best {best:6.2f} s{verdict}")
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
