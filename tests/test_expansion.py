"""Expansion-cohort designs: Simon two-stage and predictive-probability monitoring.

Reference numbers: Simon (1989) Controlled Clinical Trials 10:1-10, Tables 1-2 (designs
r1/n1, r/n, EN0, PET0 as printed, to the printed precision); the phase1b R package's tests
(postprob, predprob, boundsPredprob) and Lee & Liu (2008) Clin Trials 5:93-106 (x = 16 of
23, Nmax = 40, p0 = 0.6, theta_T = 0.9, Beta(0.6, 0.4): PP = 0.5656).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

import bayes_dose as bd
from bayes_dose import expansion as ex

# (p0, p1, alpha, beta, kind, r1, n1, r, n, EN0, PET0) as printed in Simon (1989)
SIMON_TABLE = [
    (0.05, 0.25, 0.05, 0.20, "optimal", 0, 9, 2, 17, 12.0, 0.63),
    (0.05, 0.25, 0.05, 0.20, "minimax", 0, 12, 2, 16, 13.8, 0.54),
    (0.05, 0.25, 0.05, 0.10, "optimal", 0, 9, 3, 30, 16.8, 0.63),
    (0.05, 0.25, 0.05, 0.10, "minimax", 0, 15, 3, 25, 20.4, 0.46),
    (0.10, 0.30, 0.05, 0.20, "optimal", 1, 10, 5, 29, 15.0, 0.74),
    (0.10, 0.30, 0.05, 0.20, "minimax", 1, 15, 5, 25, 19.5, 0.55),
    (0.10, 0.30, 0.05, 0.10, "optimal", 2, 18, 6, 35, 22.5, 0.73),
    (0.10, 0.30, 0.05, 0.10, "minimax", 2, 22, 6, 33, 26.2, 0.62),
    (0.20, 0.40, 0.05, 0.20, "optimal", 3, 13, 12, 43, 20.6, 0.75),
    (0.20, 0.40, 0.05, 0.20, "minimax", 4, 18, 10, 33, 22.3, 0.72),
    (0.20, 0.40, 0.05, 0.10, "optimal", 4, 19, 15, 54, 30.4, 0.67),
    (0.20, 0.40, 0.05, 0.10, "minimax", 5, 24, 13, 45, 31.2, 0.66),
    (0.30, 0.50, 0.05, 0.20, "optimal", 5, 15, 18, 46, 23.6, 0.72),
    (0.30, 0.50, 0.05, 0.20, "minimax", 6, 19, 16, 39, 25.7, 0.67),
]


@pytest.mark.parametrize("row", SIMON_TABLE, ids=lambda r: f"{r[0]}-{r[1]}-{r[2]}-{r[3]}-{r[4]}")
def test_simon_reproduces_published_designs(row):
    p0, p1, a, b, kind, r1, n1, r, n, en0, pet0 = row
    d = bd.expansion.simon(p0, p1, a, b, kind=kind, nmax=70)
    assert (d.r1, d.n1, d.r, d.n) == (r1, n1, r, n)
    assert round(d.en0, 1) == en0
    assert round(d.pet0, 2) == pet0
    assert d.alpha <= a and d.power >= 1 - b
    got = tuple(d)  # unpacks as (r1, n1, r, n, EN0, PET0)
    assert got[:4] == (r1, n1, r, n) and got[4] == d.en0 and got[5] == d.pet0


def _brute_oc(r1, n1, r, n, p):
    """Independent: sum over every (x1, x2) of the two binomials."""
    n2 = n - n1
    pet = sum(stats.binom.pmf(x1, n1, p) for x1 in range(r1 + 1))
    prom = sum(
        stats.binom.pmf(x1, n1, p) * stats.binom.pmf(x2, n2, p)
        for x1 in range(r1 + 1, n1 + 1) for x2 in range(n2 + 1) if x1 + x2 > r
    )  # fmt: skip
    return pet, n1 + (1 - pet) * n2, prom


@pytest.mark.parametrize("design", [(1, 10, 5, 29), (0, 12, 2, 16), (4, 18, 10, 33)])
def test_simon_oc_matches_brute_force(design):
    for p in (0.0, 0.1, 0.25, 0.4, 1.0):
        oc = ex.simon_oc(*design, p).iloc[0]
        pet, en, prom = _brute_oc(*design, p)
        assert oc.pet == pytest.approx(pet, abs=1e-12)
        assert oc.en == pytest.approx(en, abs=1e-10)
        assert oc.p_promising == pytest.approx(prom, abs=1e-12)


def test_simon_minimax_is_smallest_feasible_n_and_optimal_smallest_en0():
    opt = ex.simon(0.1, 0.3, 0.05, 0.2, "optimal", nmax=40)
    mm = ex.simon(0.1, 0.3, 0.05, 0.2, "minimax", nmax=40)
    assert mm.n <= opt.n and opt.en0 <= mm.en0
    # no design with n = mm.n - 1 meets the constraints (checked by brute force)
    n = mm.n - 1
    for n1 in range(1, n):
        for r1 in range(n1):
            for r in range(r1, n):
                oc = ex.simon_oc(r1, n1, r, n, [0.1, 0.3])
                assert not (oc.p_promising[0] <= 0.05 and oc.p_promising[1] >= 0.8)


def test_simon_bad_input_and_infeasible():
    with pytest.raises(ValueError, match="p0 < p1"):
        ex.simon(0.3, 0.1, 0.05, 0.2)
    with pytest.raises(ValueError, match="kind"):
        ex.simon(0.1, 0.3, 0.05, 0.2, kind="best")
    with pytest.raises(ValueError, match="raise nmax"):
        ex.simon(0.1, 0.3, 0.05, 0.2, nmax=20)
    with pytest.raises(ValueError, match="need 0 < n1 < n"):
        ex.simon_oc(3, 2, 5, 29, 0.1)


# -- predictive probability (phase1b tests, Lee & Liu 2008) ------------------------------
def test_posterior_probability_phase1b():
    assert ex.posterior_probability(16, 23, 0.6, (0.6, 0.4)) == pytest.approx(0.8359808, abs=1e-7)
    # two-component mixture, equal prior weights
    mix = [(0.6, 0.4), (1, 1)]
    assert ex.posterior_probability(10, 23, 0.6, mix) == pytest.approx(0.05559802, abs=1e-8)


def test_predictive_probability_lee_liu_example():
    pp = bd.expansion.predictive_probability(16, 23, 40, 0.6, 0.9, prior=(0.6, 0.4))
    assert pp == pytest.approx(0.5655589, abs=1e-7)
    assert round(pp, 4) == 0.5656
    # lower theta_T -> higher predictive probability
    assert ex.predictive_probability(16, 23, 40, 0.6, 0.8, (0.6, 0.4)) > pp


def test_predictive_probability_mixture_and_table_phase1b():
    args = (20, 23, 40, 0.6, 0.9, [(1, 1), (25, 15)])
    assert ex.predictive_probability(*args, weights=[3, 1]) == pytest.approx(0.9874431, abs=1e-7)
    t = ex.predictive_table(*args, weights=[3, 1])
    assert t["y"].tolist() == list(range(18))
    assert t["total"].tolist() == list(range(20, 38))
    dens = [0, 0, 0, 0, 1e-4, 3e-4, 0.0011, 0.0031, 0.008, 0.0177, 0.0348, 0.0613,
            0.0973, 0.1394, 0.1783, 0.1964, 0.1708, 0.0913]  # fmt: skip
    post = [0.156, 0.2352, 0.3303, 0.4359, 0.5449, 0.65, 0.7447, 0.8244, 0.8871, 0.9327,
            0.9634, 0.9821, 0.9923, 0.9972, 0.9991, 0.9998, 1, 1]  # fmt: skip
    np.testing.assert_allclose(t["density"].round(4), dens, atol=1e-12)
    np.testing.assert_allclose(t["posterior"].round(4), post, atol=1e-12)
    assert t["success"].astype(int).tolist() == [0] * 9 + [1] * 9
    assert t["density"].sum() == pytest.approx(1.0, abs=1e-12)


def test_pp_boundaries_phase1b():
    b = ex.pp_boundaries([10, 20, 30, 40], p0=0.2, theta_t=0.8, phi_l=0.1, phi_u=0.9)
    assert b["x_lower"].tolist() == [0, 2, 5, 9]
    np.testing.assert_allclose(b["p_lower"].round(4), [0, 0.1, 0.1667, 0.225])
    np.testing.assert_allclose(b["post_lower"].round(4), [0.0859, 0.1787, 0.3931, 0.704])
    np.testing.assert_allclose(b["ci_upper_lower"].round(4), [0.2589, 0.2826, 0.319, 0.3598])
    assert b["x_upper"].tolist() == [4, 7, 9, 10]
    np.testing.assert_allclose(b["p_upper"].round(4), [0.4, 0.35, 0.3, 0.25])
    np.testing.assert_allclose(b["post_upper"].round(4), [0.9496, 0.9569, 0.9254, 0.8177])
    np.testing.assert_allclose(b["ci_lower_upper"].round(4), [0.15, 0.1773, 0.1663, 0.1424])


def test_predictive_probability_bad_input():
    with pytest.raises(ValueError, match="0 <= x <= n"):
        ex.predictive_probability(24, 23, 40, 0.6, 0.9, (0.6, 0.4))
    with pytest.raises(ValueError, match="max_n >= n"):
        ex.predictive_probability(16, 23, 22, 0.6, 0.9, (0.6, 0.4))
    with pytest.raises(ValueError, match="theta_t"):
        ex.predictive_probability(16, 23, 40, 0.6, 2.0, (0.6, 0.4))
    with pytest.raises(ValueError, match="weights"):
        ex.predictive_probability(16, 23, 40, 0.6, 0.9, (0.6, 0.4), weights=[3, 1, 4])
    with pytest.raises(ValueError, match="positive"):
        ex.predictive_probability(16, 23, 40, 0.6, 0.9, (0.0, 0.4))


# -- the monitoring design for a cohort of 20: exact OCs against an independent sum -------
def _brute_pp_oc(design: ex.PPDesign, p: float):
    """Independent: enumerate the responses added between looks (product of binomials)."""
    table = design.decision_table()
    lows = dict(zip(table["n"], table["x_lower"], strict=True))
    looks = [*design.looks, design.max_n]
    sizes = np.diff([0, *looks])
    prom = pet = en = 0.0
    for incs in itertools.product(*[range(s + 1) for s in sizes]):
        prob = np.prod([stats.binom.pmf(k, s, p) for k, s in zip(incs, sizes, strict=True)])
        x = np.cumsum(incs)
        for n, xx in zip(looks, x, strict=True):
            if n < design.max_n and xx <= lows[n]:
                pet += prob
                en += prob * n
                break
        else:
            en += prob * design.max_n
            prom += prob * (x[-1] > lows[design.max_n])
    return prom, pet, en


def test_pp_design_oc_matches_enumeration():
    d = ex.PPDesign(p0=0.2, n_max=20, theta_t=0.9, phi_l=0.05, looks=(8, 12, 16))
    for p in (0.2, 0.35, 0.45):
        oc = d.oc(p).iloc[0]
        prom, pet, en = _brute_pp_oc(d, p)
        assert oc.p_promising == pytest.approx(prom, abs=1e-12)
        assert oc.pet == pytest.approx(pet, abs=1e-12)
        assert oc.en == pytest.approx(en, abs=1e-10)
    # final success boundary = smallest x with P(p > 0.2 | x of 20) > 0.9
    xu = int(d.decision_table()["x_upper"].iloc[-1])
    assert ex.posterior_probability(xu, 20, 0.2) > 0.9 >= ex.posterior_probability(xu - 1, 20, 0.2)


def test_pp_design_search_cohort_of_20():
    t = ex.pp_design_search(0.2, 0.45, n_max=20, alpha=0.1, beta=0.2, looks=(10, 15))
    best = t.iloc[0]
    assert best.feasible and best.alpha <= 0.1 and best.power >= 0.8
    feas = t[t.feasible]
    assert best.en0 == feas.en0.min()
    d = ex.PPDesign(p0=0.2, n_max=20, theta_t=best.theta_t, phi_l=best.phi_l, looks=(10, 15))
    oc = d.oc([0.2, 0.45])
    assert oc.p_promising.tolist() == pytest.approx([best.alpha, best.power], abs=1e-12)
    # p1 = 0.4 is out of reach with 20 patients at alpha 0.1 (single stage: power 0.75)
    t40 = ex.pp_design_search(0.2, 0.4, n_max=20, alpha=0.1, beta=0.2, looks=(10, 15))
    assert not t40.feasible.any()


def test_pp_design_bad_input():
    with pytest.raises(ValueError, match="phi_l < phi_u"):
        ex.PPDesign(p0=0.2, n_max=20, theta_t=0.9, phi_l=0.5, phi_u=0.4, looks=(10,))
    with pytest.raises(ValueError, match="looks"):
        ex.PPDesign(p0=0.2, n_max=20, theta_t=0.9, phi_l=0.05, looks=(15, 10))
    with pytest.raises(ValueError, match="looks"):
        ex.PPDesign(p0=0.2, n_max=20, theta_t=0.9, phi_l=0.05, looks=(20,))


def test_pp_design_early_efficacy_stop():
    d = ex.PPDesign(p0=0.2, n_max=20, theta_t=0.9, phi_l=0.05, phi_u=0.95, looks=(10, 15))
    t = d.decision_table()
    assert t["x_upper"].notna().all()
    oc = d.oc(0.5).iloc[0]
    assert oc.p_stop_efficacy > 0 and oc.pet == pytest.approx(oc.p_stop_futility + oc.p_stop_efficacy)
    # stopping early for efficacy only when success is (nearly) certain keeps P(promising)
    # close to the design without it
    base = ex.PPDesign(p0=0.2, n_max=20, theta_t=0.9, phi_l=0.05, looks=(10, 15)).oc(0.5).iloc[0]
    assert abs(oc.p_promising - base.p_promising) < 0.02 and oc.en < base.en
