"""CRM / TITE-CRM: dfcrm 0.2-2.1 reference numbers, quadrature accuracy and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad

import bayes_dose as bd
from bayes_dose.designs.state import DoseData
from bayes_dose.inference.crm_grid import crm_posterior
from bayes_dose.inference.crm_model import CRMModel


def _dfcrm_outcomes(ref) -> bd.Outcomes:
    text = " ".join(
        f"{lv}{'T' if t else 'N'}" for lv, t in zip(ref["level"], ref["tox"], strict=True)
    )
    return bd.Outcomes.parse(text)


# -- reference numbers ---------------------------------------------------------------------
def test_getprior(refs):
    for case in refs["dfcrm_getprior"]["cases"]:
        skel = bd.crm_skeleton(
            case["target"], case["halfwidth"], case["nu"], case["nlevel"], model=case["model"]
        )
        np.testing.assert_allclose(skel, case["skeleton"], atol=1e-4)
        np.testing.assert_allclose(skel, case["skeleton"], rtol=1e-10)


@pytest.mark.parametrize("i", range(4))
def test_dfcrm_crm(refs, i):
    ref = refs["dfcrm_crm"]
    res = ref["results"][i]
    crm = bd.CRM(
        ref["skeleton"], ref["target"], model=res["model"], method=res["method"], cohort_size=1
    )
    fit = crm.fit(_dfcrm_outcomes(ref))
    # dfcrm's MLE comes from optimize(tol = 1e-4): its beta_hat is itself ~1e-5 off.
    assert fit.beta_mean == pytest.approx(res["beta_hat"], abs=1e-4)
    np.testing.assert_allclose(fit.prob_tox_plugin, res["ptox"], atol=1e-4)
    assert fit.next_dose == res["next_dose"]
    assert fit.mtd == res["next_dose"]
    if not (res["model"] == "logistic" and res["method"] == "mle"):
        # dfcrm's logistic "approximate variance" integrates a likelihood that does not
        # vanish as beta -> -inf under a N(0, 500^2) prior: a quadrature artefact, not tested.
        assert fit.beta_var == pytest.approx(res["post_var"], abs=1e-4)
    if res["method"] == "bayes":  # exact quadrature: far tighter than 1e-4
        assert fit.beta_mean == pytest.approx(res["beta_hat"], abs=1e-7)
        assert fit.beta_var == pytest.approx(res["post_var"], abs=1e-7)


# -- the quadrature engine against scipy.integrate.quad -------------------------------------------
def _quad_moments(model, loglik, target):
    """Posterior mean, variance of beta and mean DLT probabilities by adaptive quadrature
    (the posterior mass beyond +-15 is below 1e-30 for the priors used here)."""

    def post(b):
        return np.exp(loglik(b) + model.log_prior(b))

    def integral(f):
        return quad(f, -15, 15, epsabs=0, epsrel=1e-11, limit=400, points=[0.0])[0]

    z = integral(post)
    mean = integral(lambda b: b * post(b)) / z
    var = integral(lambda b: (b - mean) ** 2 * post(b)) / z
    pm = [integral(lambda b, k=k: model.prob(b)[k] * post(b)) / z for k in range(model.n_doses)]
    return mean, var, np.array(pm)


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_grid_matches_quad(model):
    m = CRMModel((0.05, 0.12, 0.25, 0.4), model, prior_sd=0.9)
    n, y = np.array([3, 6, 4, 0]), np.array([0, 1, 2, 0])

    def loglik(b):
        return float(m.loglik_counts(np.array([b]), n[None], y[None])[0, 0])

    mean, var, pm = _quad_moments(m, loglik, 0.25)
    est = crm_posterior(m, DoseData.from_counts([n], [y], [2]), target=0.25)
    assert est.stats["beta_mean"][0] == pytest.approx(mean, abs=1e-8)
    assert est.stats["beta_var"][0] == pytest.approx(var, abs=1e-8)
    np.testing.assert_allclose(est.prob_mean[0], pm, atol=1e-8)
    assert np.all(est.prob_lower[0] < est.prob_mean[0])
    assert np.all(est.prob_mean[0] < est.prob_upper[0])


def test_interval_and_p_over_are_posterior_quantities():
    m = CRMModel((0.05, 0.12, 0.25, 0.4), "empiric")
    n, y = np.array([3, 3, 3, 0]), np.array([0, 0, 1, 0])

    def post(b):
        return np.exp(m.loglik_counts(np.array([b]), n[None], y[None])[0, 0] + m.log_prior(b))

    z = quad(post, -15, 15, epsrel=1e-11, limit=400)[0]
    est = crm_posterior(m, DoseData.from_counts([n], [y], [2]), target=0.25, interval=0.9)
    # p_d decreases in beta: P(p_d <= upper_d) = P(beta >= beta at upper_d) = 0.95
    for d in range(4):
        b_up = np.log(np.log(est.prob_upper[0, d]) / np.log(m.skeleton[d]))
        b_lo = np.log(np.log(est.prob_lower[0, d]) / np.log(m.skeleton[d]))
        assert quad(post, b_up, 15, limit=400)[0] / z == pytest.approx(0.95, abs=2e-4)
        assert quad(post, b_lo, 15, limit=400)[0] / z == pytest.approx(0.05, abs=2e-4)
        b_t = np.log(np.log(0.25) / np.log(m.skeleton[d]))  # p_d > 0.25 <=> beta < b_t
        assert est.stats["p_over"][0, d] == pytest.approx(
            quad(post, -15, b_t, limit=400)[0] / z, abs=1e-3
        )


def test_summarise_equal_weights_are_sample_summaries():
    m = CRMModel((0.1, 0.2, 0.3), "logistic")
    rng = np.random.default_rng(3)
    draws = rng.normal(0.2, 0.4, size=(2, 4000))
    est = m.summarise(draws, None, target=0.2, interval=0.8)
    np.testing.assert_allclose(est.stats["beta_mean"], draws.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(est.stats["beta_var"], draws.var(axis=1), rtol=1e-12)
    np.testing.assert_allclose(est.prob_mean, m.prob(draws).mean(axis=1), rtol=1e-12)
    q = np.quantile(draws, [0.1, 0.9], axis=1, method="hazen")
    np.testing.assert_allclose(est.prob_upper, m.prob(q[0]), rtol=1e-10)
    np.testing.assert_allclose(est.prob_lower, m.prob(q[1]), rtol=1e-10)
    np.testing.assert_allclose(est.stats["prob_plugin"], m.prob(draws.mean(axis=1)))
    # interpolated CDF: within half a draw's weight of the raw fraction
    frac = (m.prob(draws) > 0.2).mean(axis=1)
    np.testing.assert_allclose(est.stats["p_over"], frac, atol=1 / 4000)


# -- TITE ------------------------------------------------------------------------------------
def _tite_frame(followup):
    return pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(7)],
            "arm": "mono",
            "dose_level": [1, 1, 1, 2, 2, 2, 3],
            "dlt": [0, 0, 0, 0, 1, 0, 0],
            "cohort": [1, 1, 1, 2, 2, 2, 3],
            "followup_days": followup,
        }
    )


def test_tite_complete_followup_equals_crm():
    skel = bd.crm_skeleton(0.25, 0.05, 3, 5)
    out = bd.Outcomes.from_frame(_tite_frame([21.0] * 7))
    a = bd.CRM(skel, 0.25, tite_window=21).fit(out)
    b = bd.CRM(skel, 0.25).fit(out)
    assert a.beta_mean == pytest.approx(b.beta_mean, abs=1e-12)
    np.testing.assert_allclose(a.prob_tox.values, b.prob_tox.values, atol=1e-12)


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_tite_weighted_likelihood_matches_quad(model):
    skel = bd.crm_skeleton(0.25, 0.05, 3, 5, model=model)
    follow = [21.0, 21.0, 21.0, 14.0, 3.0, 7.0, 10.5]
    out = bd.Outcomes.from_frame(_tite_frame(follow))
    fit = bd.CRM(skel, 0.25, model=model, tite_window=21).fit(out)
    m = fit.design.crm_model
    dose = np.array([0, 0, 0, 1, 1, 1, 2])
    y = np.array([0, 0, 0, 0, 1, 0, 0])
    w = np.where(y == 1, 1.0, np.minimum(np.array(follow) / 21, 1))

    def loglik(b):
        p = m.prob(b)[dose]
        with np.errstate(divide="ignore"):
            return float(np.sum(np.where(y == 1, np.log(p), np.log(1 - w * p))))

    mean, var, pm = _quad_moments(m, loglik, 0.25)
    assert fit.beta_mean == pytest.approx(mean, abs=1e-8)
    assert fit.beta_var == pytest.approx(var, abs=1e-8)
    np.testing.assert_allclose(fit.prob_tox.values, pm, atol=1e-8)
    # here the pending patients' smaller weights leave a wider posterior than complete
    # follow-up would (a plain CRM on the pending data holds instead of counting them)
    full = bd.CRM(skel, 0.25, model=model).fit(bd.Outcomes.from_frame(_tite_frame([21.0] * 7)))
    assert fit.beta_var > full.beta_var


# -- the design ---------------------------------------------------------------------------------
def test_restrictions_no_skip_and_coherence():
    skel = (0.01, 0.02, 0.03, 0.05, 0.08, 0.3)
    crm = bd.CRM(skel, 0.25, cohort_size=3)
    fit = crm.fit(bd.Outcomes.parse("1NNN"))
    assert fit.next_dose == 2 and "no skipping" in fit.reason
    free = crm.replace(no_skip=False).fit(bd.Outcomes.parse("1NNN"))
    assert free.next_dose > 2
    # 1/3 >= 0.25 at level 2 although the model would escalate: stay (coherence)
    fit = crm.fit(bd.Outcomes.parse("1NNN 2NNN 1NNN 2TNN"))
    assert fit.next_dose == 2 and "coherence" in fit.reason
    assert crm.replace(coherent=False).fit(bd.Outcomes.parse("1NNN 2NNN 1NNN 2TNN")).next_dose == 3


def test_selection_posterior_mean_option():
    ref_skel = (0.05, 0.10, 0.20, 0.35, 0.50, 0.70)
    out = bd.Outcomes.parse("3N 4N 4T 3N 3N 4T 3T 2N 2N 2N")
    a = bd.CRM(ref_skel, 0.2, cohort_size=1, selection="posterior_mean").fit(out)
    est = a.estimate
    curve = est.prob_mean[0]
    assert a.mtd == int(np.argmin(np.abs(curve - 0.2))) + 1
    np.testing.assert_allclose(a.prob_tox.values, curve)


def test_engine_dispatch():
    """A registered engine is reached by name (no module patching); unknown names list
    the registered ones."""
    crm = bd.CRM(bd.crm_skeleton(0.25, 0.05, 3, 5), 0.25)
    out = bd.Outcomes.parse("1NNN 2NTN")
    seen = {}

    class FakeEngine:
        name = "fake"
        vectorised = False

        def estimate(self, model, evidence, *, resolution=None, **kwargs):
            seen.update(model=model, kwargs=kwargs)
            draws = np.random.default_rng(0).normal(0, 0.5, 1000)
            return model.summarise(
                draws[None, :], None, kwargs["target"], kwargs["interval"], engine="fake"
            )

    bd.engines.register(FakeEngine())
    try:
        fit = crm.fit(out, engine="fake", draws=100)
    finally:
        bd.engines.unregister("fake")
    assert seen["model"] == crm.crm_model and seen["kwargs"]["draws"] == 100
    assert seen["kwargs"]["target"] == 0.25 and seen["kwargs"]["method"] == "bayes"
    assert fit.estimate.engine == "fake"
    with pytest.raises(ValueError, match="registered engines: 'grid', 'nutpie', 'pymc'"):
        crm.fit(out, engine="stan")


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(skeleton=(0.2, 0.1)), "increase"), (dict(skeleton=(0.1, 1.2)), "skeleton"),
     (dict(model="probit"), "model"), (dict(prior_sd=0), "prior_sd"),
     (dict(target=1.5), "target"), (dict(method="map"), "method"),
     (dict(selection="mode"), "selection"), (dict(tite_window=0), "tite_window"),
     (dict(model="logistic", skeleton=(0.1, 0.97)), "intercept")],
)  # fmt: skip
def test_bad_parameters(kwargs, match):
    args = {"skeleton": (0.1, 0.2, 0.3), "target": 0.25, **kwargs}
    with pytest.raises(ValueError, match=match):
        bd.CRM(**args)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(halfwidth=0.3), "halfwidth"), (dict(mtd_guess=9), "mtd_guess"),
     (dict(model="x"), "model"), (dict(target=1.0), "target")],
)  # fmt: skip
def test_bad_skeleton_arguments(kwargs, match):
    args = {"target": 0.25, "halfwidth": 0.05, "mtd_guess": 3, "n_doses": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        bd.crm_skeleton(**args)


def test_titration_in_front_and_example_fit():
    skel = bd.crm_skeleton(0.25, 0.05, 5, 8)
    crm = bd.CRM(skel, 0.25, titration_levels=3)
    assert crm.fit(bd.Outcomes.parse("1N 2N")).next_dose == 3
    out = bd.examples.bat6021_outcomes().arm("mono")
    fit = bd.CRM(skel, 0.25).fit(out)
    assert fit.next_dose == 6 and fit.mtd == 6
    assert fit.prob_tox["dose_mg"].values[5] == 300
    assert fit.prob_tox_interval is not None
    assert crm.replace() == crm


# -- invariants over random data and designs -------------------------------------------------------
@st.composite
def crm_cases(draw):
    D = draw(st.integers(2, 6))
    T = draw(st.integers(1, 6))
    target = draw(st.sampled_from([0.2, 0.25, 0.3]))
    hw = draw(st.sampled_from([0.04, 0.05, 0.08]))
    model = draw(st.sampled_from(["empiric", "logistic"]))
    skel = bd.crm_skeleton(target, hw, draw(st.integers(1, D)), D, model=model)
    n = np.array(draw(st.lists(st.lists(st.integers(0, 9), min_size=D, max_size=D),
                               min_size=T, max_size=T)))  # fmt: skip
    frac = np.array(draw(st.lists(st.lists(st.floats(0, 1), min_size=D, max_size=D),
                                  min_size=T, max_size=T)))  # fmt: skip
    cur = np.array([draw(st.integers(0, D - 1)) for _ in range(T)])
    rows = np.arange(T)
    last_n = np.array([draw(st.integers(1, 3)) for _ in range(T)])
    n[rows, cur] = np.maximum(n[rows, cur], last_n)
    y = np.floor(frac * n).astype(int)
    last_dlt = np.minimum(np.array([draw(st.integers(0, 3)) for _ in range(T)]), last_n)
    last_dlt = np.minimum(last_dlt, y[rows, cur])
    design = bd.CRM(
        skel, target, model=model, cohort_size=draw(st.integers(1, 3)),
        prior_sd=draw(st.sampled_from([0.8, 1.34**0.5, 2.0])),
        selection=draw(st.sampled_from(["plugin", "posterior_mean"])),
    )  # fmt: skip
    return design, DoseData.from_counts(n, y, cur, last_n, last_dlt)


@settings(max_examples=40, deadline=None)
@given(crm_cases())
def test_invariants(case):
    design, data = case
    dec = design.decide(data)
    assert not dec.stop.any()
    # no skipping: at most one above the last cohort's dose and the highest tried
    assert np.all(dec.next_dose <= data.current + 1)
    assert np.all(dec.next_dose <= data.highest_tried + 1)
    # coherence: no escalation after a cohort with DLT rate >= target
    toxic = data.last_dlt >= design.target * data.last_n
    assert np.all(dec.next_dose[toxic] <= data.current[toxic])
    # vectorised == one trial at a time
    for t in range(data.n_trials):
        one = design.decide(data.take(np.array([t])))
        assert one.next_dose[0] == dec.next_dose[t] and one.reason[0] == dec.reason[t]
    est = design.estimate(data)
    assert np.all(np.diff(est.prob_mean, axis=1) > 0)
    # equal-tailed bounds are ordered; the posterior MEAN of a very skewed p need not lie
    # inside them (hypothesis found skeleton[0] = 1e-9: mean 1.3e-4 > 95% quantile 5.2e-5)
    assert np.all((0 <= est.prob_lower) & (est.prob_lower <= est.prob_upper))
    assert np.all((0 < est.prob_mean) & (est.prob_mean < 1))


def test_exact_enumeration_sums_to_one():
    crm = bd.CRM(bd.crm_skeleton(0.25, 0.05, 2, 4), 0.25, max_n=9)
    oc = bd.exact_operating_characteristics(crm, [0.1, 0.25, 0.4, 0.55])
    assert oc.p_select.sum() + oc.p_no_mtd == pytest.approx(1.0, abs=1e-12)
    assert oc.expected_n == pytest.approx(9.0)


def test_unique_rows_matches_numpy():
    from bayes_dose.arrays import unique_rows

    keys = np.random.default_rng(5).integers(0, 3, size=(500, 4))
    first, inverse = unique_rows(keys)
    np.testing.assert_array_equal(keys[first][inverse], keys)
    assert len(first) == len(np.unique(keys, axis=0))


def test_tite_vectorised_equals_single_trials():
    rng = np.random.default_rng(11)
    T, P, D = 5, 9, 4
    dose = rng.integers(0, D, size=(T, P))
    dose[:, -2:] = -1  # padding
    dlt = np.where(dose >= 0, rng.integers(0, 2, size=(T, P)), -1)
    weight = np.where(dlt == 1, 1.0, rng.uniform(0.1, 1.0, size=(T, P)))
    n = np.stack([np.bincount(r[r >= 0], minlength=D) for r in dose])
    y = np.stack(
        [
            np.bincount(r[r >= 0], weights=(k[r >= 0] == 1), minlength=D)
            for r, k in zip(dose, dlt, strict=True)
        ]
    ).astype(int)
    base = DoseData.from_counts(n, y, dose[:, 0])
    data = DoseData(
        base.n, base.dlt, base.current, base.last_n, base.last_dlt, base.grade2, dose, dlt, weight
    )
    m = CRMModel(bd.crm_skeleton(0.25, 0.05, 2, D), "logistic")
    est = crm_posterior(m, data, 0.25)
    for t in range(T):
        one = crm_posterior(m, data.take(np.array([t])), 0.25)
        np.testing.assert_allclose(one.prob_mean[0], est.prob_mean[t], rtol=1e-12)
        assert one.stats["beta_var"][0] == pytest.approx(est.stats["beta_var"][t], rel=1e-12)


def test_tite_needs_followup_of_every_patient_without_dlt():
    skel = bd.crm_skeleton(0.25, 0.05, 3, 5)
    follow = [21.0, 21.0, 21.0, 14.0, float("nan"), 7.0, np.nan]
    out = bd.Outcomes.from_frame(_tite_frame(follow))
    # row 4 has a DLT (weight 1 whatever its follow-up); row 6 has none and no follow-up
    with pytest.raises(ValueError, match=r"row 6 .*field 'followup_days': missing"):
        bd.CRM(skel, 0.25, tite_window=21).fit(out)
    bd.CRM(skel, 0.25).fit(out)  # without TITE follow-up is not needed
