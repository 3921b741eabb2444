"""Speed and memory benchmarks of bayes_dose simulation (and exact 3+3 OCs).

Workload (as in the R comparisons): 8 dose levels, N = 30, cohorts of 3, 10,000 trials,
true DLT curve = scenario library "mtd_middle" (mono arm), seed 2024.

    PYTHONPATH=src python benchmarks/run.py                      # all available designs
    PYTHONPATH=src python benchmarks/run.py --designs BOIN CRM --trials 10000 --repeat 5
    PYTHONPATH=src python benchmarks/run.py --memory-trials 100000 --memory-design BOIN

Times are wall-clock seconds of ``bd.simulate(..., progress=False)`` (median of
``--repeat`` runs after one warm-up run; latent uniforms are generated inside every run).
Peak memory: ``tracemalloc`` peak (NumPy reports its buffers to tracemalloc) of one run
with ``--memory-trials`` trials, plus the process's max RSS from ``resource.getrusage``.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import time
import tracemalloc

import numpy as np

import bayes_dose as bd

N_DOSES, MAX_N, COHORT, TARGET = 8, 30, 3, 0.25


def make_designs() -> dict[str, bd.Design]:
    """The benchmarked designs (8 levels, N = 30, cohorts of 3, target 0.25)."""
    skel = bd.crm_skeleton(target=TARGET, halfwidth=0.05, mtd_guess=5, n_doses=N_DOSES)
    doses = bd.protocols.bat6021().arm("mono").doses_mg
    return {
        "3+3": bd.ThreePlusThree(N_DOSES),
        "3+3+AT": bd.ThreePlusThree(N_DOSES, titration_levels=3),
        "BOIN": bd.BOIN(target=TARGET, n_doses=N_DOSES, cohort_size=COHORT, max_n=MAX_N),
        "CRM": bd.CRM(skeleton=skel, target=TARGET, cohort_size=COHORT, max_n=MAX_N),
        "BLRM": bd.BLRM(
            doses=doses, reference_dose=100, target_interval=(0.16, 0.33), ewoc=0.25,
            cohort_size=COHORT, max_n=MAX_N,
        ),
    }  # fmt: skip


def time_simulate(
    design: bd.Design, curve: list[float], n_trials: int, repeat: int
) -> tuple[float, float]:
    kw = dict(true_tox=curve, n_trials=n_trials, seed=2024, max_n=MAX_N, progress=False)
    bd.simulate({"d": design}, **kw)  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        bd.simulate({"d": design}, **kw)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def peak_memory(design: bd.Design, curve: list[float], n_trials: int) -> tuple[float, float]:
    tracemalloc.start()
    bd.simulate({"d": design}, curve, n_trials=n_trials, seed=2024, max_n=MAX_N, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20, rss_kb / 2**10


def time_exact(repeat: int) -> float:
    d = bd.ThreePlusThree(N_DOSES, titration_levels=3)
    curve = bd.scenarios.library("mono")["mtd_middle"]
    bd.exact_operating_characteristics(d, curve)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        bd.exact_operating_characteristics(d, curve)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine() -> str:
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in subprocess.run(
                ["lscpu"], capture_output=True, text=True
            ).stdout.splitlines()
            if line.startswith("Model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown CPU"
    import os

    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}, bayes_dose {bd.__version__}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--designs", nargs="*", help="subset of designs (default: all available)")
    ap.add_argument("--trials", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--memory-trials", type=int, default=100_000, help="0 to skip")
    ap.add_argument("--memory-design", default=None, help="design for the memory run")
    ap.add_argument("--no-exact", action="store_true", help="skip the exact 3+3 timing")
    args = ap.parse_args()

    designs = make_designs()
    if args.designs:
        missing = set(args.designs) - set(designs)
        if missing:
            raise SystemExit(
                f"unknown or unavailable designs {sorted(missing)}; have {sorted(designs)}"
            )
        designs = {k: designs[k] for k in args.designs}
    curve = list(bd.scenarios.library("mono")["mtd_middle"])
    print(f"machine: {machine()}")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M %Z')}")
    print(f"workload: {N_DOSES} doses, N = {MAX_N}, cohorts of {COHORT}, curve {curve}")
    print("| design | trials | median time (s) | min time (s) |\n|---|---|---|---|")
    for name, d in designs.items():
        med, low = time_simulate(d, curve, args.trials, args.repeat)
        print(f"| {name} | {args.trials:,} | {med:.3f} | {low:.3f} |", flush=True)
    if not args.no_exact:
        print(f"exact 3+3 (8 levels, titration 3): {1000 * time_exact(args.repeat):.1f} ms")
    if args.memory_trials:
        name = args.memory_design or next(iter(designs))
        peak, rss = peak_memory(designs[name], curve, args.memory_trials)
        print(
            f"memory, {name}, {args.memory_trials:,} trials: tracemalloc peak {peak:.0f} MiB, "
            f"max RSS {rss:.0f} MiB"
        )


if __name__ == "__main__":
    main()
