"""Design parameters are taken only as what they are.  Before: ``BLRM(ewoc=True)`` became
1.0 (EWOC switched off), ``CRM(tite_window=True)`` a 1-day window, ``CombinationBLRM(borrow="no")``
full borrowing, ``BOIN(n_earlystop=6.5)`` 6, a NaN dose made the BLRM stop with "no MTD",
``doses="123"`` became 1, 2 and 3 mg, and a 2-D skeleton was flattened into more levels."""

from __future__ import annotations

import pytest

import bayes_dose as bd
from bayes_dose.inference.combo_quadrature import QuadratureSettings

DOSES = (1.0, 3.0, 10.0, 30.0)
SK = (0.05, 0.12, 0.25, 0.40)
MONO = bd.BLRM(DOSES, reference_dose=10)
NAN, INF = float("nan"), float("inf")

CASES = [
    # BLRM and its EWOC family
    (lambda: bd.BLRM(DOSES, 10, ewoc=True), r"BLRM: ewoc must be a number in \(0, 1\], got True"),
    (lambda: bd.BLRM(DOSES, 10, ewoc="0.25"), r"BLRM: ewoc must be a number"),
    (lambda: bd.BLRM(DOSES, 10, ewoc=(0.25,)), r"BLRM: ewoc must be a number"),
    (lambda: bd.BLRM(DOSES, 10, tite_window=True), r"BLRM: tite_window must be a finite number > 0"),
    (lambda: bd.BLRM(DOSES, 10, tite_window=INF), r"BLRM: tite_window must be a finite number > 0"),
    (lambda: bd.BLRM(DOSES, 10, max_increment=NAN), r"BLRM: max_increment must be a finite number > 1"),
    (lambda: bd.BLRM((1, 3, NAN, 30), 10), r"BLRM: doses must hold positive finite doses"),
    (lambda: bd.BLRM((1, 3, INF), 10), r"BLRM: doses must hold positive finite doses"),
    (lambda: bd.BLRM("123", 10), r"BLRM: doses must be a sequence of doses \(mg\), got '123'"),
    (lambda: bd.BLRM([[1, 3], [10, 30]], 10), r"BLRM: doses must hold positive finite doses"),
    (lambda: bd.BLRM(DOSES, "10"), r"BLRM: reference_dose must be a finite number > 0, got '10'"),
    (lambda: bd.BLRM(DOSES, (10, 20)), r"BLRM: reference_dose must be a finite number > 0"),
    (lambda: bd.BLRM(DOSES, 10, grid=(61.7, 121)), r"BLRM: grid must be 2 whole numbers >= 3"),
    (lambda: bd.BLRM(DOSES, 10, grid=(True, 121)), r"BLRM: grid must be 2 whole numbers >= 3"),
    (lambda: bd.BLRM(DOSES, 10, grid=(0, -5)), r"BLRM: grid must be 2 whole numbers >= 3"),
    (lambda: bd.BLRM(DOSES, 10, grid=61), r"BLRM: grid must be 2 whole numbers >= 3, got 61"),
    (lambda: bd.BLRM(DOSES, 10, target_interval=0.3), r"BLRM: target_interval must be \(lo, hi\)"),
    (lambda: bd.BLRM(DOSES, 10, target_interval="ab"), r"BLRM: target_interval must be \(lo, hi\)"),
    (lambda: bd.BLRM(DOSES, 10, target_interval=("0.16", 0.33)), r"target_interval must be \(lo"),
    # CombinationBLRM
    (lambda: bd.CombinationBLRM(MONO, doses=[3, 10, 30], borrow="no"),
     r"CombinationBLRM: borrow must be True or False, got 'no'"),
    (lambda: bd.CombinationBLRM(MONO, doses=[3, 10, 30], borrow=0),
     r"CombinationBLRM: borrow must be True or False, got 0"),
    (lambda: bd.CombinationBLRM(MONO, doses=[3, NAN, 30]),
     r"CombinationBLRM: doses must hold positive finite doses"),
    (lambda: bd.CombinationBLRM(MONO, doses="310"), r"CombinationBLRM: doses must be a sequence"),
    (lambda: bd.CombinationBLRM(MONO, doses=[3, 10, 30], grid=(9.9, 9, 9, 9)),
     r"CombinationBLRM: grid must be 4 whole numbers >= 3"),
    (lambda: bd.CombinationBLRM(MONO, doses=[3, 10, 30], grid=(0, 0, 0, 0)),
     r"CombinationBLRM: grid must be 4 whole numbers >= 3"),
    (lambda: bd.CombinationBLRM(MONO, doses=[3, 10, 30], ewoc=True), r"ewoc must be a number"),
    (lambda: QuadratureSettings(order=6.9), r"QuadratureSettings: order must be a whole number"),
    (lambda: QuadratureSettings(max_order=12.5), r"QuadratureSettings: max_order must be a whole"),
    (lambda: QuadratureSettings(cache_size=True), r"QuadratureSettings: cache_size must be a whole"),
    (lambda: QuadratureSettings(tol="0.001"), r"QuadratureSettings: tol must be a finite number"),
    # CRM
    (lambda: bd.CRM(SK, 0.25, tite_window=True), r"CRM: tite_window must be a finite number > 0"),
    (lambda: bd.CRM(SK, 0.25, tite_window=INF), r"CRM: tite_window must be a finite number > 0"),
    (lambda: bd.CRM(SK, 0.25, prior_sd=INF), r"CRM: prior_sd must be a finite number > 0, got inf"),
    (lambda: bd.CRM(SK, "0.25"), r"CRM: target must be a number in \(0, 1\), got '0.25'"),
    (lambda: bd.CRM(SK, (0.25,)), r"CRM: target must be a number in \(0, 1\)"),
    (lambda: bd.CRM(SK, 0.25, link="logistic", intercept=NAN), r"CRM: intercept must be a finite"),
    (lambda: bd.CRM(SK, 0.25, credible_level=True), r"CRM: credible_level must be a number in"),
    (lambda: bd.CRM([[0.05, 0.1], [0.2, 0.3]], 0.25), r"CRM: skeleton must be a 1-D sequence"),
    (lambda: bd.CRM(0.3, 0.25), r"CRM: skeleton must be a 1-D sequence of probabilities, got 0.3"),
    (lambda: bd.CRM("0.1", 0.25), r"CRM: skeleton must be a 1-D sequence of probabilities"),
    (lambda: bd.CRM((0.05, True, 0.3), 0.25), r"CRM: skeleton must be a 1-D sequence"),
    (lambda: bd.crm_skeleton(0.25, 0.05, mtd_guess=2.7, n_doses=5),
     r"crm_skeleton: mtd_guess must be a whole number"),
    (lambda: bd.crm_skeleton(0.25, 0.05, mtd_guess=2, n_doses=True),
     r"crm_skeleton: n_doses must be a whole number"),
    # BOIN, BOIN12
    (lambda: bd.BOIN(0.3, 4, n_earlystop=6.5), r"BOIN: n_earlystop must be a whole number >= 1"),
    (lambda: bd.BOIN(0.3, 4, n_earlystop=True), r"BOIN: n_earlystop must be a whole number >= 1"),
    (lambda: bd.BOIN(0.3, 4, tite_window="21"), r"BOIN: tite_window must be a finite number > 0"),
    (lambda: bd.BOIN(0.3, 4, tite_window=True), r"BOIN: tite_window must be a finite number > 0"),
    (lambda: bd.BOIN("0.3", 4), r"BOIN: target must be a number in \(0, 1\), got '0.3'"),
    (lambda: bd.BOIN((0.3,), 4), r"BOIN: target must be a number in \(0, 1\)"),
    (lambda: bd.BOIN(0.3, 4, p_saf=(0.18,)), r"BOIN: p_saf must be a number in \(0, 1\)"),
    (lambda: bd.boin_boundaries(0.3, up_to_n=5.5), r"boin_boundaries: up_to_n must be a whole"),
    (lambda: bd.BOIN12(0.3, 4, 0.25, n_star=6.5), r"BOIN12: n_star must be a whole number >= 1"),
    (lambda: bd.BOIN12(0.3, 4, 0.25, n_explore=True), r"BOIN12: n_explore must be a whole number"),
    (lambda: bd.BOIN12("0.3", 4, 0.25), r"BOIN12: target must be a number in \(0, 1\)"),
]


@pytest.mark.parametrize(("make", "message"), CASES)
def test_design_parameters_are_not_coerced(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_what_the_parameters_mean_is_still_taken():
    d = bd.BLRM([1, 3, 10, 30], 10.0, ewoc=0.25, tite_window=21, grid=(61.0, 121),
                max_increment=2)  # fmt: skip
    assert (d.ewoc, d.tite_window, d.grid, d.max_increment) == (0.25, 21.0, (61, 121), 2.0)
    assert type(d.grid[0]) is int and d.doses == DOSES
    c = bd.CombinationBLRM(MONO, doses=[3, 10, 30], borrow=False)
    assert c.borrowing == "none"
    assert bd.CombinationBLRM(MONO, doses=[3, 10, 30], borrow=True).borrowing == "full"
    crm = bd.CRM(list(SK), 0.25, tite_window=21)
    assert crm.skeleton == SK and crm.tite_window == 21.0
    assert bd.BOIN(0.3, 4, n_earlystop=6.0).n_earlystop == 6
    assert len(bd.boin_boundaries(0.3, up_to_n=6.0)) == 6
    assert bd.crm_skeleton(0.25, 0.05, mtd_guess=3.0, n_doses=5) == bd.crm_skeleton(0.25, 0.05, 3, 5)


def test_pandas_series_fractions_and_zero_d_arrays_are_taken():
    """Correct inputs a first version of the checks refused (review finding)."""
    from fractions import Fraction

    import numpy as np
    import pandas as pd

    assert bd.BLRM(pd.Series(DOSES), 10).doses == DOSES
    assert bd.CRM(pd.Series(SK), 0.25).skeleton == SK
    assert bd.Arm("m", "m", pd.Series(DOSES)).doses_mg == DOSES
    assert bd.BOIN(Fraction(1, 4), 5).target == 0.25
    assert bd.BOIN(np.array(0.25), np.array(5)).n_doses == 5
    assert bd.BLRM(DOSES, np.array(10)).reference_dose == 10.0
    a = bd.exact_operating_characteristics(bd.BOIN(0.25, 4, max_n=9), pd.Series([.05, .1, .25, .4]))
    b = bd.exact_operating_characteristics(bd.BOIN(0.25, 4, max_n=9), [.05, .1, .25, .4])
    assert a.expected_n == b.expected_n
