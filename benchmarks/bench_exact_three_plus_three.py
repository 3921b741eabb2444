"""Exact 3+3 operating characteristics (with titration), 8 levels: time per call.

Run: ``.venv/bin/python benchmarks/bench_exact_three_plus_three.py``
Target (issue 2): under 50 ms for 8 levels.
"""

from __future__ import annotations

import platform
import time

import numpy as np

import bayes_dose as bd

CURVES = {
    "MTD at 300 mg": [0.02, 0.04, 0.06, 0.10, 0.15, 0.25, 0.40, 0.55],
    "all safe": [0.01] * 8,
    "first dose toxic": [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99],
}


def main(repeats: int = 20) -> None:
    print(
        f"machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}"
    )
    for variant in ("deescalation", "escalation_only"):
        design = bd.ThreePlusThree(8, titration_levels=3, variant=variant)
        for name, curve in CURVES.items():
            bd.exact_operating_characteristics(design, curve)  # warm-up
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                oc = bd.exact_operating_characteristics(design, curve)
                times.append(time.perf_counter() - t0)
            print(
                f"{variant:16s} {name:18s} median {1e3 * np.median(times):6.1f} ms "
                f"min {1e3 * min(times):6.1f} ms  ({oc.n_states} terminal states)"
            )


if __name__ == "__main__":
    main()
