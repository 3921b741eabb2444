"""Priors, rules, slots and the helper functions take their numbers only as what they are.
Before: ``EXNEX(p_exch="0.5")`` and ``TauPrior(median=True)`` were accepted (also from a TOML
borrowing table), ``RelativeIncrements(True)`` meant doubling, ``OpensWhenCleared(..., min_patients=True)``
one patient, ``dose_paths(cohort_sizes=(True, 3))`` a cohort of 1, ``decision_table(cohort_size=2.5)``
steps of 2, ``simon_oc(n=29.9)`` 29 patients, ``progress="no"`` showed a bar."""

from __future__ import annotations

import pytest

import bayes_dose as bd
from bayes_dose import expansion
from bayes_dose.designs import slots
from bayes_dose.programme import OpensWhenCleared

MONO = bd.BLRM([1, 3, 10, 30], reference_dose=10)
NAN, INF = float("nan"), float("inf")

CASES = [
    (lambda: bd.EXNEX(p_exch="0.5"), r"EXNEX: p_exch must be a number in \(0, 1\), got '0.5'"),
    (lambda: bd.EXNEX(p_exch=True), r"EXNEX: p_exch must be a number in \(0, 1\), got True"),
    (lambda: bd.TauPrior(median=True), r"TauPrior: field 'median' must be a finite number > 0"),
    (lambda: bd.TauPrior(median="0.25"), r"TauPrior: field 'median' must be 2 numbers, got '0.25'"),
    (lambda: bd.TauPrior(sd_log=(1, 2, 3)), r"TauPrior: field 'sd_log' must be 2 numbers"),
    (lambda: bd.CombinationBLRM(MONO, doses=[3, 10], borrowing={"type": "exnex", "p_exch": "0.5"}),
     r"EXNEX: p_exch must be a number in \(0, 1\), got '0.5'"),
    (lambda: bd.CombinationBLRM(MONO, doses=[3, 10],
                                borrowing={"type": "exchangeable", "tau_median": True}),
     r"TauPrior: field 'median' must be a finite number > 0, got True"),
    (lambda: bd.NormalPrior(mean="1"), r"NormalPrior: field 'mean' must be a finite number"),
    (lambda: bd.NormalPrior(sd=True), r"NormalPrior: field 'sd' must be a finite number > 0"),
    (lambda: bd.NormalPrior(mean=(1, 2)), r"NormalPrior: field 'mean' must be a finite number"),
    (lambda: bd.BLRMPrior(mean=0), r"BLRMPrior: field 'mean' must be 2 numbers, got 0"),
    (lambda: bd.BLRMPrior(mean=("1", 0)), r"BLRMPrior: field 'mean' must be a finite number"),
    (lambda: bd.BLRMPrior(corr="0.2"), r"BLRMPrior: field 'corr' must be a number in \(-1, 1\)"),
    (lambda: bd.BLRMPrior(sd=(2, 0)), r"BLRMPrior: field 'sd' must be a finite number > 0, got 0"),
    (lambda: bd.rules.ProbAbove(0.25, "0.95"), r"ProbAbove: prob must be a number in \(0, 1\)"),
    (lambda: bd.rules.ProbAbove(0.25, 0.95, a=INF), r"ProbAbove: a must be a finite number > 0"),
    (lambda: bd.rules.ProbAbove(0.25, 0.95, level=2.5), r"ProbAbove: level must be a whole"),
    (lambda: slots.RelativeIncrements(True), r"RelativeIncrements: max_increase must be a finite"),
    (lambda: slots.RelativeIncrements("1.0"), r"RelativeIncrements: max_increase must be a finite"),
    (lambda: slots.RelativeIncrements((1.0, True), intervals=(0, 30)),
     r"RelativeIncrements: max_increase must be a finite number, got True"),
    (lambda: slots.Coherence("0.3"), r"Coherence: target must be a number in \(0, 1\)"),
    (lambda: bd.OBD(min_resp="0.2"), r"OBD: min_resp must be a number in \[0, 1\], got '0.2'"),
    (lambda: bd.Timeline(accrual_per_month=2, max_wait_days="30"),
     r"Timeline: max_wait_days must be a number >= 0, got '30'"),
    (lambda: OpensWhenCleared("mono", 3, min_patients=True),
     r"opens_when_cleared: min_patients must be a whole number >= 1, got True"),
    (lambda: OpensWhenCleared("mono", 2.5),
     r"opens_when_cleared: level must be a whole number >= 1, got 2\.5"),
    (lambda: bd.dose_paths(bd.ThreePlusThree(3), cohort_sizes=(True, 3)),
     r"dose_paths: cohort_sizes\[0\] must be a whole number >= 1, got True"),
    (lambda: bd.dose_paths(bd.ThreePlusThree(3), max_cohorts=2.5),
     r"dose_paths: max_cohorts must be a whole number >= 1"),
    (lambda: bd.dose_paths(bd.ThreePlusThree(3), cohort_sizes=(3,), progress="no"),
     r"dose_paths: progress must be True or False, got 'no'"),
    (lambda: bd.decision_table({"b": bd.BOIN(0.3, 4)}, up_to_n=6, cohort_size=2.5),
     r"decision_table: cohort_size must be a whole number >= 1, got 2\.5"),
    (lambda: bd.decision_table({"b": bd.BOIN(0.3, 4)}, up_to_n=6.5),
     r"decision_table: up_to_n must be a whole number >= 1, got 6\.5"),
    (lambda: bd.decision_table({"b": bd.BOIN(0.3, 4)}, up_to_n=6, level=2.7),
     r"decision_table: level must be a whole number, got 2\.7"),
    (lambda: bd.exact_operating_characteristics(bd.ThreePlusThree(4), [True, False, 0.3, 0.4]),
     r"true_tox must be 4 probabilities in \[0, 1\] \(numbers, not text or booleans\)"),
    (lambda: bd.exact_operating_characteristics(bd.ThreePlusThree(3), ["0.1", "0.2", "0.3"]),
     r"true_tox must be 3 probabilities in \[0, 1\]"),
    (lambda: bd.exact_operating_characteristics(bd.ThreePlusThree(3), [0.1, 0.2, 0.3],
                                                max_cohorts=2.5),
     r"exact_operating_characteristics: max_cohorts must be a whole number >= 1"),
    (lambda: expansion.simon_oc(1, 10, 5, 29.9, [0.1]), r"simon_oc: n must be a whole number"),
    (lambda: expansion.simon_oc(1, True, 5, 29, [0.1]), r"simon_oc: n1 must be a whole number"),
    (lambda: expansion.simon(0.1, 0.3, 0.05, 0.2, nmax="30"), r"simon: nmax must be a whole number in \[2, 1000\]"),
    (lambda: expansion.pp_boundaries([10.5, 20], p0=0.2, theta_t=0.8, phi_l=0.1, phi_u=0.9),
     r"pp_boundaries: looks must be a whole number, got 10\.5"),
    (lambda: expansion.pp_boundaries([10, 20], p0=0.2, theta_t=0.8, phi_l=0.1, phi_u=0.9,
                                     max_n=30.7), r"pp_boundaries: max_n must be a whole number"),
    (lambda: expansion.pp_design_search(0.2, 0.45, max_n=20.9, alpha=0.1, beta=0.2), r"pp_design_search: max_n must be"),
    (lambda: bd.simulate({"b": bd.BOIN(0.3, 3, max_n=6)}, true_tox=[0.1, 0.2, 0.3], n_trials=2,
                         progress="no"), r"simulate: progress must be True or False, got 'no'"),
    (lambda: bd.simulate({1: bd.BOIN(0.3, 3, max_n=6)}, true_tox=[0.1, 0.2, 0.3], n_trials=2),
     r"design names must be text, got 1"),
]


@pytest.mark.parametrize(("make", "message"), CASES)
def test_values_are_not_coerced(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_the_values_they_mean_are_still_taken():
    assert bd.EXNEX(p_exch=0.5).p_exch == 0.5
    assert bd.TauPrior(median=0.25).median == (0.25, 0.25)
    assert bd.BLRMPrior(mean=[-1, 0], sd=(2, 1), corr=0).mean == (-1.0, 0.0)
    assert slots.RelativeIncrements(1).max_increase == 1.0
    assert slots.RelativeIncrements((1.0, 0.5), intervals=(0, 30)).max_increase == (1.0, 0.5)
    assert OpensWhenCleared("mono", 3.0).level == 3
    assert bd.Timeline(accrual_per_month=2, max_wait_days=30).max_wait_days == 30.0
    t = bd.decision_table({"b": bd.BOIN(0.3, 4)}, up_to_n=6.0, cohort_size=3.0)
    assert sorted({n for n, _ in t.index}) == [3, 6]
    assert expansion.simon_oc(1, 10, 5, 29.0, [0.1, 0.3]).round(4)["pet"].tolist() == [0.7361, 0.1493]
