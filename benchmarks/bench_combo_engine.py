"""Speed of the combination BLRM engines in simulation (issue 13 item 5).

``bd.simulate`` of the combination arm (5 levels, N <= 30, cohorts of 3) with the
bundled monotherapy data fixed (``CombinationBLRM(mono_data=...)``, as ``simulate``
allows today), one true curve, every decision by the exact engine, for each method of
``CombinationBLRM``:

* ``grid``: the 4-D prior grid alone (the engine before this change);
* ``auto``: the prior grid, and the certified quadrature for the states it flags (the
  default now);
* ``quadrature``: the certified quadrature for every state (cached per count state).

Reported: seconds (after the engine's one-off build, timed separately), decisions
(trial x cohort, plus the final selection), distinct count states, ms per decision and
per distinct state, and how many trials select a different level than ``grid``.

Run: ``PYTHONPATH=src python benchmarks/bench_combo_engine.py [--trials 1000]
[--methods grid,auto,quadrature] [--save PREFIX]`` (each method's row is printed as soon
as it is measured).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

import bayes_dose as bd
from bayes_dose.designs.state import DoseData

TRUE_COMBO = [0.04, 0.10, 0.25, 0.45, 0.60]


def run(method: str, n_trials: int, seed: int, curve: list[float] = TRUE_COMBO) -> dict:
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    out = bd.examples.bat6021_outcomes()
    combo = bd.CombinationBLRM(mono=mono, mono_data=out.arm("mono"), max_n=30, method=method)
    calls = {"decisions": 0, "states": set()}
    inner = combo.estimate

    def counting(data: DoseData, *a, **k):
        calls["decisions"] += data.n_trials
        for row in np.concatenate([data.n, data.dlt], axis=1):
            calls["states"].add(row.tobytes())
        return inner(data, *a, **k)

    combo.estimate = counting  # type: ignore[method-assign]
    t0 = time.perf_counter()
    combo.estimate(DoseData.empty(1, combo.n_doses))  # builds the engine (once per design)
    build = time.perf_counter() - t0
    calls["decisions"] = 0
    calls["states"] = set()
    t0 = time.perf_counter()
    ds = bd.simulate({method: combo}, curve, n_trials=n_trials, seed=seed, progress=False)
    secs = time.perf_counter() - t0
    sel = ds["selected"].values.ravel()
    d, s = calls["decisions"], len(calls["states"])
    return {
        "method": method, "trials": n_trials, "build_s": round(build, 2), "seconds": round(secs, 1),
        "decisions": d, "distinct_states": s, "ms_per_decision": round(1e3 * secs / d, 2),
        "ms_per_state": round(1e3 * secs / s, 1),
        "selection (none, 1..5)": (np.bincount(sel, minlength=6) / n_trials).round(3).tolist(),
        "_selected": sel,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--methods", default="grid,auto,quadrature")
    ap.add_argument("--curve", default=",".join(map(str, TRUE_COMBO)),
                    help="true DLT probabilities of the 5 combination levels")
    ap.add_argument("--save", default="", help="save each method's selections to <prefix>_<method>.npy")
    args = ap.parse_args()
    print(f"# curve {args.curve}; {platform.machine()}, {platform.python_version()}, numpy {np.__version__}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")  # fmt: skip
    base = None
    for m in args.methods.split(","):
        r = run(m, args.trials, args.seed, [float(x) for x in args.curve.split(",")])
        sel = r.pop("_selected")
        if m == "grid":
            base = sel
        if args.save:
            np.save(f"{args.save}_{m}.npy", sel)
        if base is not None:
            r["trials selecting differently from grid"] = int((sel != base).sum())
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
