"""Randomised dose-optimisation stage (bayes_dose.dose_optimisation).

Published numbers: ROSE (Wang, Yuan & Liu 2025, Biometrics 81(4) ujaf124), one-stage
designs of Table 1 (normal approximation; n per arm 11, 24, 44 for p = 0.3, margin 0.1,
PCS 0.6/0.6, 0.6/0.7, 0.7/0.7; 28 for p = 0.4, PCS 0.65/0.65) and the exact-binomial
numerical example (23 per arm for p = 0.3, margin 0.1, PCS 0.6/0.6).  The numbers are those
an independent implementation's tests quote from the paper (we could read the paper's
abstract, not its tables, in the stored corpus); the normal ones are also the paper's
closed form evaluated by hand here.

Exact probabilities are checked against direct enumeration of every outcome
(``math.comb``), and the CRN simulation against them within 4 binomial MC SEs.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.efficacy import joint_probabilities


def _binom(n, k, p):
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


# -- published ----------------------------------------------------------------------------
@pytest.mark.parametrize("p, pcs_low, pcs_high, n", [
    (0.3, 0.6, 0.6, 11), (0.3, 0.6, 0.7, 24), (0.3, 0.7, 0.7, 44), (0.4, 0.65, 0.65, 28),
])  # fmt: skip
def test_rose_table1_normal_designs(p, pcs_low, pcs_high, n) -> None:
    d = bd.rose_design(p, 0.1, pcs_low, pcs_high, method="normal")
    assert d.n_per_arm == n
    # the closed form by hand: lambda = margin - z_H sqrt(v_H / n)
    vh = p * (1 - p) + (p - 0.1) * (1.1 - p)
    from scipy.stats import norm

    assert d.boundary == pytest.approx(0.1 - norm.ppf(pcs_high) * math.sqrt(vh / n), abs=1e-12)


def test_rose_exact_example_23_per_arm() -> None:
    d = bd.rose_design(0.3, 0.1, 0.6, 0.6, method="exact")
    assert d.n_per_arm == 23
    assert d.achieved_low >= 0.6 and d.achieved_high >= 0.6
    # no smaller n meets both with any cut in [0, margin n] (direct enumeration)
    for n in range(1, 23):
        ok = False
        for c in range(math.floor(0.1 * n + 1e-9) + 1):
            low = sum(_binom(n, a, 0.3) * _binom(n, b, 0.3)
                      for a in range(n + 1) for b in range(n + 1) if b - a <= c)  # fmt: skip
            high = sum(_binom(n, a, 0.2) * _binom(n, b, 0.3)
                       for a in range(n + 1) for b in range(n + 1) if b - a > c)  # fmt: skip
            ok |= low >= 0.6 and high >= 0.6
        assert not ok, n


def test_normal_design_can_fall_short_exactly_and_says_so() -> None:
    d = bd.rose_design(0.3, 0.1, 0.6, 0.6, method="normal")
    assert d.achieved_low < 0.6 < d.achieved_high  # discreteness: the reason for "exact"
    st = d.stage([300, 600])
    assert st.probability_correct([0.3, 0.3]).p_correct == pytest.approx(d.achieved_low)


# -- exact = enumeration ------------------------------------------------------------------
@pytest.mark.parametrize("n, boundary, q", [
    (20, 0.1, (0.3, 0.3)), (20, 0.1, (0.2, 0.3)), (7, 0.0, (0.5, 0.1)), (15, 0.2, (0.1, 0.6)),
])  # fmt: skip
def test_two_arm_exact_equals_enumeration(n, boundary, q) -> None:
    st = bd.RandomisedStage([300, 600], n, bd.ROSE(margin=0.1, boundary=boundary))
    s = st.probability_correct(list(q))
    cut = round(boundary * n)  # 0.1 * 20 is exactly 2 responders
    low = sum(_binom(n, a, q[0]) * _binom(n, b, q[1])
              for a in range(n + 1) for b in range(n + 1) if b - a <= cut)  # fmt: skip
    assert s.p_select[0] == pytest.approx(low, abs=1e-13)
    assert sum(s.p_select) == pytest.approx(1.0, abs=1e-13)


def test_three_arm_exact_equals_enumeration() -> None:
    n, q = 6, (0.2, 0.45, 0.5)
    st = bd.RandomisedStage([100, 300, 600], n, bd.ROSE(margin=0.1, boundary=1 / 6))
    got = st.probability_correct(list(q)).p_select
    want = np.zeros(3)
    for x in itertools.product(range(n + 1), repeat=3):
        w = math.prod(_binom(n, k, p) for k, p in zip(x, q, strict=True))
        best = max(x)
        want[next(i for i in range(3) if x[i] >= best - 1)] += w
    np.testing.assert_allclose(got, want, atol=1e-13)


def test_utility_rule_exact_equals_multinomial_enumeration() -> None:
    n, q, p, rho = 3, (0.3, 0.45), (0.05, 0.25), 0.4
    rule = bd.UtilityRule(margin=10, boundary=15, utility=(100, 40, 60, 0))
    got = bd.RandomisedStage([300, 600], n, rule).probability_correct(q, p, rho).p_select
    cells = joint_probabilities(p, q, rho)
    u = np.array([100, 40, 60, 0])

    def outcomes(arm):  # every sequence of n patients' cells
        for seq in itertools.product(range(4), repeat=n):
            yield math.prod(cells[arm][c] for c in seq), u[list(seq)].sum()

    low = 0.0
    for wa, sa in outcomes(0):
        for wb, sb in outcomes(1):
            if sa / n >= max(sa, sb) / n - 15 - 1e-12:
                low += wa * wb
    assert got[0] == pytest.approx(low, abs=1e-13)


def test_truly_better_dose_definition() -> None:
    st = bd.RandomisedStage([100, 300, 600], 10, bd.ROSE(margin=0.1, boundary=0.05))
    s = st.probability_correct([0.2, 0.38, 0.4])
    assert s.truly_better == 300 and s.indifference  # 0.38 is within 0.1 of 0.4
    two = bd.RandomisedStage([300, 600], 10, bd.ROSE(margin=0.1, boundary=0.05))
    assert two.probability_correct([0.2, 0.3]).truly_better == 600  # exactly the margin
    assert two.probability_correct([0.3, 0.3]).truly_better == 300
    assert not two.probability_correct([0.3, 0.3]).indifference
    assert "truly better 300" in two.probability_correct([0.3, 0.3]).reason


# -- simulation vs exact -------------------------------------------------------------------
@pytest.mark.parametrize("doses, rule, q, p, rho", [
    ([300, 600], bd.ROSE(margin=0.1, boundary=0.05), [0.3, 0.35], [0.05, 0.15], 0.0),
    ([100, 300, 600], bd.ROSE(margin=0.1, boundary=0.05), [0.15, 0.3, 0.35], None, 0.0),
    ([300, 600], bd.UtilityRule(margin=8, boundary=4), [0.3, 0.45], [0.05, 0.3], 0.5),
])  # fmt: skip
def test_simulation_within_4_se_of_exact(doses, rule, q, p, rho) -> None:
    st = bd.RandomisedStage(doses, 24, rule)
    sims = st.simulate(q, p, rho, n_trials=20_000, seed=3)
    exact = st.probability_correct(q, p, rho)
    se = math.sqrt(exact.p_correct * (1 - exact.p_correct) / 20_000)
    assert abs(sims.attrs["p_correct"] - exact.p_correct) < 4 * se
    for i, ps in enumerate(exact.p_select):
        f = float((sims.selected.values == i).mean())
        assert abs(f - ps) < 4 * math.sqrt(max(ps * (1 - ps), 1e-12) / 20_000) + 1e-12
    # the marginals are the per-dose ones (response and DLT rates within 4 SE)
    m = sims.resp.values.mean(axis=0) / 24
    np.testing.assert_array_less(np.abs(m - q), 4 * np.sqrt(np.array(q) * (1 - np.array(q))
                                                             / (24 * 20_000)))  # fmt: skip


def test_simulation_common_random_numbers() -> None:
    q, p = [0.3, 0.4], [0.1, 0.2]
    small = bd.RandomisedStage([300, 600], 10, bd.ROSE(0.1, 0.05)).simulate(q, p, n_trials=500,
                                                                           seed=4)  # fmt: skip
    big = bd.RandomisedStage([300, 600], 20, bd.ROSE(0.1, 0.05)).simulate(q, p, n_trials=500,
                                                                         seed=4)  # fmt: skip
    util = bd.RandomisedStage([300, 600], 20, bd.UtilityRule(10, 5)).simulate(q, p, n_trials=500,
                                                                             seed=4)  # fmt: skip
    assert (big.resp.values >= small.resp.values).all()  # the first 10 patients are kept
    assert (big.dlt.values >= small.dlt.values).all()
    np.testing.assert_array_equal(big.resp.values, util.resp.values)  # same patients
    again = bd.RandomisedStage([300, 600], 20, bd.ROSE(0.1, 0.05)).simulate(q, p, n_trials=500,
                                                                           seed=4)  # fmt: skip
    np.testing.assert_array_equal(big.selected.values, again.selected.values)


# -- sample size ------------------------------------------------------------------------------
def test_sample_size_is_the_smallest_n_reaching_the_target() -> None:
    st = bd.RandomisedStage([300, 600], 10, bd.ROSE(margin=0.15, boundary=0.075))
    for q in ([0.35, 0.35], [0.2, 0.35]):
        ss = st.sample_size(0.8, q, max_n=200)
        pc = ss.curve.p_correct.to_numpy()
        assert pc[ss.n_per_arm - 1] >= 0.8 > pc[: ss.n_per_arm - 1].max()
        assert ss.n_stable is not None and (pc[ss.n_stable - 1:] >= 0.8).all()
        assert pc[ss.n_stable - 2] < 0.8 if ss.n_stable > 1 else True
        assert st.probability_correct(q, n_per_arm=ss.n_per_arm).p_correct == ss.p_correct
    with pytest.raises(ValueError, match=r"does not reach 0\.9"):
        st.sample_size(0.9, [0.3, 0.4], max_n=30)  # indifference zone


def test_table_and_plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    st = bd.RandomisedStage([300, 600], 25, bd.ROSE(margin=0.15, boundary=0.075))
    t = bd.dose_optimisation_table(st, {"plateau": [0.35, 0.35], "rising": [0.2, 0.35],
                                        "between": [0.3, 0.4]}, max_n=60)  # fmt: skip
    assert t.truly_better.tolist() == [300, 600, 300]
    assert np.isnan(t.n_for_target.iloc[2]) and "does not reach" in t.reason.iloc[2]
    assert (t.p_select_300 + t.p_select_600).round(12).eq(1).all()
    ax = st.plot_sample_size({"plateau": [0.35, 0.35], "rising": [0.2, 0.35]}, range(5, 40))
    assert len(ax.lines) == 3


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"doses": [600, 300]}, "increasing"),
    ({"doses": [100, 200, 300, 600]}, "2 or 3"),
    ({"doses": "300,600"}, "2 or 3"),
    ({"n_per_arm": 2.5}, "whole number"),
    ({"n_per_arm": 0}, "whole number"),
    ({"rule": "ROSE"}, "bd.ROSE"),
])  # fmt: skip
def test_stage_bad_input(kwargs, match) -> None:
    kw = {"doses": [300, 600], "n_per_arm": 20, "rule": bd.ROSE(0.1, 0.05)} | kwargs
    with pytest.raises(ValueError, match=match):
        bd.RandomisedStage(**kw)


def test_numpy_doses_accepted() -> None:
    st = bd.RandomisedStage(np.array([300, 600]), 20, bd.ROSE(0.1, 0.05))
    assert st.doses == (300.0, 600.0)


def test_rule_and_truth_bad_input() -> None:
    st = bd.RandomisedStage([300, 600], 20, bd.ROSE(0.1, 0.05))
    with pytest.raises(ValueError, match="one probability per dose"):
        st.probability_correct([0.3])
    with pytest.raises(ValueError, match="dose 600"):
        st.probability_correct([0.3, 1.2])
    with pytest.raises(ValueError, match="correlation"):
        st.probability_correct([0.3, 0.4], correlation=1.0)
    with pytest.raises(ValueError, match="no boundary"):
        bd.RandomisedStage([300, 600], 20, bd.ROSE(0.1)).probability_correct([0.3, 0.3])
    with pytest.raises(ValueError, match="margin must be > 0"):
        bd.ROSE(0.0, 0.05)
    with pytest.raises(ValueError, match="4 integers"):
        bd.UtilityRule(10, 5, utility=(100, 40.5, 60, 0))
    with pytest.raises(ValueError, match="p_tox"):
        bd.RandomisedStage([300, 600], 20, bd.UtilityRule(10, 5)).probability_correct([0.3, 0.4])
    with pytest.raises(ValueError, match="margin must be in"):
        bd.rose_design(0.3, 0.3)
    with pytest.raises(ValueError, match="method"):
        bd.rose_design(0.3, 0.1, method="bayes")
    with pytest.raises(ValueError, match="target"):
        st.sample_size(1.0, [0.3, 0.3])
