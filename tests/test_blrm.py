"""BLRM with EWOC: exact grid engine, NBG (2008) reference, decision rule."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import expit, logit

import bayes_dose as bd
from bayes_dose.designs.state import DoseData
from bayes_dose.inference.blrm_grid import GridEngine


@pytest.fixture(scope="module")
def nbg(refs):
    r = refs["nbg2008_blrm"]
    p = r["prior"]
    corr = p["cov"] / (p["sd_log_alpha"] * p["sd_log_beta"])
    prior = bd.BLRMPrior(
        mean=(p["mean_log_alpha"], p["mean_log_beta"]),
        sd=(p["sd_log_alpha"], p["sd_log_beta"]),
        corr=corr,
    )
    design = bd.BLRM(
        r["doses_mg"], reference_dose=r["reference_dose"], prior=prior,
        target_interval=tuple(r["target_interval"]), ewoc=0.25,
    )  # fmt: skip
    doses = r["doses_mg"]
    n = [0] * len(doses)
    y = [0] * len(doses)
    for d, k, t in zip(r["data"]["dose_mg"], r["data"]["n"], r["data"]["dlt"], strict=True):
        n[doses.index(d)] = k
        y[doses.index(d)] = t
    # cohorts in dose order: the last cohort is 2/2 at 25 mg, as in the trial
    out = bd.Outcomes.from_counts(n, y)
    return r, design, out


def test_nbg_posterior_means_match_published_figure(nbg):
    """Published posterior means (read off Figure 1): tolerance 0.02."""
    r, design, out = nbg
    fit = design.fit(out)
    pub = r["published_posterior_means_approx"]
    for mg in ("15", "20", "25", "30"):
        got = float(fit.prob_tox.where(fit.prob_tox.dose_mg == float(mg), drop=True)[0])
        assert abs(got - pub[mg]) < 0.02, (mg, got, pub[mg])


def test_nbg_decision_is_20mg_under_overdose_control(nbg):
    """Categories of the paper (target [0.20, 0.35), overdose >= 0.35), EWOC 0.25."""
    r, design, out = nbg
    fit = design.fit(out)
    assert r["doses_mg"][fit.next_dose - 1] == 20
    ip = fit.interval_probs
    # 20 mg is admissible, 25 mg is not (P(overdose) 0.37 >= 0.25)
    assert float(ip.sel(category="over")[5]) < 0.25 <= float(ip.sel(category="over")[6])
    assert "EWOC" in fit.reason
    # an escalation limit of doubling the current dose (25 mg) does not change it
    assert design.replace(max_increment=2.0).fit(out).next_dose == fit.next_dose


def test_interval_probs_sum_to_one_and_are_monotone(nbg):
    _, design, out = nbg
    ip = design.fit(out).interval_probs
    np.testing.assert_allclose(ip.sum("category"), 1.0, atol=1e-12)
    over = ip.sel(category="over").to_numpy()
    assert np.all(np.diff(over) >= -1e-9)  # beta > 0: overdose probability rises with dose


def test_grid_accuracy_against_a_much_finer_grid(nbg):
    """Default grid vs a 14x finer one: interval probs within 1e-4, means within 1e-6."""
    _, design, out = nbg
    d = DoseData.from_outcomes(out, design.n_doses)
    for scale in (1, 3):  # the NBG data, and three times as many patients
        counts = {"arm": (d.n * scale, d.dlt * scale)}
        coarse = GridEngine(design.model, design.grid).estimate(counts)
        fine = GridEngine(design.model, (201, 601), width=8.0).estimate(counts)
        np.testing.assert_allclose(coarse.prob_mean, fine.prob_mean, atol=1e-6)
        for k in ("p_under", "p_target", "p_over"):
            np.testing.assert_allclose(coarse.stats[k], fine.stats[k], atol=1e-4)


def test_prior_interval_probs_at_reference_dose_closed_form():
    """With no data, logit p(d*) = log alpha ~ N(m, s^2): P(p >= c) = 1 - Phi((logit c - m)/s)."""
    prior = bd.BLRMPrior(mean=(-1.0, 0.3), sd=(1.2, 0.7), corr=-0.3)
    design = bd.BLRM([10, 50, 100, 200], reference_dose=100, prior=prior,
                     target_interval=(0.16, 0.33))  # fmt: skip
    est = design.estimate(DoseData.empty(1, 4))
    m, s = -1.0, 1.2
    over = 1 - stats.norm.cdf((logit(0.33) - m) / s)
    under = stats.norm.cdf((logit(0.16) - m) / s)
    assert est.stats["p_over"][0, 2] == pytest.approx(over, abs=1e-6)
    assert est.stats["p_under"][0, 2] == pytest.approx(under, abs=1e-6)
    mean = integrate.quad(lambda t: expit(t) * stats.norm.pdf(t, m, s), -30, 30)[0]
    assert est.prob_mean[0, 2] == pytest.approx(mean, abs=1e-8)


def test_vectorised_estimate_equals_one_trial_at_a_time():
    design = bd.BLRM([1, 2, 4, 8, 16], reference_dose=8)
    rng = np.random.default_rng(3)
    n = rng.integers(0, 7, size=(40, 5))
    y = rng.binomial(n, 0.3)
    data = DoseData.from_counts(n, y, current=np.zeros(40, dtype=int))
    all_ = design.estimate(data)
    for t in (0, 7, 39):
        one = design.estimate(data.take(np.array([t])), intervals=False)
        np.testing.assert_allclose(all_.prob_mean[t], one.prob_mean[0], atol=1e-12)
        np.testing.assert_allclose(all_.stats["p_over"][t], one.stats["p_over"][0], atol=1e-12)


def test_ewoc_stops_when_no_dose_is_safe():
    design = bd.BLRM([1, 2, 4, 8], reference_dose=4)
    fit = design.fit(bd.Outcomes.parse("1TTT 1TTT"))
    assert fit.stop and fit.next_dose is None and fit.mtd is None
    assert "no level has P(overdose) < 0.25" in fit.reason


def test_escalation_limits_no_skip_and_max_increment():
    doses = [1, 2, 4, 8, 16, 32]
    optimistic = bd.BLRMPrior(mean=(-4.0, 0.0), sd=(1.0, 0.5))
    base = bd.BLRM(doses, reference_dose=16, prior=optimistic, no_skip=False)
    out = bd.Outcomes.parse("1NNN")
    assert base.fit(out).next_dose > 3  # unrestricted EWOC jumps ahead
    assert base.replace(no_skip=True).fit(out).next_dose == 2
    capped = base.replace(max_increment=2.0).fit(out)
    assert capped.next_dose == 2 and "escalation limit" in capped.reason


def test_start_and_titration_come_from_the_shared_pipeline():
    design = bd.BLRM([1, 2, 4, 8], reference_dose=4, titration_levels=2, start_level=1)
    fit = design.fit(bd.Outcomes.parse("1N"))
    assert (fit.next_dose, fit.cohort_size) == (2, 1) and "titration" in fit.reason
    assert design.fit(bd.Outcomes.parse("")).next_dose == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_interval": (0.4, 0.2)}, "target_interval"),
        ({"ewoc": 0.0}, "ewoc"),
        ({"max_increment": 0.5}, "max_increment"),
        ({"reference_dose": -1}, "reference_dose"),
        ({"doses": [2, 1]}, "doses"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    args = {"doses": [1, 2, 4], "reference_dose": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        bd.BLRM(**args)


def test_bad_prior_and_engine_raise():
    with pytest.raises(ValueError, match="corr"):
        bd.BLRMPrior(corr=1.0)
    with pytest.raises(ValueError, match="sd"):
        bd.BLRMPrior(sd=(1.0, 0.0))
    with pytest.raises(ValueError, match="engine"):
        bd.BLRM([1, 2], reference_dose=2).fit(bd.Outcomes.parse("1N"), engine="stan")


def test_spec_and_replace_round_trip():
    d = bd.BLRM([1, 2, 4], reference_dose=2, prior=bd.BLRMPrior(corr=0.1), max_increment=2.0)
    assert d.replace() == d
    assert d.spec()["prior"]["corr"] == 0.1


def test_ewoc_invariants_on_random_states():
    """For 300 random count states: the next dose satisfies overdose control, respects
    no-skip, has the highest P(target) among admissible doses, and stops iff none is."""
    design = bd.BLRM([1, 3, 10, 30, 100, 300], reference_dose=30, max_increment=3.5)
    rng = np.random.default_rng(11)
    n = rng.integers(0, 7, size=(300, 6)) * (rng.random((300, 6)) < 0.6)
    y = rng.binomial(n, 0.25)
    tried = np.flatnonzero(n.sum(axis=1) > 0)
    current = np.array([rng.choice(np.flatnonzero(row > 0)) if row.any() else -1 for row in n])
    data = DoseData.from_counts(n[tried], y[tried], current=current[tried])
    est = design.estimate(data)
    dec = design.decide(data, est)
    p_over, p_target = est.stats["p_over"], est.stats["p_target"]
    mg = np.asarray(design.doses)
    for t in range(data.n_trials):
        ok = (p_over[t] < 0.25) & (np.arange(6) <= data.highest_tried[t] + 1)
        ok &= mg <= 3.5 * mg[data.current[t]] * (1 + 1e-12)
        if dec.stop[t]:
            assert not (p_over[t] < 0.25).any()
            continue
        d = dec.next_dose[t]
        assert ok[d]
        assert p_target[t, d] == pytest.approx(p_target[t][ok].max())


def test_exact_enumeration_agrees_with_vectorised_simulation():
    """Exact OCs (enumeration of count states, shared decide pipeline) vs 4,000 simulated
    trials through the same vectorised decide: selection probabilities within 4 MC SEs."""
    design = bd.BLRM([1, 3, 10, 30, 100], reference_dose=30, max_n=12)
    tox = np.array([0.02, 0.05, 0.1, 0.25, 0.45])
    oc = bd.exact_operating_characteristics(design, tox)
    exact = oc.p_select
    assert exact.sum() + oc.p_no_mtd == pytest.approx(1.0, abs=1e-12)

    T = 4000
    rng = np.random.default_rng(np.random.SeedSequence(20261125))
    data = DoseData.empty(T, 5)
    active = np.ones(T, dtype=bool)
    for _ in range(4):
        dec = design.decide(data)
        active &= ~dec.stop
        dose = np.where(active, dec.next_dose, 0)
        size = np.where(active, dec.cohort_size, 0)
        data = data.after_cohort(dose, size, rng.binomial(size, tox[dose]))
    assert design.decide(data).stop.all()
    sel = design.select(data).dose
    sim = np.array([(sel == k).mean() for k in range(5)])
    se = np.sqrt(exact * (1 - exact) / T) + 1e-12
    assert np.all(np.abs(sim - exact) <= 4 * se + 1e-9), (sim.round(4), exact.round(4))
