"""Combination BLRM: borrowing from the monotherapy arm, interaction, exact engine."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

import bayes_dose as bd
from bayes_dose.designs.state import DoseData
from bayes_dose.inference.blrm_grid import FLAG_CUT, GridEngine

SMALL = (13, 13, 31, 45)


@pytest.fixture(scope="module")
def setup():
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    out = bd.examples.bat6021_outcomes()
    return proto, mono, out


def test_combo_doses_default_to_the_protocol_arm(setup):
    proto, mono, _ = setup
    combo = bd.CombinationBLRM(mono=mono)
    assert combo.doses_mg == proto.arm("combo").doses_mg
    assert combo.target_interval == mono.target_interval and combo.ewoc == mono.ewoc


def test_without_combo_data_the_combo_prior_follows_from_the_mono_posterior(setup):
    """E[p12(d)] = E over the mono posterior of (alpha, beta) and the partner / interaction
    priors, computed independently: 2-D BLRM grid posterior x Gauss-Hermite (24 x 24)."""
    _, mono, out = setup
    partner = bd.NormalPrior(mean=logit(0.05), sd=0.8)
    inter = bd.NormalPrior(mean=0.0, sd=1.121)
    combo = bd.CombinationBLRM(
        mono=mono, partner_prior=partner, interaction_prior=inter, grid=(17, 17, 31, 45)
    )
    fit = combo.fit({"mono": out.arm("mono"), "combo": bd.Outcomes.parse("")})

    d = DoseData.from_outcomes(out.arm("mono"), mono.n_doses)
    eng = GridEngine(mono.model, (61, 121))
    w = eng.weights({"arm": (d.n, d.dlt)})[0]
    la, lb = eng.quad.params["log_alpha"], eng.quad.params["log_beta"]
    x = np.log(np.asarray(combo.doses) / 300.0)
    p1 = expit(la[:, None] + np.exp(lb)[:, None] * x)  # (S, D)
    t, gw = np.polynomial.hermite_e.hermegauss(24)
    gw = gw / gw.sum()
    p2 = expit(partner.mean + partner.sd * t)  # (K,)
    eta = inter.mean + inter.sd * t  # (K,)
    p0 = 1 - (1 - p1[:, :, None]) * (1 - p2)  # (S, D, K)
    # odds p12 = odds p0 * exp(eta d / d*); average over eta then p2
    lo0 = logit(p0)[..., None] + eta * (np.asarray(combo.doses) / 300.0)[None, :, None, None]
    mean = np.einsum("s,sdkj,k,j->d", w, expit(lo0), gw, gw)
    np.testing.assert_allclose(fit.prob_tox.to_numpy(), mean, atol=2e-4)
    # and the start: no combo patient yet -> the recommended combination starting dose
    # (issue 13 item 4, was level 1): the highest level with P(overdose) < 0.25 at or
    # below 300 mg, the highest dose cleared in monotherapy (1/6 DLTs; 600 mg had 2/3)
    over = fit.interval_probs.sel(category="over").to_numpy()
    ok = (over < 0.25) & (np.asarray(combo.doses) <= 300)
    assert fit.start_dose and fit.next_dose == int(np.flatnonzero(ok)[-1]) + 1


def test_borrowing_uses_mono_data_and_borrow_false_ignores_them(setup):
    _, mono, out = setup
    with_b = bd.CombinationBLRM(mono=mono, grid=SMALL).fit(out)
    alone = bd.CombinationBLRM(mono=mono, borrow=False, grid=SMALL).fit(out)
    # borrowing with no monotherapy data is an error, not a silent fit on the prior
    # (tests/test_borrowing_arms.py)
    with pytest.raises(ValueError, match="needs the monotherapy arm"):
        bd.CombinationBLRM(mono=mono, grid=SMALL).fit({"combo": out.arm("combo")})
    # the mono arm's 2/3 DLTs at 600 mg inform the combination's upper doses
    assert abs(float(with_b.prob_tox[3]) - float(alone.prob_tox[3])) > 0.02


def test_one_outcomes_with_both_arms_equals_the_mapping(setup):
    _, mono, out = setup
    design = bd.CombinationBLRM(mono=mono, grid=SMALL)
    a = design.fit(out)
    b = design.fit({"mono": out.arm("mono"), "combo": out.arm("combo")})
    np.testing.assert_allclose(a.prob_tox, b.prob_tox, atol=0)
    assert (a.next_dose, a.mtd) == (b.next_dose, b.mtd)


def test_large_positive_interaction_moves_the_combo_mtd_down(setup):
    """Monotherapy clean to 300 mg; combination data that are toxic where the mono arm was
    not: the combination MTD falls and the interaction's posterior mean turns positive."""
    _, mono, _ = setup
    mono_out = bd.Outcomes.parse("4NNN 5NNN 6NNN 6NNN 7NNT 7NNN", arm="mono")
    design = bd.CombinationBLRM(mono=mono, grid=SMALL)
    benign = bd.Outcomes.parse("1NNN 2NNN 3NNN 3NNN", arm="combo")
    toxic = bd.Outcomes.parse("1NNN 2NTT 1NTN 1NNT", arm="combo")
    f_benign = design.fit({"mono": mono_out, "combo": benign})
    f_toxic = design.fit({"mono": mono_out, "combo": toxic})
    assert f_benign.mtd >= 3
    assert f_toxic.mtd is None or f_toxic.mtd < f_benign.mtd
    assert f_toxic.estimate.stats["eta_mean"][0] > 0.5 > f_benign.estimate.stats["eta_mean"][0]


def test_combo_grid_converges(setup):
    """A coarse grid vs the default (both the prior grid alone, ``method="grid"``): means
    within 1e-5, interval probs within 3e-3; the coarse grid's 17 partner / interaction
    points leave the cut unsettled, and it says so."""
    _, mono, out = setup
    a = bd.CombinationBLRM(mono=mono, grid=(17, 17, 31, 45), method="grid").fit(out)
    b = bd.CombinationBLRM(mono=mono, method="grid").fit(out)
    assert FLAG_CUT in a.grid_flags and not b.grid_flags
    np.testing.assert_allclose(a.prob_tox, b.prob_tox, atol=1e-5)
    np.testing.assert_allclose(a.interval_probs, b.interval_probs, atol=3e-3)


@pytest.mark.slow
def test_combo_default_grid_against_a_much_finer_grid(setup):
    """Default grid vs 61 x 61 partner x interaction and finer mono axes: means within
    1e-5, interval probabilities within 1e-3 (measured: 6e-4)."""
    _, mono, out = setup
    a = bd.CombinationBLRM(mono=mono).fit(out)
    b = bd.CombinationBLRM(mono=mono, grid=(61, 61, 41, 61)).fit(out)
    np.testing.assert_allclose(a.prob_tox, b.prob_tox, atol=1e-5)
    np.testing.assert_allclose(a.interval_probs, b.interval_probs, atol=1e-3)


def test_bad_combo_inputs_raise(setup):
    _, mono, out = setup
    with pytest.raises(ValueError, match="mono must be a BLRM"):
        bd.CombinationBLRM(mono="BLRM")
    with pytest.raises(ValueError, match="NormalPrior"):
        bd.CombinationBLRM(mono=mono, partner_prior=(0, 1))
    with pytest.raises(ValueError, match="sd"):
        bd.NormalPrior(0.0, -1.0)
    design = bd.CombinationBLRM(mono=mono, grid=SMALL)
    with pytest.raises(ValueError, match="expected"):
        design.fit({"mono": out.arm("mono")})
    with pytest.raises(ValueError, match="expected"):
        design.fit({"mono": out.arm("mono"), "combo": out.arm("combo"), "x": out})


def test_stored_mono_data_enables_simulation_and_paths_of_the_combo_arm():
    """With ``mono_data`` the combination arm can be simulated and enumerated on its own
    counts, borrowing from the stored monotherapy results exactly as ``fit`` does."""
    proto = bd.protocols.bat6021()
    out = bd.examples.bat6021_outcomes()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    grid = (7, 7, 15, 25)
    plain = bd.CombinationBLRM(mono=mono, grid=grid, max_n=9)
    stored = bd.CombinationBLRM(mono=mono, grid=grid, max_n=9, mono_data=out)
    assert plain.requires_other_arms and not stored.requires_other_arms
    with pytest.raises(ValueError, match="another arm's data"):
        bd.simulate({"c": plain}, [0.05, 0.1, 0.2, 0.35, 0.5], n_trials=5, seed=1, progress=False)
    # the stored data are the mono data fit() would use
    combo = out.arm("combo")
    a = stored.fit(combo)
    b = plain.fit({"mono": out.arm("mono"), "combo": combo})
    np.testing.assert_allclose(a.prob_tox.to_numpy(), b.prob_tox.to_numpy(), rtol=0, atol=1e-12)
    assert a.next_dose == b.next_dose
    # simulation: each simulated decision equals a fit on that trial's data
    sims = bd.simulate({"c": stored}, [0.05, 0.1, 0.2, 0.35, 0.5], n_trials=6, seed=3,
                       progress=False)  # fmt: skip
    assert int(sims.n_patients.max()) <= 9
    one = sims.isel(design=0, scenario=0)
    n, y = one.n.to_numpy(), one.dlt.to_numpy()
    cur = np.array([int(one.patient_dose[t, int(one.n_patients[t]) - 1]) - 1 for t in range(6)])
    sel = stored.select(bd.DoseData.from_counts(n, y, current=cur))
    np.testing.assert_array_equal(sel.dose + 1, one.selected.to_numpy())
    # dose paths enumerate the combination arm
    paths = bd.dose_paths(stored, cohort_sizes=[3])
    assert len(paths.to_frame()) >= 4
    assert stored.spec()["mono_data"]["n"] == out.arm("mono").counts()["n"].tolist()
