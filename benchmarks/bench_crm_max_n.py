"""Why CRM simulations slow down with a large ``max_n``: distinct count rows per posterior.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_crm_max_n.py [--trials 10000]``

Wraps the CRM's grid posterior to count the trial rows it is given and the distinct
(n, dlt) rows it computes (it deduplicates), and times it, for ``max_n`` 30 and 200.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bayes_dose as bd
import bayes_dose.designs.crm as crm_mod
from bayes_dose.arrays import unique_rows

CURVE = [0.02, 0.04, 0.06, 0.10, 0.15, 0.25, 0.40, 0.55]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--max-n", type=int, nargs="+", default=[30, 200])
    args = ap.parse_args()
    real = crm_mod.crm_posterior
    log: list[tuple[int, int, float]] = []

    def counted(model, data, *a, **k):
        first, _ = unique_rows(np.concatenate([data.n, data.dlt], axis=1))
        t0 = time.perf_counter()
        est = real(model, data, *a, **k)
        log.append((data.n_trials, len(first), time.perf_counter() - t0))
        return est

    crm_mod.crm_posterior = counted
    skel = bd.crm_skeleton(0.25, 0.05, 5, 8)
    print("| max_n | wall (s) | decide calls | trial-rows | distinct rows | posterior (s) | us/row |")
    print("|---|---|---|---|---|---|---|")
    for n in args.max_n:
        log.clear()
        t0 = time.perf_counter()
        bd.simulate({"CRM": bd.CRM(skel, 0.25, max_n=n)}, CURVE, n_trials=args.trials, seed=1,
                    progress=False)  # fmt: skip
        wall = time.perf_counter() - t0
        rows = sum(r for _, r, _ in log)
        post = sum(t for *_, t in log)
        print(f"| {n} | {wall:.1f} | {len(log)} | {sum(a for a, _, _ in log)} | {rows} | "
              f"{post:.1f} | {1e6 * post / max(rows, 1):.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
