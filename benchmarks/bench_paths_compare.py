"""Speed of dose paths (full 3+3 horizon), compare + shadow ledger and the report.

Run: PYTHONPATH=src python benchmarks/bench_paths_compare.py
"""

from __future__ import annotations

import platform
import tempfile
import time

import bayes_dose as bd
from bayes_dose.cli import _bundled_spec
from bayes_dose.io import load_spec


def timed(label: str, fn, repeat: int = 3) -> object:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:60s} {best * 1000:9.1f} ms")
    return out


def main() -> None:
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    d = bd.ThreePlusThree(5)
    p = timed("dose_paths 3+3 (5 levels, full horizon)", lambda: bd.dose_paths(d, None))
    print(f"    {p!r}")
    d8 = bd.ThreePlusThree(8, titration_levels=3)
    p8 = timed(
        "dose_paths 3+3 + titration (8 levels, full horizon)", lambda: bd.dose_paths(d8, None), 1
    )
    print(f"    {p8!r}")
    timed(
        "  .probabilities(true_tox)",
        lambda: p8.probabilities([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.6]),
        1,
    )
    spec = load_spec(_bundled_spec())
    out = bd.examples.bat6021_outcomes()
    cmp = timed("compare(bundled spec designs, both arms)", lambda: bd.compare(spec.designs, out))
    timed("Comparison.shadow()", cmp.shadow)
    with tempfile.TemporaryDirectory() as tmp:
        timed(
            "report(comparison) -> HTML + Markdown",
            lambda: bd.report(cmp, tmp, protocol=spec.protocol),
        )


if __name__ == "__main__":
    main()
