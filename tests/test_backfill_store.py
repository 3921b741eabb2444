"""Backfill designs streamed to a Zarr store and reduced chunk by chunk (issue 14): the
store holds exactly the in-memory trials (``backfill_n``, ``n_backfill`` included; zeros
for designs without backfill), and its ``"oc"`` group and ``simulate_oc`` have the
in-memory backfill OCs -- in cohort time and with a ``timeline=``, for any chunk size."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.metrics import OCReducer

P8 = [0.05, 0.1, 0.2, 0.3, 0.45, 0.55, 0.6, 0.7]
BF = bd.Backfill(max_total=9)
DESIGNS = {
    "BF-BOIN": bd.BOIN(target=0.25, n_doses=8, max_n=24, backfill=BF, stay_one_in_three=True),
    "BOIN": bd.BOIN(target=0.25, n_doses=8, max_n=24),
}
TL = bd.Timeline(accrual_per_month=6, dlt_onset=("late", 0.7))
KW = dict(scenarios={"ref": P8, "toxic": [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]},
          n_trials=60, seed=7, progress=False)  # fmt: skip
BF_OC = ("mean_backfill_n", "mean_backfill_n_se", "mean_n_backfill", "mean_n_backfill_se")


def _kw(timeline: bool, chunk: int) -> dict:
    kw = dict(KW, chunk_size=chunk)
    if chunk == 1:  # one trial per chunk: a short run
        kw["n_trials"] = 6
    if timeline:
        kw["timeline"] = TL
    return kw


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    b = b.copy()
    b.attrs = a.attrs  # the manifest's date differs
    xr.testing.assert_identical(a, b)


@pytest.mark.parametrize("timeline", [False, True], ids=["cohort", "calendar"])
@pytest.mark.parametrize("chunk", [60, 17, 1])
def test_store_equals_in_memory_and_oc_group_equals_in_memory_ocs(tmp_path, timeline, chunk):
    kw = _kw(timeline, chunk)
    mem = bd.simulate(DESIGNS, **{**kw, "chunk_size": None})
    assert int(mem.n_backfill.sel(design="BF-BOIN").sum()) > 0  # backfill patients exist
    assert int(mem.n_backfill.sel(design="BOIN").sum()) == 0
    assert int(abs(mem.backfill_n.sel(design="BOIN")).sum()) == 0
    assert (mem.n_backfill == mem.backfill_n.sum("dose")).all()
    path = tmp_path / "bf.zarr"
    lazy = bd.simulate(DESIGNS, store=path, **kw)
    assert "backfill_n" in lazy and lazy.backfill_n.dtype == np.int16
    _same(mem, bd.open_store(path).load())
    oc_mem = bd.operating_characteristics(mem)
    oc_store = xr.open_zarr(path, group="oc").load()
    xr.testing.assert_identical(oc_mem[list(BF_OC)], oc_store[list(BF_OC)])
    oc = bd.simulate_oc(DESIGNS, **kw).oc
    for v in oc_mem.data_vars:  # every OC the in-memory run has, the reducer's too
        xr.testing.assert_identical(oc_mem[v], oc[v])


def test_backfill_ocs_are_the_means_and_ses_of_the_trials():
    """Independent check of the reducer's exact sums against numpy (tolerance: 1e-12
    relative; both are the same numbers up to rounding)."""
    mem = bd.simulate(DESIGNS, **KW)
    oc = bd.operating_characteristics(mem)
    bn = mem.backfill_n.to_numpy().astype(float)
    nb = mem.n_backfill.to_numpy().astype(float)
    T = mem.sizes["trial"]
    np.testing.assert_allclose(oc.mean_backfill_n.to_numpy(), bn.mean(axis=2), rtol=1e-12)
    np.testing.assert_allclose(oc.mean_backfill_n_se.to_numpy(),
                               bn.std(axis=2, ddof=1) / np.sqrt(T), rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(oc.mean_n_backfill.to_numpy(), nb.mean(axis=2), rtol=1e-12)
    np.testing.assert_allclose(oc.mean_n_backfill_se.to_numpy(),
                               nb.std(axis=2, ddof=1) / np.sqrt(T), rtol=1e-12)  # fmt: skip
    from bayes_dose.backfill import backfill_characteristics

    ref = backfill_characteristics(mem)
    for v in BF_OC:
        np.testing.assert_allclose(oc[v].to_numpy(), ref[v].to_numpy(), rtol=1e-12)
    assert oc.mean_n_backfill.sel(design="BF-BOIN").min() > 0
    assert (oc.mean_n_backfill.sel(design="BOIN") == 0).all()


def test_runs_without_backfill_have_no_backfill_ocs_and_reducer_needs_the_arrays():
    oc = bd.simulate_oc({"BOIN": DESIGNS["BOIN"]}, **KW).oc
    assert "mean_backfill_n" not in oc
    red = OCReducer.for_sims(bd.simulate(DESIGNS, **KW))
    assert red.backfill
    with pytest.raises(ValueError, match="needs block\\['backfill_n'\\]"):
        red.add({k: np.zeros((2, 2, 3), dtype=np.int64) for k in
                 ("selected", "is_mad", "stop_reason")} | {
                     "n": np.zeros((2, 2, 3, 8), dtype=np.int64),
                     "dlt": np.zeros((2, 2, 3, 8), dtype=np.int64)})  # fmt: skip


@pytest.mark.parametrize("timeline", [False, True], ids=["cohort", "calendar"])
def test_store_and_oc_with_efficacy_checkpoints_and_an_uncapped_backfill(tmp_path, timeline):
    """Efficacy, checkpoints (a second run reloads them) and ``max_total=None`` (the
    store's patient columns come from the drivers' bound) together."""
    designs = {"BF": bd.BOIN(target=0.25, n_doses=8, max_n=24, backfill=bd.Backfill(),
                             stay_one_in_three=True),
               "BOIN": DESIGNS["BOIN"]}  # fmt: skip
    kw = dict(n_trials=30, seed=3, progress=False, chunk_size=13,
              efficacy={"true_tox": [0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.5, 0.5]})  # fmt: skip
    if timeline:
        kw["timeline"] = TL
    mem = bd.simulate(designs, P8, **{**kw, "chunk_size": None})
    assert int(mem.n_backfill.sel(design="BF").max()) > 0
    for run in range(2):  # fresh, then from the checkpoints
        path = tmp_path / f"e{run}.zarr"
        bd.simulate(designs, P8, store=path, checkpoint_dir=tmp_path / "ck", **kw)
        _same(mem, bd.open_store(path).load())
    oc_mem = bd.operating_characteristics(mem)
    oc = bd.simulate_oc(designs, P8, **kw).oc
    assert "mean_resp" in oc and "mean_backfill_n" in oc
    for v in oc_mem.data_vars:
        xr.testing.assert_identical(oc_mem[v], oc[v])


def test_ratio_none_backfill_in_cohort_time_is_still_an_error_with_a_store(tmp_path):
    """``Backfill(ratio=None)`` has no cohort-time rule: in memory, with a store and in
    ``simulate_oc`` the same ValueError (and no store is left behind)."""
    d = {"BF": bd.BOIN(target=0.25, n_doses=8, max_n=12, backfill=bd.Backfill(ratio=None))}
    for call in (lambda: bd.simulate(d, P8, n_trials=5, progress=False,
                                     store=tmp_path / "r.zarr"),
                 lambda: bd.simulate_oc(d, P8, n_trials=5, progress=False)):  # fmt: skip
        with pytest.raises(ValueError, match="no cohort-time rule"):
            call()
    assert not list(tmp_path.glob("r.zarr*"))
    kw = dict(n_trials=20, seed=1, progress=False, timeline=TL)  # calendar time: works
    mem = bd.simulate(d, P8, **kw)
    assert int(mem.n_backfill.max()) > 0
    bd.simulate(d, P8, store=tmp_path / "t.zarr", chunk_size=7, **kw)
    _same(mem, bd.open_store(tmp_path / "t.zarr").load())


def test_calendar_backfill_results_do_not_depend_on_the_chunk_size():
    """Every variable of a calendar-time BF-BOIN run (waits included: summed in patient
    order, as the plain calendar driver does) is bit-identical for chunk sizes 1, 7, 40."""
    bf = bd.BOIN(target=0.25, n_doses=6, max_n=36, stay_one_in_three=True,
                 backfill=bd.Backfill(max_total=12))  # fmt: skip
    tl = bd.Timeline(accrual_per_month=8, dlt_onset=("late", 0.7))
    runs = [bd.simulate({"bf": bf}, [0.05, 0.1, 0.2, 0.3, 0.45, 0.6], n_trials=60, seed=11,
                        progress=False, timeline=tl, protocol=bd.protocols.bat6021(),
                        chunk_size=c) for c in (1, 7, 60)]  # fmt: skip
    assert int(runs[0]["n_backfill"].sum()) > 0
    for other in runs[1:]:
        for var in runs[0].data_vars:
            np.testing.assert_array_equal(runs[0][var].to_numpy(), other[var].to_numpy(),
                                          err_msg=var)  # fmt: skip
