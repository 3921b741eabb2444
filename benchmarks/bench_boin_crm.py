"""Vectorised BOIN / CRM decisions for 10,000 trials at once: time per call.

Run: ``.venv/bin/python benchmarks/bench_boin_crm.py``
Target (issue 3): the CRM posterior for 10,000 trials in about a second.

States are drawn as in a trial of 8 levels, 30 patients (cohorts of 3 at random levels,
DLTs from a fixed curve), so many rows are distinct; identical count rows share one
posterior (``crm_posterior`` deduplicates them).
"""

from __future__ import annotations

import platform
import time

import numpy as np

import bayes_dose as bd

TRUE_TOX = np.array([0.02, 0.04, 0.06, 0.10, 0.15, 0.25, 0.40, 0.55])


def states(n_trials: int, n_cohorts: int, seed: int = 1) -> bd.DoseData:
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    D = len(TRUE_TOX)
    n = np.zeros((n_trials, D), dtype=np.int64)
    y = np.zeros_like(n)
    rows = np.arange(n_trials)
    dose = np.zeros(n_trials, dtype=np.int64)
    for _ in range(n_cohorts):
        dose = np.clip(dose + rng.integers(-1, 2, n_trials), 0, D - 1)
        k = rng.binomial(3, TRUE_TOX[dose])
        n[rows, dose] += 3
        y[rows, dose] += k
    return bd.DoseData.from_counts(n, y, dose, np.full(n_trials, 3), k)


def timed(f, repeats: int = 5) -> tuple[float, float]:
    f()
    t = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        t.append(time.perf_counter() - t0)
    return float(np.median(t)), float(min(t))


def main() -> None:
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}"
    )
    skel = bd.crm_skeleton(0.25, 0.05, 5, 8)
    designs = {
        "CRM empiric": bd.CRM(skel, 0.25),
        "CRM logistic": bd.CRM(bd.crm_skeleton(0.25, 0.05, 5, 8, link="logistic"), 0.25,
                               link="logistic"),
        "BOIN": bd.BOIN(0.25, 8),
    }  # fmt: skip
    for n_cohorts in (3, 10):
        data = states(10_000, n_cohorts)
        distinct = len(np.unique(np.concatenate([data.n, data.dlt], 1), axis=0))
        print(f"10,000 trials after {n_cohorts} cohorts ({distinct} distinct count rows)")
        for name, d in designs.items():
            med, best = timed(lambda d=d, data=data: d.decide(data))
            print(f"  {name:13s} decide (estimate + rule) median {med:6.3f} s  min {best:6.3f} s")
            med, best = timed(lambda d=d, data=data: d.select(data))
            print(f"  {name:13s} select                   median {med:6.3f} s  min {best:6.3f} s")


if __name__ == "__main__":
    main()
