"""Streaming simulation: chunk-wise OCs and concordance are exactly the in-memory ones;
the Zarr store holds exactly the in-memory trials; default chunking moves the progress bar.

Exactness: the reducer accumulates integer sums (and, for ratios, integer sums per
denominator) and computes means and SEs from them with exact rational arithmetic, so the
comparison is ``xarray.testing.assert_identical`` -- bit-for-bit, no tolerance.
"""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.metrics import TRIAL_QUANTITIES, OCReducer, TrialQuantity, register_trial_quantity

sim_mod = importlib.import_module("bayes_dose.simulate")
CURVE5 = [0.05, 0.15, 0.3, 0.45, 0.6]
SKEL = bd.crm_skeleton(target=0.3, halfwidth=0.05, mtd_guess=3, n_doses=5)
DESIGNS = {
    "3+3": bd.ThreePlusThree(5),
    "AT": bd.ThreePlusThree(5, titration_levels=3),
    "BOIN": bd.BOIN(target=0.3, n_doses=5, cohort_size=3, max_n=24),
    "CRM": bd.CRM(SKEL, 0.3, cohort_size=3, max_n=18),
}
SCEN = {
    "ref": CURVE5,
    "toxic": [0.25, 0.35, 0.5, 0.65, 0.8],
    "all_toxic": [0.5, 0.6, 0.7, 0.8, 0.9],
    "safe": [0.01, 0.02, 0.03, 0.05, 0.1],
}
KW = dict(scenarios=SCEN, n_trials=600, seed=13, progress=False)


@pytest.fixture(scope="module")
def memory() -> xr.Dataset:
    return bd.simulate(DESIGNS, **KW)


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    b = b.copy()
    b.attrs = a.attrs
    xr.testing.assert_identical(a, b)


@pytest.mark.parametrize(
    "kw", [dict(chunk_size=600), dict(chunk_size=137), dict(chunk_size=1), dict(n_jobs=2),
           dict(chunk_size=50, n_jobs=2)],
    ids=["one_chunk", "ragged", "single_trials", "threads", "threads_chunks"],
)
def test_streaming_oc_and_concordance_equal_in_memory(memory, kw) -> None:
    if kw.get("chunk_size") == 1:
        kw = {**kw, "scenarios": {"ref": CURVE5}, "n_trials": 25}
        mem = bd.simulate(DESIGNS, **{**KW, **kw})
    else:
        mem = memory
    res = bd.simulate_oc(DESIGNS, **{**KW, **kw})
    xr.testing.assert_identical(bd.operating_characteristics(mem), res.oc)
    xr.testing.assert_identical(bd.concordance(mem), res.concordance)
    assert res.sims is None and res.manifest["n_trials"] == mem.sizes["trial"]


@pytest.mark.parametrize("target", [0.25, {"ref": 0.2, "toxic": 0.3}, {"BOIN": 0.35}])
def test_streaming_with_targets(memory, target) -> None:
    res = bd.simulate_oc(DESIGNS, chunk_size=71, target=target, **KW)
    xr.testing.assert_identical(bd.operating_characteristics(memory, target=target), res.oc)


def test_reducer_is_order_and_merge_independent(memory) -> None:
    """Chunks added in reverse order, or reduced separately and merged, give the same."""
    full = bd.operating_characteristics(memory)
    conc = bd.concordance(memory)
    blocks = []
    for a, b in ((0, 1), (1, 250), (250, 251), (251, 600)):
        part = memory.isel(trial=slice(a, b))
        blocks.append({k: part[k].to_numpy() for k in ("selected", "is_mad", "n", "dlt",
                                                      "stop_reason")})  # fmt: skip
    rev = OCReducer.for_sims(memory)
    for blk in reversed(blocks):
        rev.add(blk)
    xr.testing.assert_identical(full, rev.operating_characteristics())
    xr.testing.assert_identical(conc, rev.concordance())
    left, right = OCReducer.for_sims(memory), OCReducer.for_sims(memory)
    left.add(blocks[2])
    left.add(blocks[0])
    right.add(blocks[3])
    right.add(blocks[1])
    xr.testing.assert_identical(full, right.merge(left).operating_characteristics())


def test_exact_sums_match_independent_computation(memory) -> None:
    """The exact mean/SE equal a direct float computation to 1e-12 (two-pass float SDs
    round differently; the reducer's are the correctly rounded exact values)."""
    oc = bd.operating_characteristics(memory, target=0.3)
    tot = memory.n.sum("dose").astype(float)
    np.testing.assert_allclose(oc.mean_total_n, tot.mean("trial"), rtol=0, atol=1e-12)
    np.testing.assert_allclose(oc.mean_total_n_se, tot.std("trial", ddof=1) / np.sqrt(600),
                               rtol=1e-12, atol=1e-15)  # fmt: skip
    mtd = oc.true_mtd
    above = xr.DataArray(
        (memory.dose_level.values[None, None, :] > np.maximum(mtd.values, 0)[..., None]),
        dims=("design", "scenario", "dose"),
    )
    n_above = (memory.n * above).sum("dose")
    frac = xr.where(tot > 0, n_above / np.maximum(tot, 1), 0.0)
    np.testing.assert_allclose(oc.frac_patients_above_mtd, frac.mean("trial"), atol=1e-12)
    np.testing.assert_allclose(oc.frac_patients_above_mtd_se,
                               frac.std("trial", ddof=1) / np.sqrt(600), atol=1e-12)  # fmt: skip


def test_store_equals_in_memory_and_holds_the_reductions(memory, tmp_path) -> None:
    store = tmp_path / "sims.zarr"
    lazy = bd.simulate(DESIGNS, store=store, chunk_size=250, n_jobs=2, **KW)
    assert lazy.selected.chunks is not None  # lazily opened (dask)
    _same(memory, lazy.load())
    _same(memory, bd.open_store(store).load())
    lazy_oc = bd.operating_characteristics(bd.open_store(store))  # read block by block
    xr.testing.assert_identical(bd.operating_characteristics(memory), lazy_oc)
    xr.testing.assert_equal(bd.operating_characteristics(memory),
                            xr.open_zarr(store, group="oc").load())  # fmt: skip
    xr.testing.assert_equal(bd.concordance(memory),
                            xr.open_zarr(store, group="concordance").load())  # fmt: skip
    two = {k: DESIGNS[k] for k in ("BOIN", "CRM")}
    kw = {**KW, "scenarios": {"ref": CURVE5}}
    res = bd.simulate_oc(two, store=tmp_path / "b.zarr", chunk_size=300, **kw)
    _same(bd.simulate(two, **kw), res.sims.load())


def test_store_with_long_uncapped_trials(tmp_path) -> None:
    """A self-limiting design with no max_n: the store's patient axis is bounded by the
    guard and trimmed on opening to the longest trial."""
    d = {"3+3": bd.ThreePlusThree(5), "AT": bd.ThreePlusThree(5, titration_levels=5)}
    kw = dict(true_tox=[0.01, 0.02, 0.03, 0.04, 0.05], n_trials=150, seed=2, progress=False)
    mem = bd.simulate(d, **kw)
    lazy = bd.simulate(d, store=tmp_path / "s.zarr", chunk_size=40, **kw)
    _same(mem, lazy.load())


def test_store_dask_workers_write_and_reduce(memory, tmp_path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                       dashboard_address=":0")  # fmt: skip
    try:
        with distributed.Client(cluster) as client:
            res = bd.simulate_oc(DESIGNS, backend="dask", client=client, chunk_size=150,
                                 store=tmp_path / "d.zarr", **KW)  # fmt: skip
    finally:
        cluster.close()
    xr.testing.assert_identical(bd.operating_characteristics(memory), res.oc)
    xr.testing.assert_identical(bd.concordance(memory), res.concordance)
    _same(memory, res.sims.load())


def test_reduction_does_not_keep_trials(monkeypatch) -> None:
    """simulate_oc never assembles the trials and drops each chunk once reduced."""

    def boom(*args, **kwargs):
        raise AssertionError("the trials were assembled in memory")

    monkeypatch.setattr(sim_mod, "_assemble", boom)
    seen = []
    real = sim_mod._unit

    def spy(run, a, b, tick=None):
        u = real(run, a, b, tick)
        seen.append(u.results)
        return u

    monkeypatch.setattr(sim_mod, "_unit", spy)
    bd.simulate_oc({"BOIN": DESIGNS["BOIN"]}, CURVE5, n_trials=500, chunk_size=100,
                   progress=False)  # fmt: skip
    assert seen == [None] * 5


def test_registered_quantity_is_reduced_consistently(memory) -> None:
    """A per-trial quantity added with register_trial_quantity (as another module would)
    appears in the OCs, in memory and chunk-wise alike."""
    q = TrialQuantity("frac_dlt", "ratio", lambda b: (b.dlt.sum(-1), b.n.sum(-1)),
                      long_name="mean fraction of a trial's patients with a DLT")  # fmt: skip
    register_trial_quantity(q)
    try:
        oc = bd.operating_characteristics(memory)
        res = bd.simulate_oc(DESIGNS, chunk_size=170, **KW)
        xr.testing.assert_identical(oc, res.oc)
        tot = memory.n.sum("dose")
        direct = xr.where(tot > 0, memory.dlt.sum("dose") / np.maximum(tot, 1), 0.0)
        np.testing.assert_allclose(oc.frac_dlt, direct.mean("trial"), atol=1e-12)
        with pytest.raises(ValueError, match="kind"):
            register_trial_quantity(TrialQuantity("x", "median", lambda b: b.n))
    finally:
        TRIAL_QUANTITIES.pop("frac_dlt")


# ----------------------------------------------------------------------------- chunking
def test_default_chunking_is_small_enough_to_move_the_bar() -> None:
    boin = {"BOIN": bd.BOIN(0.25, 8, max_n=30)}
    assert sim_mod.default_chunk_size(boin, 1, 10_000_000) == 8334
    crm200 = {"CRM": bd.CRM(bd.crm_skeleton(0.25, 0.05, 5, 8), 0.25, max_n=200)}
    assert sim_mod.default_chunk_size(crm200, 1, 10_000_000) == 1250
    assert sim_mod.default_chunk_size(DESIGNS, 4, 100_000) == 521  # 250,000 / (4 * 4 * 30)
    assert sim_mod.default_chunk_size(DESIGNS, 400, 100_000) == 100  # floor
    assert sim_mod.default_chunk_size(boin, 1, 50) == 50
    assert sim_mod.default_chunk_size(boin, 1, 1000, n_jobs=2) == 125


def test_progress_moves_per_chunk(monkeypatch) -> None:
    updates: list[int] = []

    class Bar:
        def update(self, n: int = 1) -> None:
            updates.append(n)

        def close(self) -> None:
            pass

    monkeypatch.setattr(sim_mod, "_progress_bar", lambda total, show: Bar())
    monkeypatch.setattr(sim_mod, "CHUNK_SLOTS", 3000)  # 100-trial chunks
    bd.simulate({"BOIN": DESIGNS["BOIN"]}, CURVE5, n_trials=450, progress=True)
    assert updates == [125, 125, 125, 75]
    updates.clear()  # several designs x scenarios: the bar moves after each of them
    bd.simulate({"BOIN": DESIGNS["BOIN"], "3+3": DESIGNS["3+3"]}, scenarios=SCEN,
                n_trials=150, progress=True)  # fmt: skip
    assert updates == [100] * 8 + [50] * 8


def test_default_chunking_does_not_change_numbers(memory) -> None:
    _same(memory, bd.simulate(DESIGNS, chunk_size=600, **KW))


@pytest.mark.slow
def test_peak_memory_of_a_long_streamed_run_is_bounded() -> None:
    """1e6 BOIN trials through simulate_oc in a fresh process: peak RSS < 1 GiB (measured
    ~200 MiB, of which ~175 MiB is imports; benchmarks/bench_memory.py runs 1e7)."""
    import sys
    from pathlib import Path

    bench = Path(__file__).parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        from bench_memory import measure
    finally:
        sys.path.remove(str(bench))
    r = measure("BOIN", 1e6, "oc")
    assert r["peak_rss_mib"] < 1024, r
