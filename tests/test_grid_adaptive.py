"""BLRM grid engine on posteriors its prior grid does not resolve (issue 10, item 4).

Every number is checked against an independent computation written here: nested adaptive
quadrature (``scipy.integrate.nquad`` / ``quad``) of the unnormalised posterior in
``(log alpha, log beta)``, over a box of +-12 Laplace SDs around the posterior mode, with
the interval cut integrated exactly (``log alpha >= logit c - beta x`` for each beta).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, optimize
from scipy.special import expit, log_expit

import bayes_dose as bd
from bayes_dose.designs.state import DoseData
from bayes_dose.inference import blrm_grid
from bayes_dose.inference.blrm_grid import GridEngine

OPTS = {"epsabs": 1e-10, "epsrel": 1e-8, "limit": 100}


def reference(doses, ref_dose, prior, n, y, cuts, levels):
    """Posterior mean and (P(under), P(target), P(over)) at ``levels`` (0-based)."""
    x = np.log(np.asarray(doses, float) / ref_dose)
    n, y = np.asarray(n, float), np.asarray(y, float)
    mu = np.asarray(prior.mean)
    sa, sb = prior.sd
    cov = np.array([[sa * sa, prior.corr * sa * sb], [prior.corr * sa * sb, sb * sb]])
    prec = np.linalg.inv(cov)

    def neg(t):
        eta = t[0] + np.exp(t[1]) * x
        ll = float((y * log_expit(eta) + (n - y) * log_expit(-eta)).sum())
        return -(ll - 0.5 * (t - mu) @ prec @ (t - mu))

    starts = [mu, np.zeros(2), np.array([-2.0, 0.0]), np.array([1.0, 1.0]), np.array([0.0, -1.0])]
    fits = [
        optimize.minimize(neg, s, method="Nelder-Mead",
                          options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 5000})
        for s in starts
    ]  # fmt: skip
    best = min(fits, key=lambda r: r.fun)
    mode, top = best.x, best.fun
    e = 1e-4
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):
            a, b = np.eye(2)[i] * e, np.eye(2)[j] * e
            hess[i, j] = (
                neg(mode + a + b) - neg(mode + a - b) - neg(mode - a + b) + neg(mode - a - b)
            ) / (4 * e * e)
    sd = np.sqrt(np.diag(np.linalg.inv(hess)))
    (a0, a1), (b0, b1) = ((mode[k] - 12 * sd[k], mode[k] + 12 * sd[k]) for k in range(2))

    def dens(la, lb):
        return np.exp(top - neg(np.array([la, lb])))

    box = [[a0, a1], [b0, b1]]
    z = integrate.nquad(dens, box, opts=[OPTS, OPTS])[0]
    out = {}
    for d in levels:
        mean = integrate.nquad(
            lambda la, lb, d=d: dens(la, lb) * expit(la + np.exp(lb) * x[d]), box,
            opts=[OPTS, OPTS],
        )[0] / z  # fmt: skip
        above = []
        for c in cuts:
            lc = np.log(c / (1 - c))

            def inner(lb, d=d, lc=lc):
                start = max(a0, lc - np.exp(lb) * x[d])
                if start >= a1:
                    return 0.0
                return integrate.quad(lambda la: dens(la, lb), start, a1, **OPTS)[0]

            above.append(integrate.quad(inner, b0, b1, **OPTS)[0] / z)
        out[d] = (mean, 1 - above[0], above[0] - above[1], above[1])
    return out


def check(design, n, y, levels, tol=1e-3):
    est = design.estimate(DoseData.from_counts(np.array([n]), np.array([y]),
                                               current=np.array([0])))  # fmt: skip
    ref = reference(design.doses, design.reference_dose, design.prior, n, y,
                    design.target_interval, levels)  # fmt: skip
    for d, (mean, under, target, over) in ref.items():
        got = (est.prob_mean[0, d], *(est.stats[k][0, d] for k in ("p_under", "p_target", "p_over")))
        np.testing.assert_allclose(got, (mean, under, target, over), rtol=0, atol=tol, err_msg=f"level {d + 1}")
    assert not est.stats["grid_flag"].any() and est.grid_flags == ()
    return est, ref


BAT_DOSES = [1, 3, 10, 30, 100, 300, 600, 900]
VAGUE = dict(n=[3, 3, 3, 6, 6, 12, 9, 3], y=[0, 0, 0, 0, 1, 3, 4, 3])
CONFLICT_DOSES = [10, 20, 40, 80, 160]
CONFLICT = dict(n=[18, 6, 0, 0, 0], y=[14, 6, 0, 0, 0])


@pytest.fixture(scope="module")
def vague():
    prior = bd.BLRMPrior((-1.0986, 0.0), (10.0, 3.0))
    return bd.BLRM(BAT_DOSES, reference_dose=300, prior=prior)


def test_vague_prior_matches_quadrature_and_ewoc_forbids_300mg(vague):
    """The issue's case: the prior grid (+-6.5 prior SD, cells of 1 unit of log alpha)
    put the posterior inside a few cells and gave P(overdose at 300 mg) 0.240."""
    est, ref = check(vague, VAGUE["n"], VAGUE["y"], levels=[4, 5])
    assert est.stats["grid_refined"][0]
    assert ref[5][3] == pytest.approx(0.3167, abs=1e-3)  # the exact value 0.317
    out = bd.Outcomes.from_counts(VAGUE["n"], VAGUE["y"])
    data = DoseData.from_counts(np.array([VAGUE["n"]]), np.array([VAGUE["y"]]),
                                current=np.array([4]))  # fmt: skip
    dec = vague.decide(data)
    assert dec.next_dose[0] == 4  # 100 mg: 300 mg has P(overdose) >= 0.25
    fit = vague.fit(out)
    assert fit.grid_flags == () and "grid warning" not in fit.reason


def test_prior_data_conflict_matches_quadrature():
    """Tight prior, 14/18 DLTs at the lowest dose: the posterior sits ~5 prior SDs out in
    log beta, 2.6% of the prior grid's mass was in its edge cells (truncated)."""
    prior = bd.BLRMPrior((-3.0, 0.0), (0.3, 0.2))
    design = bd.BLRM(CONFLICT_DOSES, reference_dose=80, prior=prior)
    plain = GridEngine(design.model, design.grid, adaptive=False)
    counts = {"arm": (np.array([CONFLICT["n"]]), np.array([CONFLICT["y"]]))}
    old = plain.estimate(counts)
    assert old.stats["grid_flag"][0] and old.stats["grid_edge_mass"][0] > 0.01
    assert old.grid_flags == (blrm_grid.FLAG_EDGE,)
    _, ref = check(design, CONFLICT["n"], CONFLICT["y"], levels=[0, 4])
    assert abs(old.prob_mean[0, 0] - ref[0][0]) > 3e-3  # the truncated answer was wrong


def test_large_sample_matches_quadrature():
    """300 patients under the default prior: the posterior spans about one prior-grid cell."""
    design = bd.BLRM(BAT_DOSES, reference_dose=300)
    n = [0, 0, 0, 30, 60, 90, 90, 30]
    y = [0, 0, 1, 2, 9, 22, 33, 16]
    est, _ = check(design, n, y, levels=[5, 6])
    assert est.stats["grid_refined"][0]


def test_resolved_posteriors_stay_on_the_prior_grid():
    """The NBG-like default case is resolved by the prior grid: no refinement, and the
    result equals the fixed-grid computation exactly (simulations stay bit-identical)."""
    design = bd.BLRM(BAT_DOSES, reference_dose=300)
    n, y = np.array([[1, 1, 1, 3, 3, 6, 0, 0]]), np.array([[0, 0, 0, 0, 0, 1, 0, 0]])
    a = GridEngine(design.model, design.grid).estimate({"arm": (n, y)})
    b = GridEngine(design.model, design.grid, adaptive=False).estimate({"arm": (n, y)})
    assert not a.stats["grid_refined"][0] and not a.stats["grid_flag"][0]
    np.testing.assert_array_equal(a.prob_mean, b.prob_mean)
    np.testing.assert_array_equal(a.stats["p_over"], b.stats["p_over"])


def test_vectorised_mixture_of_resolved_and_refined_trials(vague):
    """Trials refined on their own grids and trials kept on the prior grid, in one call,
    equal the same trials computed one at a time."""
    rng = np.random.default_rng(5)
    n = np.vstack([VAGUE["n"], rng.integers(0, 4, size=(5, 8)), [0, 0, 0, 30, 60, 90, 90, 30]])
    y = rng.binomial(n, 0.2)
    data = DoseData.from_counts(n, y, current=np.zeros(len(n), dtype=int))
    together = vague.estimate(data)
    for t in range(len(n)):
        one = vague.estimate(data.take(np.array([t])), intervals=False)
        np.testing.assert_allclose(together.prob_mean[t], one.prob_mean[0], atol=1e-12)
        np.testing.assert_allclose(together.stats["p_over"][t], one.stats["p_over"][0], atol=1e-12)


def test_unverified_posterior_is_flagged_on_the_estimate_and_the_fit(monkeypatch):
    """Without the posterior grids, an unresolved posterior is never returned silently:
    the Estimate names the problem and the fit's reason carries a grid warning."""
    prior = bd.BLRMPrior((-3.0, 0.0), (0.3, 0.2))
    design = bd.BLRM(CONFLICT_DOSES, reference_dose=80, prior=prior)
    key = (design.model, design.grid)
    monkeypatch.setitem(blrm_grid._ENGINES, key,
                        GridEngine(design.model, design.grid, adaptive=False))  # fmt: skip
    fit = design.fit(bd.Outcomes.from_counts(CONFLICT["n"], CONFLICT["y"]))
    assert fit.grid_flags == (blrm_grid.FLAG_EDGE,)
    assert "[grid warning: posterior mass at the grid edge]" in fit.reason
