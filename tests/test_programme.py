"""bd.Programme: Part I (monotherapy) and Part II (combination) simulated together, the
combination decisions of trial t borrowing the final monotherapy counts of trial t."""

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose.arm_dataset import arm_view
from bayes_dose.programme import arm_seed

GRID = (7, 7, 15, 25)
COMBO_CURVE = [0.05, 0.1, 0.2, 0.35, 0.5]
VARS = ["n", "dlt", "selected", "is_mad", "stop_reason", "n_patients", "n_cohorts",
        "patient_dose", "patient_dlt"]  # fmt: skip


def _designs():
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    combo = bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, grid=GRID, max_n=9)
    return mono, combo


def _outcomes(n, y):
    """Monotherapy Outcomes with these per-dose counts (one cohort per dose)."""
    toks = [f"{i + 1}" + "T" * int(y[i]) + "N" * int(n[i] - y[i]) for i in range(len(n)) if n[i]]
    return bd.Outcomes.parse(" ".join(toks), arm="mono")


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    w = min(a.sizes["patient"], b.sizes["patient"])
    for v in VARS:
        x, z = a[v], b[v]
        if "patient" in x.dims:
            assert int(a[v].isel(patient=slice(w, None)).sum()) == 0
            assert int(b[v].isel(patient=slice(w, None)).sum()) == 0
            x, z = x.isel(patient=slice(0, w)), z.isel(patient=slice(0, w))
        np.testing.assert_array_equal(x.to_numpy(), z.to_numpy(), err_msg=v)


def _same_oc(stacked: xr.Dataset, own: xr.Dataset) -> None:
    """The arm's slice of a stacked OC Dataset equals the arm's own OCs, value for value."""
    for v in own.data_vars:
        x = stacked[v].sel({d: own[d] for d in own[v].dims if d in own.coords})
        np.testing.assert_array_equal(x.transpose(*own[v].dims).to_numpy().astype(float),
                                      own[v].to_numpy().astype(float), err_msg=v)  # fmt: skip


def _fixed(combo, n, y, curve, n_trials, seed):
    """The combination arm simulated with these monotherapy counts held fixed."""
    stored = combo.replace(mono_data=_outcomes(n, y))
    return bd.simulate({"c": stored}, curve, n_trials=n_trials, seed=seed, progress=False)


def test_constant_mono_counts_equal_stored_mono_data():
    """A deterministic monotherapy arm (every trial ends with the same counts): the
    programme's combination BLRM equals simulating it with those counts as mono_data."""
    _, combo = _designs()
    prog = bd.Programme(arms={"mono": {"c": bd.ThreePlusThree(8)}, "combo": {"c": combo}},
                        opens=bd.opens_after("mono"))  # fmt: skip
    res = prog.simulate({"mono": [0, 0, 0, 1, 1, 1, 1, 1], "combo": COMBO_CURVE},
                        n_trials=6, seed=3)  # fmt: skip
    mn = arm_view(res, "mono")["n"].isel(design=0, scenario=0).to_numpy()
    my = arm_view(res, "mono")["dlt"].isel(design=0, scenario=0).to_numpy()
    assert (mn == mn[0]).all() and (my == my[0]).all()
    assert mn[0].tolist() == [3, 3, 6, 3, 0, 0, 0, 0] and my[0].tolist() == [0, 0, 0, 3, 0, 0, 0, 0]
    ref = _fixed(combo, mn[0], my[0], COMBO_CURVE, 6, arm_seed(3, 1))
    _same(arm_view(res, "combo"), ref)


def test_each_trial_borrows_its_own_monotherapy_outcome():
    """Two scenario pairs whose monotherapy arms end differently (all levels cleared vs a
    DLT wall at level 2) give different combination trials, each equal to the trial run
    with its own monotherapy counts fixed; a random monotherapy arm: trial t equals the
    combination trial simulated with trial t's monotherapy counts."""
    _, combo = _designs()
    prog = bd.Programme(arms={"mono": {"3+3": bd.ThreePlusThree(8)}, "combo": {"cb": combo}},
                        opens=bd.opens_after("mono"))  # fmt: skip
    assert prog.source == {"cb": "3+3"}  # default: the first monotherapy design
    scen = {
        "safe": {"mono": [0.0] * 8, "combo": COMBO_CURVE},
        "wall": {"mono": [0.0] + [1.0] * 7, "combo": COMBO_CURVE},
        "random": {"mono": [0.05, 0.1, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65], "combo": COMBO_CURVE},
    }
    res = prog.simulate(scen, n_trials=4, seed=5)
    c = arm_view(res, "combo").isel(design=0)
    assert not np.array_equal(c["n"].sel(scenario="safe"), c["n"].sel(scenario="wall"))
    mono = arm_view(res, "mono").isel(design=0)
    rand_n = mono["n"].sel(scenario="random").to_numpy()
    assert len({tuple(r) for r in rand_n}) > 1  # the random arm's trials differ
    for s in scen:
        mn, my = mono["n"].sel(scenario=s).to_numpy(), mono["dlt"].sel(scenario=s).to_numpy()
        for t in range(4):
            ref = _fixed(combo, mn[t], my[t], COMBO_CURVE, t + 1, arm_seed(5, 1))
            _same(c.sel(scenario=s).isel(trial=t), ref.isel(design=0, scenario=0, trial=t))


def test_non_borrowing_arms_equal_bd_simulate_and_totals():
    """Designs that do not borrow: the first arm is bd.simulate(seed), the second
    bd.simulate(seed=arm_seed(seed, 1)); programme totals add the two arms."""
    mono = {"3+3": bd.ThreePlusThree(5), "BOIN": bd.BOIN(0.3, n_doses=5, max_n=15)}
    combo = {"3+3": bd.ThreePlusThree(4), "BOIN": bd.BOIN(0.3, n_doses=4, max_n=12)}
    prog = bd.Programme(arms={"mono": mono, "combo": combo}, opens=bd.opens_after("mono"))
    m_curve, c_curve = [0.05, 0.1, 0.2, 0.3, 0.5], [0.1, 0.2, 0.3, 0.45]
    res = prog.simulate({"mono": m_curve, "combo": c_curve}, n_trials=30, seed=11)
    _same(arm_view(res, "mono"), bd.simulate(mono, m_curve, n_trials=30, seed=11, progress=False))
    ref = bd.simulate(combo, c_curve, n_trials=30, seed=arm_seed(11, 1), progress=False)
    _same(arm_view(res, "combo"), ref)
    assert arm_seed(11, 1) != 11
    tr = res
    # the arm dimension: dose padded to the larger arm, each arm cut out exactly
    assert res.sizes["dose"] == 5 and res["n_doses"].values.tolist() == [5, 4]
    assert (res["n"].sel(arm="combo").isel(dose=4) == 0).all()
    for arm, own in (("combo", ref), ("mono", bd.simulate(mono, m_curve, n_trials=30, seed=11,
                                                          progress=False))):  # fmt: skip
        view = arm_view(res, arm)
        xr.testing.assert_equal(view, own)
        assert {v: view[v].dtype for v in view.data_vars} == {v: own[v].dtype for v in own.data_vars}
    np.testing.assert_array_equal(
        tr["programme_total_n"].to_numpy(),
        arm_view(res, "mono")["n_patients"].to_numpy().astype(int) + ref["n_patients"].to_numpy(),
    )
    oc = bd.operating_characteristics(res, target=0.3)
    # P(correct in both arms) from the per-arm correct selections, independent computation
    mtd_m, mtd_c = bd.scenarios.true_mtd(m_curve, 0.3), bd.scenarios.true_mtd(c_curve, 0.3)
    both = (arm_view(res, "mono")["selected"].to_numpy() == mtd_m) & (ref["selected"].to_numpy() == mtd_c)
    p = both.mean(axis=-1)
    np.testing.assert_allclose(oc["programme_p_correct_both"].to_numpy(), p, rtol=0, atol=1e-12)
    np.testing.assert_allclose(oc["programme_p_correct_both_se"].to_numpy(),
                               np.sqrt(p * (1 - p) / 30), rtol=0, atol=1e-12)  # fmt: skip
    tot = tr["programme_total_dlt"].to_numpy().astype(float)
    np.testing.assert_allclose(oc["programme_mean_total_dlt"].to_numpy(), tot.mean(-1))
    np.testing.assert_allclose(oc["programme_mean_total_n_se"].to_numpy(),
                               tr["programme_total_n"].to_numpy().std(-1, ddof=1) / np.sqrt(30))  # fmt: skip
    # per-arm OCs are bd.operating_characteristics of each arm's own Dataset, exactly
    _same_per_arm(oc.sel(arm="combo"), bd.operating_characteristics(ref, 0.3))
    _same_per_arm(oc.sel(arm="mono"), bd.operating_characteristics(
        bd.simulate(mono, m_curve, n_trials=30, seed=11, progress=False), 0.3))
    conc = bd.concordance(res)
    assert conc["arm"].values.tolist() == ["mono", "combo"]
    _same_per_arm(conc.sel(arm="combo"), bd.concordance(ref))
    # without a target (plain curves, 3+3 has none): no guessed MTD -- NaN for the designs
    # without one (the other OCs stay), and the note names them
    oc0 = bd.operating_characteristics(res)
    p0 = oc0["programme_p_correct_both"]
    assert np.isnan(float(p0.sel(design="3+3").squeeze()))
    assert np.isfinite(float(p0.sel(design="BOIN").squeeze()))
    assert "no target" in oc0.attrs["note"] and "3+3" in oc0.attrs["note"]


def _same_per_arm(stacked: xr.Dataset, own: xr.Dataset) -> None:
    """An arm's slice of a stacked OC / concordance Dataset equals the arm's own, exactly
    (on the arm's designs, levels and categories; dtypes may widen by the padding)."""
    sub = stacked.sel({d: own[d].values for d in own.dims if d in stacked.dims})
    for v in own.data_vars:
        a, b = sub[v].transpose(*own[v].dims).to_numpy(), own[v].to_numpy()
        np.testing.assert_array_equal(a.astype(b.dtype), b, err_msg=v)
        if b.dtype.kind not in "fcO":  # no value changed by a widened dtype
            np.testing.assert_array_equal(np.asarray(a, dtype=float), b.astype(float), err_msg=v)


def test_bit_identical_across_n_jobs_and_chunk_size():
    _, combo = _designs()
    prog = bd.Programme(arms={"mono": {"c": bd.ThreePlusThree(8)},
                              "combo": {"c": combo, "3+3": bd.ThreePlusThree(5)}},
                        opens=bd.opens_after("mono"))  # fmt: skip
    scen = {"mono": [0.05, 0.1, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65], "combo": COMBO_CURVE}
    a = prog.simulate(scen, n_trials=5, seed=2)
    b = prog.simulate(scen, n_trials=5, seed=2, n_jobs=2, chunk_size=2)
    for arm in ("mono", "combo"):
        _same(arm_view(a, arm), arm_view(b, arm))
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


def test_errors_are_explicit():
    mono = {"3+3": bd.ThreePlusThree(3)}
    combo = {"3+3": bd.ThreePlusThree(2)}
    with pytest.raises(ValueError, match="opens_after"):
        bd.Programme(arms={"mono": mono, "combo": combo}, opens="mono")
    with pytest.raises(ValueError, match="names no arm"):
        bd.Programme(arms={"mono": mono, "combo": combo}, opens=bd.opens_after("x"))
    with pytest.raises(ValueError, match="source"):
        bd.Programme(arms={"mono": mono, "combo": combo}, opens=bd.opens_after("mono"),
                     source={"nope": "3+3"})  # fmt: skip
    prog = bd.Programme(arms={"mono": mono, "combo": combo}, opens=bd.opens_after("mono"))
    with pytest.raises(ValueError, match="scenario 'a'"):
        prog.simulate({"a": {"mono": [0.1, 0.2, 0.3]}}, n_trials=2)
    _, cb = _designs()
    with pytest.raises(ValueError, match="monotherapy doses"):
        bd.Programme(arms={"mono": mono, "combo": {"cb": cb}}, opens=bd.opens_after("mono"))


def test_blrm_mono_arm_paired_by_name():
    """A BLRM monotherapy arm and the combination BLRM of the same name: paired by name,
    and the programme's combination trials equal the fixed-mono_data runs per trial."""
    mono, combo = _designs()
    mono = mono.replace(max_n=9)
    prog = bd.Programme(arms={"mono": {"BLRM": mono, "3+3": bd.ThreePlusThree(8)},
                              "combo": {"BLRM": combo}}, opens=bd.opens_after("mono"))  # fmt: skip
    assert prog.source == {"BLRM": "BLRM"}
    m_curve = [0.02, 0.05, 0.1, 0.15, 0.25, 0.35, 0.45, 0.55]
    res = prog.simulate({"mono": m_curve, "combo": COMBO_CURVE}, n_trials=3, seed=7)
    m = arm_view(res, "mono").sel(design="BLRM", scenario="true_tox")
    for t in range(3):
        ref = _fixed(combo, m["n"][t].to_numpy(), m["dlt"][t].to_numpy(), COMBO_CURVE, t + 1,
                     arm_seed(7, 1))  # fmt: skip
        _same(arm_view(res, "combo").isel(design=0, scenario=0, trial=t),
              ref.isel(design=0, scenario=0, trial=t))  # fmt: skip
    other = bd.BLRM([10, 20, 40, 80, 160, 320, 480, 640], reference_dose=300)
    with pytest.raises(ValueError, match="monotherapy doses"):
        bd.Programme(arms={"mono": {"BLRM": other}, "combo": {"BLRM": combo}},
                     opens=bd.opens_after("mono"))  # fmt: skip


def test_correct_both_is_nan_only_for_the_design_without_a_target():
    """A 3+3 (no target) beside a BOIN (target 0.3) in the combination arm: the BOIN pair
    gets its programme P(correct in both arms), the 3+3 pair NaN (it used to drop the
    variable for every design: KeyError)."""
    mono = {"BOIN": bd.BOIN(0.3, 4, max_n=12)}
    combo = {"BOIN": bd.BOIN(0.3, 3, max_n=9), "3+3": bd.ThreePlusThree(3)}
    prog = bd.Programme(arms={"mono": mono, "combo": combo}, opens=bd.opens_after("mono"),
                        source={"3+3": "BOIN"})  # fmt: skip
    res = prog.simulate({"mono": [0.05, 0.15, 0.3, 0.5], "combo": [0.1, 0.3, 0.5]},
                        n_trials=40, seed=3)  # fmt: skip
    oc = bd.operating_characteristics(res)
    p = oc["programme_p_correct_both"]
    assert np.isnan(float(p.sel(design="3+3").squeeze()))
    m = bd.arm_view(res, "mono").sel(design="BOIN").isel(scenario=0)["selected"].to_numpy()
    c = bd.arm_view(res, "combo").sel(design="BOIN").isel(scenario=0)["selected"].to_numpy()
    assert float(p.sel(design="BOIN").squeeze()) == np.mean((m == 3) & (c == 2))
    assert "3+3" in oc.attrs["note"]

