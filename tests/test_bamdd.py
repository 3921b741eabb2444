"""The BLRM example of the Novartis "Applied Modelling in Drug Development" case study
(bamdd, chapter "Oncology dose escalation", fitted there with brms / Stan).

Data (OncoBayes2's ``hist_SA``): 1 mg 0/3, 2.5 mg 0/4, 5 mg 0/5, 10 mg 0/4, 25 mg 2/2;
reference dose 50 mg; ``log alpha ~ N(logit 0.33, 2^2)``, ``log beta ~ N(0, 0.7^2)``.

Published numbers reproduced (printed in the rendered chapter, 3 decimals):

* posterior means of ``log alpha`` (0.713) and ``log beta`` (0.490) (``posterior_summary``);
* posterior mean of P(DLT) at the five doses (0.010, 0.024, 0.052, 0.125, 0.383);
* interval probabilities (under / target / over, cuts 0.16 and 0.33) at 10, 25, 50 mg.

Tolerance: theirs are MCMC estimates from 4 chains x 1000 draws.  We take their Monte
Carlo SE as ``sd / sqrt(1000)`` (an effective sample size of 1000, a conservative lower
bound for 4000 NUTS draws of this 2-parameter model): ``sqrt(p (1 - p) / 1000)`` for a
probability, the printed posterior sd over ``sqrt(1000)`` for a mean; a number agrees
when within 3 such SEs plus the rounding of the print (5e-4).  The grid engine's own
error (< 1e-3) is negligible next to that; PyMC adds its own SE (test marked ``mcmc``).
"""

from __future__ import annotations

import numpy as np
import pytest

import bayes_dose as bd

ESS_THEIRS = 1000.0
ROUND = 5e-4

DOSES = [1, 2.5, 5, 10, 25, 50]
DATA = "1NNN 2NNNN 3NNNNN 4NNNN 5TT"
# posterior_summary(blrm_fit): estimate and est.error
LOG_ALPHA = (0.7133146, 1.3609858)
LOG_BETA = (0.4901802, 0.5387588)
# P(DLT) at 1, 2.5, 5, 10, 25 mg: mean and sd
PI_MEAN = (0.010, 0.024, 0.052, 0.125, 0.383)
PI_SD = (0.021, 0.034, 0.054, 0.093, 0.194)
# interval probabilities (0, 0.16], (0.16, 0.33], (0.33, 1] at 10, 25, 50 mg
INTERVALS = {10: (0.722, 0.237, 0.040), 25: (0.129, 0.308, 0.564), 50: (0.034, 0.110, 0.856)}


def design() -> bd.BLRM:
    prior = bd.BLRMPrior(mean=(float(np.log(0.33 / 0.67)), 0.0), sd=(2.0, 0.7))
    return bd.BLRM(DOSES, reference_dose=50, prior=prior)


def tol_p(p: float, own_se: float = 0.0) -> float:
    return 3.0 * np.sqrt(p * (1 - p) / ESS_THEIRS + own_se**2) + ROUND


def check(fit: bd.BLRMFit, own_se: float = 0.0) -> None:
    st = fit.estimate.stats
    for (m, sd), name in ((LOG_ALPHA, "log_alpha_mean"), (LOG_BETA, "log_beta_mean")):
        got = float(np.asarray(st[name])[0])
        assert abs(got - m) <= 3 * sd / np.sqrt(ESS_THEIRS) + ROUND, (name, got, m)
    mean = fit.prob_tox.to_numpy()
    for k, (m, sd) in enumerate(zip(PI_MEAN, PI_SD, strict=True)):
        assert abs(mean[k] - m) <= 3 * np.sqrt(sd**2 / ESS_THEIRS + own_se**2) + ROUND, (k, mean[k], m)
    probs = fit.interval_probs
    for mg, ref in INTERVALS.items():
        got = probs.sel(dose=DOSES.index(mg)).to_numpy()
        for g, r in zip(got, ref, strict=True):
            assert abs(g - r) <= tol_p(r, own_se), (mg, got, ref)


def test_bamdd_blrm_grid_engine_reproduces_the_published_posterior() -> None:
    fit = design().fit(bd.Outcomes.parse(DATA))
    check(fit)
    # and the grid numbers themselves, to 1e-3 (exact quadrature; regression guard)
    np.testing.assert_allclose(
        fit.interval_probs.sel(dose=DOSES.index(25)).to_numpy(), (0.1329, 0.3080, 0.5591), atol=1e-3
    )
    # EWOC (P(overdose) <= 0.25) holds at 10 mg, not at 25 or 50 mg, as printed there
    over = fit.interval_probs.sel(category="over").to_numpy()
    assert over[DOSES.index(10)] < 0.25 < over[DOSES.index(25)]


@pytest.mark.mcmc
def test_bamdd_blrm_pymc_reproduces_the_published_posterior() -> None:
    fit = design().fit(
        bd.Outcomes.parse(DATA), engine="pymc", draws=1000, tune=1000, chains=2, random_seed=11
    )
    ess = float(fit.estimate.diagnostics["min_ess_bulk"])
    # our own MC SE at the worst case p = 0.5
    check(fit, own_se=float(np.sqrt(0.25 / ess)))
