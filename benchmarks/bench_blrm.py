"""Speed of the BLRM engines (issue 4).

1. Exact grid engine: 10,000 simulated trials x 10 cohorts of 3, every decision made by
   ``BLRM.decide`` on the grid posterior (BAT6021 monotherapy doses, true DLT curve with
   the MTD near 300 mg).
2. PyMC NUTS (2,000 draws x 2 chains, 1,000 tuning): one BLRM fit on the BAT6021 example
   with an empty PyTensor compile cache, again in a new process with the cache warm, and a
   refit of the cached model on new data in the same process.

Run: ``PYTHONPATH=src python benchmarks/bench_blrm.py [--skip-pymc]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

import bayes_dose as bd
from bayes_dose.designs.state import DoseData

TRUE_TOX = np.array([0.01, 0.02, 0.03, 0.06, 0.12, 0.25, 0.40, 0.55])


def bench_grid(n_trials: int = 10_000, n_cohorts: int = 10, seed: int = 1) -> dict:
    proto = bd.protocols.bat6021()
    design = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300, cohort_size=3)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    design.estimate(DoseData.empty(1, design.n_doses))  # build the grid (once per design)
    t0 = time.perf_counter()
    data = DoseData.empty(n_trials, design.n_doses)
    active = np.ones(n_trials, dtype=bool)
    decisions = 0
    for _ in range(n_cohorts):
        dec = design.decide(data)
        decisions += int(active.sum())
        active &= ~dec.stop
        dose = np.where(active, dec.next_dose, 0)
        size = np.where(active, dec.cohort_size, 0)
        dlt = rng.binomial(size, TRUE_TOX[dose])
        data = data.after_cohort(dose, size, dlt)
    elapsed = time.perf_counter() - t0
    sel = design.select(data)
    pcs = np.bincount(sel.dose + 1, minlength=design.n_doses + 1) / n_trials
    return {
        "trials": n_trials,
        "cohorts": n_cohorts,
        "decisions": decisions,
        "seconds": round(elapsed, 2),
        "selection (none, levels 1..8)": pcs.round(3).tolist(),
    }


_PYMC_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import pymc  # noqa: F401
t_import = time.perf_counter() - t0
import bayes_dose as bd
proto = bd.protocols.bat6021()
kw = dict(engine="pymc", draws=2000, tune=1000, chains=2, random_seed=1)
res = {"import_pymc_s": round(t_import, 2)}
designs = {
    "blrm": (bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300),
             bd.examples.bat6021_outcomes().arm("mono"), bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 6NTN")),
    "crm": (bd.CRM([0.02, 0.04, 0.07, 0.12, 0.2, 0.3, 0.4, 0.5], target=0.25),
            bd.examples.bat6021_outcomes().arm("mono"), bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 6NTN")),
}
for name, (design, out, new) in designs.items():
    t1 = time.perf_counter(); design.fit(out, **kw); first = time.perf_counter() - t1
    t2 = time.perf_counter(); design.fit(new, **kw); refit = time.perf_counter() - t2
    res[name] = {"first_fit_s": round(first, 2), "refit_new_data_s": round(refit, 2)}
print(json.dumps(res))
"""


def bench_pymc() -> dict:
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp},blas__ldflags=-llapack -lblas"
        env["PYTHONPATH"] = os.path.join(os.path.dirname(__file__), "..", "src")
        for label in ("cold", "warm"):
            r = subprocess.run(
                [sys.executable, "-c", _PYMC_CHILD], env=env, capture_output=True, text=True
            )
            if r.returncode:
                raise RuntimeError(r.stderr)
            res[label] = json.loads(r.stdout.strip().splitlines()[-1])
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--skip-pymc", action="store_true")
    args = ap.parse_args()
    print("grid engine:", json.dumps(bench_grid()))
    if not args.skip_pymc:
        print("pymc engine:", json.dumps(bench_pymc()))


if __name__ == "__main__":
    main()
