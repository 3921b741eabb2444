"""Simulation with common random numbers: invariants, storage, agreement with exact OCs."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.crn import latent_uniforms, philox4x32
from bayes_dose.designs.base import MAX_N, Design
from bayes_dose.designs.state import Decision, DoseData, Selection

sim_mod = importlib.import_module("bayes_dose.simulate")
CURVE5 = [0.05, 0.15, 0.3, 0.45, 0.6]


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    """Identical numbers (the manifest's date may differ)."""
    b = b.copy()
    b.attrs = a.attrs
    xr.testing.assert_identical(a, b)


class _NeverStops(Design):
    """Treats cohorts at level 1 forever (needs a max_n)."""

    def _rule(self, data: DoseData, estimate) -> Decision:
        T = data.n_trials
        return Decision(np.zeros(T, np.int64), np.full(T, 3), np.zeros(T, bool), np.zeros(T))

    def select(self, data: DoseData, estimate=None) -> Selection:
        return Selection(np.zeros(data.n_trials, np.int64), np.zeros(data.n_trials, bool))


class _StopsLate(_NeverStops):
    """Stops by its own rule after 40 patients (more than the initial 6 * n_doses slots)."""

    self_limiting = True

    def _rule(self, data: DoseData, estimate) -> Decision:
        d = super()._rule(data, estimate)
        done = data.total_n >= 40
        return Decision(np.where(done, -1, d.next_dose), np.where(done, 0, d.cohort_size), done,
                        d.reason)  # fmt: skip


# ----------------------------------------------------------------------------- CRN
def test_philox_known_answer_vectors() -> None:
    # Random123 known-answer tests for philox4x32-10.
    assert philox4x32(np.zeros(4, np.uint64), (0, 0)).tolist() == [
        0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]  # fmt: skip
    ctr = np.array([0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344], np.uint64)
    assert philox4x32(ctr, (0xA4093822, 0x299F31D0)).tolist() == [
        0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]  # fmt: skip


def test_latent_uniforms_pure_function_of_seed_trial_patient() -> None:
    u = latent_uniforms(7, np.arange(100), 10)
    assert np.array_equal(latent_uniforms(7, [42, 3], 7), u[[42, 3], :7])
    assert not np.array_equal(latent_uniforms(8, np.arange(100), 10), u)
    big = latent_uniforms(7, np.arange(20_000), 8)
    assert abs(big.mean() - 0.5) < 4 * np.sqrt(1 / 12 / big.size)
    assert big.min() >= 0 and big.max() < 1


def test_dlt_iff_latent_uniform_below_true_prob_for_every_design() -> None:
    designs = {
        "3+3": bd.ThreePlusThree(5),
        "3+3 esc": bd.ThreePlusThree(5, variant="escalation_only"),
        "AT": bd.ThreePlusThree(5, titration_levels=3),
    }
    sims = bd.simulate(designs, CURVE5, n_trials=300, seed=11, progress=False)
    u = latent_uniforms(11, np.arange(300), sims.sizes["patient"])
    p = np.asarray(CURVE5)
    for g in designs:
        dose = sims.patient_dose.sel(design=g, scenario="true_tox").to_numpy()
        dlt = sims.patient_dlt.sel(design=g, scenario="true_tox").to_numpy()
        treated = dose > 0
        assert np.array_equal(dlt[treated], (u < p[np.maximum(dose, 1) - 1])[treated])
        assert not dlt[~treated].any()
        # counts per dose agree with the patient listing; patients are contiguous
        n = sims.n.sel(design=g, scenario="true_tox").to_numpy()
        for lv in range(1, 6):
            assert np.array_equal(n[:, lv - 1], (dose == lv).sum(axis=1))
        length = sims.n_patients.sel(design=g, scenario="true_tox").to_numpy()
        assert np.array_equal(treated.sum(axis=1), length)
        assert np.array_equal(treated, np.arange(dose.shape[1]) < length[:, None])


def test_identical_for_any_chunking_jobs_and_design_set() -> None:
    designs = {"3+3": bd.ThreePlusThree(5), "AT": bd.ThreePlusThree(5, titration_levels=2)}
    scen = {"ref": CURVE5, "toxic": [0.25, 0.35, 0.5, 0.65, 0.8]}
    kw = dict(scenarios=scen, n_trials=250, seed=5, progress=False)
    base = bd.simulate(designs, **kw)
    _same(base, bd.simulate(designs, chunk_size=17, **kw))
    _same(base, bd.simulate(designs, n_jobs=2, chunk_size=40, **kw))
    alone = bd.simulate({"AT": designs["AT"]}, **kw)
    joint = base.sel(design=["AT"])
    P = alone.sizes["patient"]
    assert not joint.patient_dose.isel(patient=slice(P, None)).any()
    for v in ("n", "dlt", "selected", "is_mad", "stop_reason", "n_patients"):
        assert np.array_equal(alone[v].to_numpy(), joint[v].to_numpy())
    for v in ("patient_dose", "patient_dlt"):
        assert np.array_equal(alone[v].to_numpy(), joint[v].isel(patient=slice(0, P)).to_numpy())


def test_seed_changes_the_numbers() -> None:
    a = bd.simulate({"d": bd.ThreePlusThree(5)}, CURVE5, n_trials=200, seed=1, progress=False)
    b = bd.simulate({"d": bd.ThreePlusThree(5)}, CURVE5, n_trials=200, seed=2, progress=False)
    assert not np.array_equal(
        a.patient_dlt.to_numpy(), b.patient_dlt.to_numpy()[..., : a.sizes["patient"]]
    )


# ----------------------------------------------------------------------------- caps / errors
def test_max_n_caps_a_design_that_never_stops() -> None:
    d = _NeverStops(5)
    with pytest.raises(ValueError, match="no max_n and no stopping rule"):
        bd.simulate({"x": d}, CURVE5, n_trials=5, seed=1, progress=False)  # at once, not after 1000
    sims = bd.simulate({"x": d}, CURVE5, n_trials=50, seed=1, max_n=10, progress=False)
    assert (sims.n_patients == 10).all()
    assert (sims.stop_reason == MAX_N).all()
    assert (sims.n.sel(dose=0) == 10).all()  # last cohort truncated to 1 patient
    assert (sims.n_cohorts == 4).all()
    own = bd.simulate({"x": _NeverStops(5, max_n=12)}, CURVE5, n_trials=20, seed=1, progress=False)
    assert (own.n_patients == 12).all()


def test_patient_axis_grows_for_long_uncapped_trials() -> None:
    sims = bd.simulate({"x": _StopsLate(5)}, CURVE5, n_trials=30, seed=3, progress=False)
    assert (sims.n_patients == 42).all() and sims.sizes["patient"] == 42
    u = latent_uniforms(3, np.arange(30), 42)
    dlt = sims.patient_dlt.squeeze().to_numpy()
    assert np.array_equal(dlt, (u < CURVE5[0]).astype(np.int8))
    assert (sims.patient_dose == 1).all()


def test_bad_inputs_are_named() -> None:
    d = {"3+3": bd.ThreePlusThree(5)}
    with pytest.raises(ValueError, match="exactly one"):
        bd.simulate(d, CURVE5, scenarios={"a": CURVE5}, n_trials=5, progress=False)
    with pytest.raises(ValueError, match="levels"):
        bd.simulate(d, [0.1, 0.2], n_trials=5, progress=False)
    with pytest.raises(ValueError, match="true_tox"):
        bd.simulate(d, [0.1, 0.2, 1.3, 0.4, 0.5], n_trials=5, progress=False)
    with pytest.raises(ValueError, match="n_trials"):
        bd.simulate(d, CURVE5, n_trials=0, progress=False)
    with pytest.raises(ValueError, match="backend"):
        bd.simulate(d, CURVE5, n_trials=5, backend="spark", progress=False)
    with pytest.raises(ValueError, match="same number of dose levels"):
        bd.simulate({"a": bd.ThreePlusThree(5), "b": bd.ThreePlusThree(6)}, CURVE5, n_trials=5,
                    progress=False)  # fmt: skip


# ----------------------------------------------------------------------------- storage
def test_manifest_and_netcdf_round_trip(tmp_path) -> None:
    lib = bd.scenarios.library("combo")
    designs = {"3+3": bd.ThreePlusThree(5, doses_mg=(30, 100, 300, 600, 900))}
    sims = bd.simulate(designs, scenarios=lib, n_trials=100, seed=9, progress=False)
    m = json.loads(sims.attrs["manifest"])
    assert m["version"] == bd.__version__ and m["seed"] == 9 and m["n_trials"] == 100
    assert m["designs"]["3+3"] == designs["3+3"].spec()
    assert m["scenarios"]["mtd_middle"] == {"true_tox": list(lib["mtd_middle"]), "target": 0.25}
    assert len(m["input_hash"]) == 64 and "date" in m
    assert json.loads(sims.attrs["reasons"])["3+3"] == list(designs["3+3"].reasons)
    assert sims.dose_mg.values.tolist() == [30, 100, 300, 600, 900]
    assert sims.target.values.tolist() == [0.25] * len(lib)
    again = bd.simulate(designs, scenarios=lib, n_trials=100, seed=9, progress=False)
    assert json.loads(again.attrs["manifest"])["input_hash"] == m["input_hash"]
    path = tmp_path / "sims.nc"
    sims.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_identical(sims, back)


def test_checkpoint_resume_computes_nothing(tmp_path, monkeypatch) -> None:
    designs = {"3+3": bd.ThreePlusThree(5), "AT": bd.ThreePlusThree(5, titration_levels=3)}
    kw = dict(n_trials=120, seed=4, chunk_size=50, progress=False, checkpoint_dir=tmp_path)
    first = bd.simulate(designs, CURVE5, **kw)
    files = sorted(tmp_path.glob("chunk-*.nc"))
    assert len(files) == 2 * 3  # designs x chunks
    mtimes = [f.stat().st_mtime_ns for f in files]

    def boom(*args, **kwargs):
        raise AssertionError("a checkpointed chunk was recomputed")

    monkeypatch.setattr(sim_mod, "run_chunk", boom)
    second = bd.simulate(designs, CURVE5, **kw)
    _same(first, second)
    assert [f.stat().st_mtime_ns for f in files] == mtimes
    # a different seed is a different key: it must compute (and here fail loudly)
    with pytest.raises(AssertionError, match="recomputed"):
        bd.simulate(designs, CURVE5, **{**kw, "seed": 5})


# ----------------------------------------------------------------------------- references
@pytest.mark.parametrize(
    ("design", "curve"),
    [
        (bd.ThreePlusThree(5, variant="escalation_only"), CURVE5),
        (bd.ThreePlusThree(5), [0.25, 0.35, 0.5, 0.65, 0.8]),
        (bd.ThreePlusThree(8, titration_levels=3), bd.scenarios.library()["mtd_middle"]),
    ],
    ids=["esc-only", "deesc-toxic", "bat6021-AT"],
)
def test_three_plus_three_matches_exact_enumeration(design, curve) -> None:
    """Simulated selection and patients per dose within 3 MC SE of exact enumeration."""
    T = 4000
    sims = bd.simulate({"d": design}, curve, n_trials=T, seed=2024, progress=False)
    oc = bd.operating_characteristics(sims).sel(design="d", scenario="true_tox")
    ex = bd.exact_operating_characteristics(design, curve)
    se = np.sqrt(ex.p_select * (1 - ex.p_select) / T)
    assert np.all(np.abs(oc.p_select.to_numpy() - ex.p_select) <= 3 * se + 1e-12)
    se_none = np.sqrt(ex.p_no_mtd * (1 - ex.p_no_mtd) / T)
    assert abs(float(oc.p_none) - ex.p_no_mtd) <= 3 * se_none
    assert np.all(
        np.abs(oc.mean_n.to_numpy() - ex.expected_n_per_dose) <= 3 * oc.mean_n_se.to_numpy() + 1e-12
    )
    assert abs(float(oc.mean_total_n) - ex.expected_n) <= 3 * float(oc.mean_total_n_se)


def test_zarr_round_trip_when_installed(tmp_path) -> None:
    pytest.importorskip("zarr")
    sims = bd.simulate({"d": bd.ThreePlusThree(5)}, CURVE5, n_trials=50, seed=1, progress=False)
    sims.to_zarr(tmp_path / "s.zarr", zarr_format=2)
    xr.testing.assert_identical(sims, xr.open_zarr(tmp_path / "s.zarr").load())


def test_progress_bar_runs(capsys) -> None:
    sims = bd.simulate({"d": bd.ThreePlusThree(5)}, CURVE5, n_trials=20, seed=1, chunk_size=10)
    assert sims.sizes["trial"] == 20
    assert "simulate" in capsys.readouterr().err


def test_model_based_designs_same_patients_and_chunk_invariant() -> None:
    """BOIN, CRM and BLRM (grid engines inside decide) on the same latent patients; any
    chunking gives the same numbers."""
    skel = bd.crm_skeleton(target=0.3, halfwidth=0.05, mtd_guess=3, n_doses=5)
    designs = {
        "BOIN": bd.BOIN(target=0.3, n_doses=5, cohort_size=3, max_n=24),
        "CRM": bd.CRM(skeleton=skel, target=0.3, cohort_size=3, max_n=24),
        "3+3": bd.ThreePlusThree(5),
    }
    designs["BLRM"] = bd.BLRM(doses=[10, 30, 100, 300, 600], reference_dose=100,
                              cohort_size=3, max_n=24)  # fmt: skip
    kw = dict(n_trials=200, seed=21, progress=False)
    base = bd.simulate(designs, CURVE5, **kw)
    _same(base, bd.simulate(designs, CURVE5, chunk_size=70, n_jobs=2, **kw))
    alone = bd.simulate({"CRM": designs["CRM"]}, CURVE5, **kw)
    for v in ("n", "dlt", "selected", "stop_reason", "n_patients"):
        assert np.array_equal(alone[v].to_numpy(), base[v].sel(design=["CRM"]).to_numpy())
    u = latent_uniforms(21, np.arange(200), base.sizes["patient"])
    for g in designs:
        dose = base.patient_dose.sel(design=g).squeeze().to_numpy()
        dlt = base.patient_dlt.sel(design=g).squeeze().to_numpy()
        treated = dose > 0
        assert np.array_equal(dlt[treated], (u < np.asarray(CURVE5)[dose - 1])[treated])
    n_pat = base.n_patients.sel(design=["BOIN", "CRM"]).to_numpy()
    assert n_pat.max() == 24
    # patient k of trial t is the same person for every design: the first cohort of 3
    # at level 1 has the same DLTs under every design
    first = base.patient_dlt.isel(patient=slice(0, 3)).squeeze().to_numpy()
    assert all(np.array_equal(first[0], f) for f in first[1:])
