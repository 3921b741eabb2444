"""Speed of the nutpie engine against the PyMC engine (issue 11, item 6).

BLRM on the BAT6021 monotherapy doses, 2,000 draws x 2 chains (1,000 tuning), one data
set.  Each engine runs in fresh processes:

- ``cold``: empty compile caches (a new PyTensor ``base_compiledir`` and numba cache
  directory): first fit, then a refit on new data in the same process;
- ``warm``: a new process with those caches left warm by the cold run: first fit, refit;
- ``warm, 2nd spec``: in that warm process, the first fit of a BLRM with another prior
  (a model not compiled before in this process).

Also reported: max R-hat and the largest difference of the posterior mean DLT
probability from the exact grid engine, against max(0.01, 3 MC SE).

Run: ``PYTHONPATH=src python benchmarks/bench_nutpie.py``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

_CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
t0 = time.perf_counter()
import numpy as np, arviz as az, xarray as xr
import bayes_dose as bd
t_import = time.perf_counter() - t0
engine = sys.argv[1]
proto = bd.protocols.bat6021()
doses = proto.arm("mono").doses_mg
kw = dict(engine=engine, draws=2000, tune=1000, chains=2, random_seed=1)
design = bd.BLRM(doses, reference_dose=300)
out = bd.examples.bat6021_outcomes().arm("mono")
new = bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 6NTN")
t1 = time.perf_counter(); fit = design.fit(out, **kw); first = time.perf_counter() - t1
t2 = time.perf_counter(); design.fit(new, **kw); refit = time.perf_counter() - t2
other = bd.BLRM(doses, reference_dose=100, prior=bd.BLRMPrior((-1.5, 0.2), (2.0, 0.9)))
t3 = time.perf_counter(); other.fit(out, **kw); second = time.perf_counter() - t3
grid = design.fit(out)
post = fit.posterior.posterior
p = design.model.prob(post["log_alpha"].values, post["log_beta"].values)
ess = az.ess(xr.Dataset({"p": (("chain", "draw", "dose"), p)}), method="mean")["p"].values
mcse = p.reshape(-1, p.shape[-1]).std(axis=0) / np.sqrt(ess)
diff = np.abs(fit.prob_tox.values - grid.prob_tox.values)
print(json.dumps({
    "import_s": round(t_import, 2), "first_fit_s": round(first, 2),
    "refit_new_data_s": round(refit, 3), "first_fit_2nd_spec_s": round(second, 2),
    "max_rhat": round(fit.diagnostics["max_rhat"], 4),
    "max_abs_diff_vs_grid": round(float(diff.max()), 4),
    "within_max(0.01,3mcse)": bool(np.all(diff <= np.maximum(0.01, 3 * mcse))),
}))
"""


def run(engine: str) -> dict:
    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp}/pt,blas__ldflags=-llapack -lblas"
        env["NUMBA_CACHE_DIR"] = f"{tmp}/numba"
        env["PYTHONPATH"] = os.path.join(os.path.dirname(__file__), "..", "src")
        for label in ("cold", "warm"):
            r = subprocess.run(
                [sys.executable, "-c", _CHILD, engine], env=env, capture_output=True, text=True
            )
            if r.returncode:
                raise RuntimeError(r.stderr)
            res[label] = json.loads(r.stdout.strip().splitlines()[-1])
    return res


def main() -> None:
    for engine in ("nutpie", "pymc"):
        print(engine, json.dumps(run(engine)), flush=True)


if __name__ == "__main__":
    main()
