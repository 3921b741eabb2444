"""Calendar-time runs streamed to a Zarr store and reduced chunk by chunk (issue 12):
the store holds exactly the in-memory trials (timeline variables included), its ``"oc"``
group and ``simulate_oc(..., timeline=)`` have the in-memory duration OCs, and an
interrupted run resumes from its checkpoints -- for any chunk size, bit for bit."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.calendar_oc import TIME_VARS, CalendarOCReducer

sim_mod = importlib.import_module("bayes_dose.simulate")
cal_mod = importlib.import_module("bayes_dose.calendar_sim")

CURVE = [0.02, 0.05, 0.10, 0.20, 0.30, 0.45, 0.60, 0.70]
SKEL = bd.crm_skeleton(0.25, 0.05, 5, 8)
DESIGNS = {
    "AT+3+3": bd.ThreePlusThree(8, titration_levels=3),
    "BOIN": bd.BOIN(0.25, 8, max_n=15),
    "TITE-BOIN": bd.BOIN(0.25, 8, max_n=15, tite_window=21),
    "TITE-CRM": bd.CRM(SKEL, 0.25, max_n=12, cohort_size=1, tite_window=21),
}
TWO = {k: DESIGNS[k] for k in ("AT+3+3", "TITE-CRM")}
KW = dict(scenarios={"ref": CURVE, "toxic": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]},
          n_trials=60, seed=5, progress=False,
          timeline=bd.Timeline(accrual_per_month=3, dlt_onset=("late", 0.7)),
          protocol=bd.protocols.bat6021())  # fmt: skip


@pytest.fixture(scope="module")
def memory() -> xr.Dataset:
    return bd.simulate(DESIGNS, **KW)


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    b = b.copy()
    b.attrs = a.attrs  # the manifest's date differs
    xr.testing.assert_identical(a, b)


def test_in_memory_calendar_runs_are_bit_identical_for_any_chunk_size(memory) -> None:
    """Found while writing the store: ``mean_wait_days`` summed the waits over the chunk's
    patient columns pairwise, so its last bits depended on the longest trial of the chunk."""
    few = bd.simulate(DESIGNS, **{**KW, "n_trials": 8})
    for kw in (dict(chunk_size=17), dict(chunk_size=1, n_trials=8), dict(chunk_size=31, n_jobs=2)):
        run = bd.simulate(DESIGNS, **{**KW, **kw})
        _same(few if run.sizes["trial"] == 8 else memory, run)


@pytest.mark.parametrize("chunk", [60, 17, 1])
def test_store_equals_in_memory(memory, tmp_path, chunk) -> None:
    designs = DESIGNS if chunk == 60 else TWO  # every design in one chunk; ragged: two
    kw = KW if chunk > 1 else {**KW, "n_trials": 5, "scenarios": {"ref": CURVE}}
    mem = bd.simulate(designs, **kw) if chunk == 1 else memory.sel(design=list(designs))
    store = tmp_path / "cal.zarr"
    lazy = bd.simulate(designs, store=store, chunk_size=chunk, **kw)
    assert lazy.duration_days.chunks is not None  # lazily opened
    assert set(TIME_VARS) <= set(lazy.data_vars)
    _same(mem, lazy.load())
    oc = bd.operating_characteristics(mem)
    assert "mean_duration_months" in oc
    xr.testing.assert_identical(oc, bd.operating_characteristics(bd.open_store(store)))
    xr.testing.assert_equal(oc, xr.open_zarr(store, group="oc").load())


@pytest.mark.parametrize("kw", [dict(chunk_size=60), dict(chunk_size=13),
                                dict(chunk_size=7, n_jobs=2)], ids=["one", "ragged", "threads"])
def test_simulate_oc_with_timeline_equals_in_memory(memory, kw) -> None:
    res = bd.simulate_oc(DESIGNS, **{**KW, **kw})
    oc = bd.operating_characteristics(memory)
    xr.testing.assert_identical(oc, res.oc)
    for v in ("mean_duration_months", "duration_months_q", "mean_suspended_days",
              "mean_turned_away", "mean_max_pending"):
        assert np.isfinite(res.oc[v].values).all(), v
    assert res.oc.duration_months_q.sizes["quantile"] == 3
    xr.testing.assert_identical(bd.concordance(memory), res.concordance)
    assert res.sims is None and res.manifest["timeline"]["dlt_window_days"] == 21.0


def test_simulate_oc_with_timeline_and_store(memory, tmp_path) -> None:
    res = bd.simulate_oc(TWO, store=tmp_path / "o.zarr", chunk_size=25, **KW)
    mem = memory.sel(design=list(TWO))
    xr.testing.assert_identical(bd.operating_characteristics(mem), res.oc)
    _same(mem, res.sims.load())


def test_simulate_oc_timeline_does_not_keep_patients(monkeypatch) -> None:
    """The reducer keeps only the per-trial duration variables, never patient arrays."""
    seen = []
    orig = CalendarOCReducer.add

    def spy(self, block):
        seen.append(sorted(block))
        return orig(self, block)

    monkeypatch.setattr(CalendarOCReducer, "add", spy)
    bd.simulate_oc(DESIGNS, **{**KW, "n_trials": 20}, chunk_size=10)
    assert seen and all(not any(k.startswith("patient_") for k in keys) for keys in seen)
    with pytest.raises(ValueError, match="protocol= is read only with timeline"):
        bd.simulate_oc(DESIGNS, CURVE, n_trials=2, progress=False,
                       protocol=bd.protocols.bat6021())  # fmt: skip


def test_reducer_refuses_a_trial_added_twice(memory) -> None:
    red = sim_mod._reducer(DESIGNS, sim_mod._scenario_table(None, KW["scenarios"]),
                           {g: d.spec() for g, d in DESIGNS.items()}, None, None, 8,
                           calendar_trials=60)  # fmt: skip
    part = memory.isel(trial=slice(0, 30))
    keys = ("selected", "is_mad", "n", "dlt", "stop_reason", *TIME_VARS)
    block = {k: part[k].to_numpy() for k in keys}
    red.add({**block, "trial_start": 0})
    red.add({**block, "trial_start": 20})
    with pytest.raises(ValueError, match="trial 20 was added 2 times"):
        red.operating_characteristics()


def test_interrupted_store_run_resumes_from_checkpoints(tmp_path, monkeypatch) -> None:
    """A run killed after some chunks leaves their checkpoints (and no store); the rerun
    reloads them, simulates only the rest, and its store equals the in-memory run."""
    kw = {**KW, "scenarios": {"ref": CURVE}, "n_trials": 30}
    mem = bd.simulate(TWO, **kw)
    ck, store = tmp_path / "ck", tmp_path / "cal.zarr"
    orig = cal_mod.run_calendar_chunk
    calls = []

    def dies_after_three(*args, **kwargs):
        if len(calls) == 3:
            raise KeyboardInterrupt("killed")
        calls.append(args[3])
        return orig(*args, **kwargs)

    monkeypatch.setattr(cal_mod, "run_calendar_chunk", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        bd.simulate(TWO, store=store, checkpoint_dir=ck, chunk_size=10, **kw)
    assert not store.exists()
    assert len(list(ck.glob("chunk-*.nc"))) == 3
    calls.clear()
    monkeypatch.setattr(cal_mod, "run_calendar_chunk", lambda *a, **k: (calls.append(a[3]),
                                                                        orig(*a, **k))[1])
    lazy = bd.simulate(TWO, store=store, checkpoint_dir=ck, chunk_size=10, **kw)
    n_units = 3 * len(TWO)  # chunks x designs
    assert len(calls) == n_units - 3
    _same(mem, lazy.load())
    xr.testing.assert_equal(bd.operating_characteristics(mem),
                            xr.open_zarr(store, group="oc").load())  # fmt: skip
    res = bd.simulate_oc(TWO, checkpoint_dir=ck, chunk_size=10, **kw)  # all reloaded
    assert len(calls) == n_units - 3
    xr.testing.assert_identical(bd.operating_characteristics(mem), res.oc)


def test_store_on_dask_workers(memory, tmp_path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                       dashboard_address=":0")  # fmt: skip
    try:
        with distributed.Client(cluster) as client:
            res = bd.simulate_oc(TWO, backend="dask", client=client, chunk_size=15,
                                 store=tmp_path / "d.zarr", **KW)  # fmt: skip
    finally:
        cluster.close()
    mem = memory.sel(design=list(TWO))
    xr.testing.assert_identical(bd.operating_characteristics(mem), res.oc)
    _same(mem, res.sims.load())


SPEC = """protocol = "bat6021"
seed = 11
[designs."AT+3+3"]
type = "3+3"
titration_levels = 3
[designs."TITE-BOIN"]
type = "BOIN"
target = 0.25
max_n = 12
tite_window = 21
[simulation]
n_trials = 24
target = 0.25
[simulation.scenarios.mono]
"MTD at 100 mg" = [0.01, 0.02, 0.04, 0.10, 0.25, 0.45, 0.60, 0.70]
[simulation.timeline]
accrual_per_month = 3.0
dlt_onset = { late = 0.7 }
"""


def test_cli_simulate_with_a_timeline_and_store(tmp_path, capsys) -> None:
    """``bayes-dose simulate --store DIR`` on a ``[simulation.timeline]`` spec writes
    ``DIR/mono.zarr`` (the in-memory trials, duration variables included) and reports the
    same operating characteristics as the run without a store."""
    import json

    from bayes_dose import cli
    from bayes_dose.io import load_spec

    path = tmp_path / "spec.toml"
    path.write_text(SPEC)
    assert cli.main(["simulate", "--spec", str(path), "--format", "json", "--no-progress"]) == 0
    plain = json.loads(capsys.readouterr().out)
    store = tmp_path / "stores"
    assert cli.main(["simulate", "--spec", str(path), "--format", "json", "--no-progress",
                     "--store", str(store)]) == 0  # fmt: skip
    out = capsys.readouterr()
    streamed = json.loads(out.out)
    assert "mono.zarr" in out.err
    assert streamed["operating characteristics"] == plain["operating characteristics"]
    assert any("E[months]" in r for r in streamed["operating characteristics"])
    spec = load_spec(path)
    mem = bd.simulate(spec.designs["mono"], scenarios=spec.scenarios("mono"), n_trials=24,
                      seed=11, progress=False, protocol=spec.protocol, timeline=spec.timeline)
    _same(mem, bd.open_store(store / "mono.zarr").load())
    (tmp_path / "file").write_text("x")
    assert cli.main(["simulate", "--spec", str(path), "--store", str(tmp_path / "file")]) != 0
    assert "--store" in capsys.readouterr().err
