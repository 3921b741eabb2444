"""Robust borrowing of the combination BLRM (issue 13, items 2-4).

* ``borrowing=`` and its alias ``borrow=``;
* the exchangeable model with a vanishing heterogeneity equals full pooling;
* prior-data conflict: EXNEX backs off (EX weight below its prior, higher P(overdose))
  where full pooling keeps escalating;
* the published three-arm joint analysis of crmPack's vignette "Comparison with the
  decider package" (decider / Stan and crmPack / JAGS printed side by side);
* grid (importance sampling with exact weights) and MCMC engines agree within
  max(0.01, 3 combined MC SE);
* the combination starting dose with no combination patients.
"""

from __future__ import annotations

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.designs.combo_blrm import DEFAULT_INTERACTION_PRIOR, DEFAULT_PARTNER_PRIOR
from bayes_dose.inference.blrm_model import BLRMModel
from bayes_dose.inference.borrowing import (
    HierarchicalCombinationModel,
    importance_estimate,
)
from bayes_dose.inference.combo_blrm_model import CombinationModel

SMALL = (13, 13, 31, 45)
COMBO_MG = (30.0, 100.0, 300.0, 600.0, 900.0)  # the combination arm of the bundled protocol
CATS = ("under", "target", "over")


@pytest.fixture(scope="module")
def setup():
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    return mono, bd.examples.bat6021_outcomes()


def se_grid(fit) -> np.ndarray:
    """IS Monte Carlo SEs of the interval probabilities, (dose, category)."""
    st = fit.estimate.stats
    return np.stack([np.asarray(st[f"mc_se_p_{c}"])[0] for c in CATS], axis=-1)


# -- the parameter -------------------------------------------------------------------------
def test_borrowing_parameter_and_its_alias(setup):
    mono, _ = setup
    assert bd.CombinationBLRM(mono=mono, doses=COMBO_MG, grid=SMALL).borrowing == "full"
    assert bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrow=True, grid=SMALL).borrowing == "full"
    d = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrow=False, grid=SMALL)
    assert d.borrowing == "none" and d.borrows_from == ()
    ex = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing=bd.Exchangeable(), grid=SMALL)
    assert ex.borrows_from == ("mono",) and ex.borrowing_method == "exchangeable"
    assert isinstance(ex.model, HierarchicalCombinationModel) and ex.model.rho is None
    # replace() reconstructs from get_params (borrow and borrowing together, consistent)
    assert ex.replace(ewoc=0.2).borrowing == bd.Exchangeable()
    with pytest.raises(ValueError, match="contradicts"):
        bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrow=False, borrowing=bd.EXNEX(p_exch=0.5))
    with pytest.raises(ValueError, match="borrowing must be"):
        bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing="partial")
    with pytest.raises(ValueError, match="p_exch"):
        bd.EXNEX(p_exch=1.0)
    with pytest.raises(ValueError, match="rho"):
        bd.Exchangeable(rho=1.5)
    with pytest.raises(ValueError, match="TauPrior"):
        bd.TauPrior(median=(0.25, -1.0))


def test_borrowing_from_a_spec_table(setup):
    mono, _ = setup
    arm = bd.protocols.bat6021().arm("combo")
    spec = {"type": "CombinationBLRM", "mono": mono,
            "borrowing": {"type": "exnex", "p_exch": 0.7, "tau_median": [0.5, 0.25]}}  # fmt: skip
    d = bd.io.design_from_spec(spec, arm)
    assert d.borrowing == bd.EXNEX(p_exch=0.7, tau_prior=bd.TauPrior(median=(0.5, 0.25)))
    d = bd.io.design_from_spec({**spec, "borrowing": {"type": "exchangeable", "rho": 0.0}}, arm)
    assert d.borrowing == bd.Exchangeable(rho=0.0)
    with pytest.raises(ValueError, match="needs 'p_exch'"):
        bd.io.design_from_spec({**spec, "borrowing": {"type": "exnex"}}, arm)
    with pytest.raises(ValueError, match="unknown key"):
        bd.io.design_from_spec({**spec, "borrowing": {"type": "exnex", "pexch": 0.5}}, arm)


# -- the models ------------------------------------------------------------------------------
def test_exchangeable_with_vanishing_heterogeneity_is_full_pooling(setup):
    mono, out = setup
    full = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, grid=SMALL).fit(out)
    tiny = bd.Exchangeable(tau_prior=bd.TauPrior(median=(1e-4, 1e-4), sd_log=(0.01, 0.01)), rho=0.0)
    ex = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing=tiny, grid=SMALL).fit(out)
    diff = np.abs(ex.interval_probs.to_numpy() - full.interval_probs.to_numpy())
    # full pooling on the grid (error < 1e-3) against importance sampling (3 MC SE)
    assert (diff <= np.maximum(0.01, 3 * se_grid(ex)) + 1e-3).all(), diff
    np.testing.assert_allclose(ex.prob_tox, full.prob_tox, atol=0.005)
    assert np.asarray(ex.estimate.stats["is_ess"])[0] > 1000


def test_prior_data_conflict_exnex_backs_off_where_full_pooling_escalates(setup):
    mono, _ = setup
    m = bd.Outcomes.parse("1N 2N 3N 4NNN 5NNN 6NNNNNN 7NNNNNN 8NNNNNT", arm="mono")
    c = bd.Outcomes.parse("1NTN 1TNN", arm="combo")  # 2/6 DLTs at 30 mg with tislelizumab
    data = {"mono": m, "combo": c}
    full = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, grid=SMALL).fit(data)
    exnex = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing=bd.EXNEX(p_exch=0.5), grid=SMALL).fit(data)
    # full pooling: the clean monotherapy data override 2/6 DLTs: escalate to 100 mg
    assert full.next_dose == 2
    # EXNEX: the combination arm is judged not exchangeable (posterior EX weight below
    # its prior 0.5) and the design stays at 30 mg
    assert exnex.next_dose == 1
    assert exnex.borrowing.ex_weight < 0.45
    over = exnex.interval_probs.sel(category="over").to_numpy()
    assert over[1] > 0.25 > full.interval_probs.sel(category="over").to_numpy()[1]
    assert "posterior EX weight" in exnex.borrowing.sentence()


def test_borrowing_strength_report(setup):
    mono, out = setup
    rep = {}
    for b in ("full", "none", bd.Exchangeable(), bd.EXNEX(p_exch=0.5)):
        d = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing=b, grid=SMALL)
        rep[d.borrowing_method] = d.fit(out).borrowing
    assert (rep["none"].ess == 0).all() and rep["none"].ex_weight is None
    # monotherapy data are worth patients at the low combination doses, the more the
    # stronger the pooling: full >= exchangeable > EXNEX
    assert rep["full"].ess[0] > 5
    assert rep["full"].ess[0] >= rep["exchangeable"].ess[0] - 1.0
    assert rep["exchangeable"].ess[0] > rep["exnex"].ess[0] > 0
    assert rep["exchangeable"].ex_weight == 1.0 and 0 < rep["exnex"].ex_weight < 1
    assert "moment-matched beta" in rep["full"].ess_method


def test_importance_sampling_error_estimate_is_honest(setup):
    """Two scrambling seeds agree within 4 combined MC SEs (the IS SE formula)."""
    mono, out = setup
    d = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing=bd.EXNEX(p_exch=0.5), grid=SMALL)
    e = [d.fit(out, is_seed=s) for s in (1, 2)]
    diff = np.abs(e[0].interval_probs.to_numpy() - e[1].interval_probs.to_numpy())
    se = np.hypot(se_grid(e[0]), se_grid(e[1]))
    assert (diff <= 4 * se + 1e-4).all()


# -- published: crmPack vignette "Comparison with the decider package" --------------------
# Arm A (monotherapy of compound 1; 0/3 at 0.1, 1/3 at 0.2), no data yet in arm B; the
# compound-1 parameters of arms A and B exchangeable with hyper-means N(logit 0.33, 2^2)
# and N(0, 1), tau log-normal (median 0.25 / 0.125, sd log 2 / 1.96), correlation
# uniform on (-1, 1); reference dose 6.  Arm C (historical compound 2) informs compound 2
# only, so arm A's posterior and arm B's compound-1-alone rows are this two-arm model.
D1 = (0.1, 0.2, 0.4, 0.8, 1.6, 2.4, 3.6, 5.0, 6.0)
# decider (Stan): trial-A mean, P([0.16, 0.33)), P([0.33, 1])
DECIDER_A = {
    "mean": (0.11479, 0.15362, 0.20692, 0.27562, 0.35580, 0.40489, 0.45346, 0.49144, 0.51177),
    "target": (0.20509, 0.27436, 0.32265, 0.32360, 0.28467, 0.25176, 0.22160, 0.19710, 0.18482),
    "over": (0.05383, 0.10625, 0.20488, 0.34343, 0.48914, 0.56766, 0.63383, 0.68054, 0.70327),
    "q025": (0.00311, 0.00681, 0.01315, 0.02261, 0.03411, 0.04152, 0.04956, 0.05658, 0.06038),
    "q975": (0.40243, 0.47993, 0.58171, 0.70550, 0.82755, 0.88451, 0.92687, 0.95107, 0.96129),
}
# crmPack (JAGS, 100,000 draws): arm A and arm B at compound 2 = 0
CRMPACK_A = {
    "mean": (0.1145638, 0.1531443, 0.2061103, 0.2743383, 0.3538963, 0.4025788, 0.4507303, 0.4883849, 0.5085354),
    "target": (0.20034, 0.27280, 0.32488, 0.32324, 0.28236, 0.25191, 0.22161, 0.19782, 0.18614),
    "over": (0.05460, 0.10590, 0.20156, 0.34144, 0.48714, 0.56363, 0.63034, 0.67646, 0.69891),
}
CRMPACK_B_ALONE = {
    "mean": (0.1182987, 0.1555321, 0.2059665, 0.2712659, 0.3492500, 0.3980527, 0.4469119, 0.4853478, 0.5059501),
    "target": (0.19051, 0.24700, 0.29509, 0.30610, 0.27802, 0.25074, 0.22075, 0.19779, 0.18538),
    "over": (0.07283, 0.12309, 0.20807, 0.33237, 0.47361, 0.55132, 0.62031, 0.66861, 0.69285),
}
#: Their MC error: the two published MCMC implementations differ by up to 0.0047 on these
#: probabilities (printed in the vignette), so we take 0.005 as one SE of theirs; ours is
#: the importance-sampling SE reported with the estimate.  Tolerance: 3 combined SEs.
SE_THEIRS = 0.005


@pytest.fixture(scope="module")
def vignette():
    prior = bd.BLRMPrior(mean=(float(np.log(0.33 / 0.67)), 0.0), sd=(2.0, 1.0))
    combo = CombinationModel(BLRMModel(D1, 6.0, prior), D1, DEFAULT_PARTNER_PRIOR, DEFAULT_INTERACTION_PRIOR)
    model = HierarchicalCombinationModel(combo, prior, bd.TauPrior(median=(0.25, 0.125)), rho=None)
    n = np.array([3, 3, 0, 0, 0, 0, 0, 0, 0])
    y = np.array([0, 1, 0, 0, 0, 0, 0, 0, 0])
    return importance_estimate(model, {"mono": (n, y)}, n_draws=2**15)


def test_crmpack_vignette_arm_a_decider_and_crmpack(vignette):
    st = vignette.stats
    ours = {"mean": st["mono_prob_mean"][0], "target": st["mono_p_target"][0],
            "over": st["mono_p_over"][0]}  # fmt: skip
    se = {"mean": 0.0, "target": 0.0, "over": st["mc_se_p_over"][0]}
    se["target"] = st["mc_se_p_target"][0]
    for ref in (DECIDER_A, CRMPACK_A):
        for key in ("mean", "target", "over"):
            tol = 3 * np.sqrt(SE_THEIRS**2 + np.asarray(se[key]) ** 2)
            np.testing.assert_array_less(np.abs(ours[key] - np.asarray(ref[key])), tol)


def test_crmpack_vignette_arm_a_quantiles(vignette):
    """decider's 2.5% / 97.5% quantiles of arm A's P(DLT) (tolerance 0.01 on the lower,
    0.02 on the upper: quantiles of their 4000 Stan draws and of our weighted draws)."""
    st = vignette.stats
    np.testing.assert_allclose(st["mono_q025"][0], DECIDER_A["q025"], atol=0.01)
    np.testing.assert_allclose(st["mono_q975"][0], DECIDER_A["q975"], atol=0.02)


def test_crmpack_vignette_arm_b_compound1_alone(vignette):
    st = vignette.stats
    ours = {"mean": st["single_prob_mean"][0], "target": st["single_p_target"][0],
            "over": st["single_p_over"][0]}  # fmt: skip
    for key in ("mean", "target", "over"):
        # the single-agent rows carry an IS SE of the same size as the arm's (< 0.005)
        tol = 3 * np.sqrt(SE_THEIRS**2 + 0.005**2)
        np.testing.assert_array_less(np.abs(ours[key] - np.asarray(CRMPACK_B_ALONE[key])), tol)


# -- the combination starting dose -------------------------------------------------------------
def test_starting_dose_from_the_borrowed_prior(setup):
    mono, out = setup
    empty = bd.Outcomes.parse("", arm="combo")
    data = {"mono": out.arm("mono"), "combo": empty}
    d = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, grid=SMALL)
    fit = d.fit(data)
    over = fit.interval_probs.sel(category="over").to_numpy()
    mg = np.asarray(d.doses)
    # cleared in monotherapy: >= 3 evaluable with DLTs in <= 1/6: 300 mg (1/6); not 600 (2/3)
    allowed = (over < d.ewoc) & (mg <= 300)
    assert fit.start_dose and fit.next_dose == int(np.flatnonzero(allowed)[-1]) + 1 == 2
    assert fit.cohort_size == d.cohort_size and not fit.stop
    assert "300 mg" in fit.reason and f"{over[1]:.3f}" in fit.reason and f"{over[2]:.3f}" in fit.reason
    # the robust model: same rule under its own borrowed prior
    ex = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing=bd.EXNEX(p_exch=0.5), grid=SMALL).fit(data)
    over_ex = ex.interval_probs.sel(category="over").to_numpy()
    assert ex.next_dose == int(np.flatnonzero((over_ex < 0.25) & (mg <= 300))[-1]) + 1
    # without borrowing there is no monotherapy evidence: the protocol's start level
    alone = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrow=False, grid=SMALL).fit(data)
    assert alone.next_dose == 1 and not alone.start_dose
    # nothing cleared in monotherapy: 2/3 DLTs at the only dose: do not open the arm
    bad = {"mono": bd.Outcomes.parse("4TTN", arm="mono"), "combo": empty}
    none = d.fit(bad)
    assert none.next_dose is None and none.stop and "no monotherapy dose is cleared" in none.reason


# -- engines agree -------------------------------------------------------------------------------
def _agree(grid_fit, mcmc_fit) -> None:
    ess = float(mcmc_fit.estimate.diagnostics["min_ess_bulk"])
    p = mcmc_fit.interval_probs.to_numpy()
    se_mc = np.sqrt(p * (1 - p) / ess)
    tol = np.maximum(0.01, 3 * np.hypot(se_mc, se_grid(grid_fit)))
    diff = np.abs(grid_fit.interval_probs.to_numpy() - p)
    assert (diff <= tol).all(), (diff, tol)


@pytest.mark.mcmc
def test_exchangeable_grid_and_pymc_agree():
    mono = bd.BLRM([10, 30, 100, 300], reference_dose=100)
    d = bd.CombinationBLRM(mono=mono, doses=[30, 100, 300], borrowing=bd.Exchangeable(rho=0.0))
    data = {"mono": bd.Outcomes.parse("1NNN 2NNN 3NNT", arm="mono"),
            "combo": bd.Outcomes.parse("1NNN 2NTN", arm="combo")}  # fmt: skip
    g = d.fit(data)
    m = d.fit(data, engine="pymc", draws=1000, tune=800, chains=2, random_seed=5)
    _agree(g, m)


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["pymc", "nutpie"])
@pytest.mark.parametrize("kind", ["exchangeable", "exnex"])
def test_robust_models_grid_and_mcmc_agree_on_the_bundled_example(setup, engine, kind):
    mono, out = setup
    b = bd.Exchangeable() if kind == "exchangeable" else bd.EXNEX(p_exch=0.5)
    d = bd.CombinationBLRM(mono=mono, doses=COMBO_MG, borrowing=b, grid=SMALL)
    g = d.fit(out)
    m = d.fit(out, engine=engine, draws=2000, tune=1000, chains=2, random_seed=3)
    _agree(g, m)
    if kind == "exnex":
        assert abs(g.borrowing.ex_weight - m.borrowing.ex_weight) < 0.03
