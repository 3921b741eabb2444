"""benchmarks/bench_programme.py still runs against the current API (a benchmark that
breaks silently records nothing): two programmes through its ``run``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def test_bench_programme_runs_two_programmes():
    path = Path(__file__).parents[1] / "benchmarks" / "bench_programme.py"
    spec = importlib.util.spec_from_file_location("bench_programme", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.run("grid", 2, 1, grid=(9, 9, 25, 41))  # a small grid: seconds
    assert out["programmes"] == 2 and out["combo_decisions"] > 0
    assert 0 <= out["flagged_decisions"] <= out["combo_decisions"]
    assert np.isclose(sum(out["combo_selection (none, 1..5)"]), 1.0)
    assert out["_selected"].shape == (2,)
