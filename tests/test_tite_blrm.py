"""TITE-BLRM (issue 12): the weighted BLRM posterior against independent quadrature, the
complete-follow-up equality with the BLRM, and calendar-time simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import expit, log_expit, logit

import bayes_dose as bd
from bayes_dose.inference.tite_blrm import has_pending, tite_blrm_posterior

DOSES = [1, 2, 4, 8, 16, 32]
PRIOR = bd.BLRMPrior(mean=(-1.0, 0.0), sd=(1.5, 0.8), corr=0.3)
CURVE = [0.02, 0.05, 0.10, 0.20, 0.35, 0.50]


def _state(dose, dlt, weight, D=6) -> bd.DoseData:
    dose, dlt, w = (np.array([v]) for v in (dose, dlt, weight))
    n = np.bincount(dose[0], minlength=D)[None]
    y = np.bincount(dose[0][dlt[0] == 1], minlength=D)[None]
    z = np.zeros(1, dtype=np.int64)
    return bd.DoseData(n, y, z, z, z, z, dose, dlt.astype(np.int64), w.astype(float))


def _reference(design: bd.BLRM, data: bd.DoseData, d: int) -> tuple[float, float]:
    """Posterior mean of p_d and P(p_d >= hi) by scipy.integrate.dblquad over
    (log alpha, log beta) with the bivariate normal prior density written out."""
    (ma, mb), (sa, sb), r = PRIOR.mean, PRIOR.sd, PRIOR.corr
    x = np.log(np.asarray(DOSES, float) / 16.0)
    dose, y, w = data.patient_dose[0], data.patient_dlt[0], data.patient_weight[0]

    def logf(la: float, lb: float) -> float:
        za, zb = (la - ma) / sa, (lb - mb) / sb
        lprior = -(za * za - 2 * r * za * zb + zb * zb) / (2 * (1 - r * r))
        eta = la + np.exp(lb) * x[dose]
        p = expit(eta)
        ww = np.where(y == 1, 1.0, w)
        dlt_term = log_expit(eta)  # log p without underflow in the far tails
        return lprior + float(np.sum(np.where(y == 1, dlt_term, np.log1p(-ww * p))))

    best = optimize.minimize(lambda v: -logf(v[0], v[1]), [ma, mb], method="Nelder-Mead")
    top = -best.fun
    f = lambda la, lb: np.exp(logf(la, lb) - top)  # noqa: E731
    lb_lo, lb_hi = mb - 8 * sb, mb + 8 * sb
    la_lo, la_hi = ma - 8 * sa, ma + 8 * sa
    opts = dict(epsabs=1e-11, epsrel=1e-9)
    Z = integrate.dblquad(lambda la, lb: f(la, lb), lb_lo, lb_hi, la_lo, la_hi, **opts)[0]
    mean = integrate.dblquad(lambda la, lb: f(la, lb) * expit(la + np.exp(lb) * x[d]),
                             lb_lo, lb_hi, la_lo, la_hi, **opts)[0] / Z  # fmt: skip
    cut = logit(design.target_interval[1])
    over = integrate.dblquad(lambda la, lb: f(la, lb), lb_lo, lb_hi,
                             lambda lb: np.clip(cut - np.exp(lb) * x[d], la_lo, la_hi),
                             la_hi, **opts)[0] / Z  # fmt: skip
    return mean, over


CASES = {
    "pending at the top": ([0, 0, 0, 1, 1, 1, 2, 2, 3], [0, 0, 0, 0, 1, 0, 0, 0, 0],
                           [1, 1, 1, 1, 1, 1, 1, 0.4, 0.1]),
    "extreme weights": ([0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 0, 0, 0, 0, 0, 0, 0],
                        [1, 1, 1, 1, 1, 1e-9, 1 - 1e-9, 0.0, 0.5]),
    "all DLT": ([0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]),
    "DLTs and pending": ([2, 2, 2, 3, 3, 3, 4], [0, 1, 0, 1, 1, 0, 0],
                         [1, 1, 1, 1, 1, 0.6, 0.3]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_weighted_posterior_equals_independent_quadrature(case) -> None:
    design = bd.BLRM(DOSES, 16, prior=PRIOR, tite_window=21)
    data = _state(*CASES[case])
    est = tite_blrm_posterior(design.model, data)
    assert not est.stats["grid_flag"][0]
    for d in (1, 3, 4):
        mean, over = _reference(design, data, d)
        assert abs(float(est.prob_mean[0, d]) - mean) < 1e-3
        assert abs(float(est.stats["p_over"][0, d]) - over) < 1e-3


def test_complete_follow_up_decides_exactly_like_the_blrm() -> None:
    tite = bd.BLRM(DOSES, 16, prior=PRIOR, tite_window=21, max_n=18)
    plain = bd.BLRM(DOSES, 16, prior=PRIOR, max_n=18)
    data = _state([0, 0, 0, 1, 1, 1, 2, 2, 2], [0, 0, 0, 0, 1, 0, 0, 1, 0], [1] * 9)
    assert not has_pending(data).any()
    a, b = tite.estimate(data), plain.estimate(data.take(np.arange(1)))
    np.testing.assert_array_equal(a.stats["p_over"], b.stats["p_over"])
    np.testing.assert_array_equal(a.stats["p_target"], b.stats["p_target"])
    np.testing.assert_array_equal(tite.decide(data).next_dose, plain.decide(data).next_dose)
    # slow arrivals: every window completes first, so calendar TITE-BLRM == BLRM
    kw = dict(n_trials=6, seed=5, progress=False, timeline=bd.Timeline(interarrival_days=30))
    s = bd.simulate({"tite": tite, "blrm": plain}, CURVE, **kw)
    np.testing.assert_array_equal(s.patient_dose.sel(design="tite").values,
                                  s.patient_dose.sel(design="blrm").values)  # fmt: skip


def test_mixed_batch_keeps_complete_rows_exact() -> None:
    tite = bd.BLRM(DOSES, 16, prior=PRIOR, tite_window=21)
    a = _state([0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 1, 0], [1] * 6)
    b = _state([0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 0.3])
    both = bd.DoseData(*(np.concatenate([getattr(a, k), getattr(b, k)]) for k in (
        "n", "dlt", "current", "last_n", "last_dlt", "grade2", "patient_dose", "patient_dlt",
        "patient_weight")))  # fmt: skip
    est = tite.estimate(both)
    ref = bd.BLRM(DOSES, 16, prior=PRIOR).estimate(bd.DoseData.from_counts(a.n, a.dlt, current=[0]))
    # the complete trial by the BLRM engine (batch composition moves the last bit only)
    np.testing.assert_allclose(est.stats["p_over"][0], ref.stats["p_over"][0], rtol=1e-12)
    single = tite_blrm_posterior(tite.model, b)
    np.testing.assert_allclose(est.stats["p_over"][1], single.stats["p_over"][0])
    # a pending patient without DLT counts less than a complete one: the same data with
    # that patient complete has a lower overdose probability at every dose
    done = tite_blrm_posterior(tite.model, _state([0, 0, 0, 1, 1, 1], [0] * 6, [1] * 5 + [0.99]))
    assert np.all(done.stats["p_over"][0] < est.stats["p_over"][1])


def test_calendar_simulation_runs_with_pending_patients() -> None:
    tite = bd.BLRM(DOSES, 16, prior=PRIOR, tite_window=21, max_n=12, cohort_size=1)
    s = bd.simulate({"TITE-BLRM": tite, "BLRM": tite.replace(tite_window=None)}, CURVE,
                    n_trials=6, seed=2, progress=False,
                    timeline=bd.Timeline(accrual_per_month=8))  # fmt: skip
    assert (s.max_pending.sel(design="TITE-BLRM").values > 0).all()
    assert (s.patient_pending.sel(design="BLRM").values == 0).all()
    d = s.duration_days.sel(design=["TITE-BLRM", "BLRM"]).mean("trial").values.ravel()
    assert d[0] < d[1]  # deciding with pending patients shortens the trial


def test_tite_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="tite_window"):
        bd.BLRM(DOSES, 16, tite_window=0)


def test_mcmc_engines_refuse_pending_patients() -> None:
    tite = bd.BLRM(DOSES, 16, prior=PRIOR, tite_window=21)
    data = _state([0, 0, 1], [0, 0, 0], [1, 1, 0.5])
    with pytest.raises(ValueError, match="follow-up weights"):
        tite.estimate(data, engine="pymc")


def test_fit_on_pending_data_decides_and_names_the_pending() -> None:
    """Real data with follow-up: TITE-BLRM decides on them and lists the pending patient;
    the BLRM holds; the TITE fit uses the weighted posterior (not the counts)."""
    import pandas as pd

    f = pd.DataFrame({"patient_id": [f"P{i}" for i in range(6)], "arm": "mono",
                      "dose_level": [1] * 3 + [2] * 3, "dlt": [0] * 6,
                      "cohort": [1, 1, 1, 2, 2, 2],
                      "followup_days": [21, 21, 21, 21, 21, 5]})  # fmt: skip
    out = bd.Outcomes.from_frame(f)
    tite = bd.BLRM(DOSES, 16, prior=PRIOR, tite_window=21)
    fit = tite.fit(out)
    assert not fit.hold and fit.pending == ("P5",)
    held = bd.BLRM(DOSES, 16, prior=PRIOR).fit(out)
    assert held.hold and held.next_dose is None
    data = _state([0, 0, 0, 1, 1, 1], [0] * 6, [1, 1, 1, 1, 1, 5 / 21])
    ref = tite_blrm_posterior(tite.model, data)
    np.testing.assert_allclose(fit.prob_tox, ref.prob_mean[0], rtol=1e-12)
