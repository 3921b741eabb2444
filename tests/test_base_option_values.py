"""The base options every design shares refuse values they would otherwise coerce
silently: ``int(7.9)`` is 7, ``bool("False")`` is True, ``int(True)`` is 1, and a tuple of
doses given where the number of levels belongs gave a bare TypeError."""

from __future__ import annotations

import numpy as np
import pytest

import bayes_dose as bd

DOSES = (1.0, 3.0, 10.0, 30.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_doses": 7.9}, r"ThreePlusThree: n_doses must be a whole number, got 7\.9"),
        ({"n_doses": True}, r"ThreePlusThree: n_doses must be a whole number, got True"),
        ({"n_doses": "8"}, r"ThreePlusThree: n_doses must be a whole number, got '8'"),
        ({"n_doses": DOSES}, r"ThreePlusThree: n_doses must be a whole number, got \(1\.0, 3\.0"),
        ({"n_doses": float("nan")}, r"ThreePlusThree: n_doses must be a whole number, got nan"),
        ({"n_doses": 4, "start_level": 2.5}, r"start_level must be a whole number, got 2\.5"),
        ({"n_doses": 4, "titration_levels": 1.5}, r"titration_levels must be a whole number"),
        ({"n_doses": 4, "titration_grade2": "False"},
         r"ThreePlusThree: titration_grade2 must be True or False, got 'False'"),
        ({"n_doses": 4, "titration_grade2": 1}, r"titration_grade2 must be True or False, got 1"),
        ({"n_doses": 4, "doses_mg": "1,3,10,30"},
         r"doses_mg must be a sequence of doses \(mg\), got '1,3,10,30'"),
        ({"n_doses": 4, "doses_mg": (1, 3, float("nan"), 30)},
         r"doses_mg must hold positive finite doses \(mg\), got \(1, 3, nan, 30\)"),
        ({"n_doses": 4, "doses_mg": (1, 3, 0, 30)}, r"doses_mg must hold positive finite doses"),
        ({"n_doses": 4, "doses_mg": (1, 3, "ten", 30)}, r"doses_mg must hold positive finite"),
    ],
)
def test_three_plus_three_refuses_values_it_would_coerce(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bd.ThreePlusThree(**kwargs)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: bd.BOIN(0.3, 4, cohort_size=2.5), r"BOIN: cohort_size must be a whole number"),
        (lambda: bd.BOIN(0.3, 4, max_n=30.2), r"BOIN: max_n must be a whole number, got 30\.2"),
        (lambda: bd.CRM([0.1, 0.2, 0.3], 0.25, no_skip="no"), r"CRM: no_skip must be True or"),
        (lambda: bd.CRM([0.1, 0.2, 0.3], 0.25, max_n=True), r"CRM: max_n must be a whole"),
    ],
)
def test_other_designs_refuse_the_same_values(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_integral_floats_numpy_scalars_and_arrays_are_taken_as_they_are():
    d = bd.ThreePlusThree(np.int64(4), start_level=2.0, titration_grade2=np.bool_(True),
                          doses_mg=np.array([1, 3, 10, 30]))  # fmt: skip
    assert (d.n_doses, d.start_level, d.titration_grade2) == (4, 2, True)
    assert type(d.n_doses) is int and type(d.start_level) is int
    assert type(d.titration_grade2) is bool
    assert d.doses_mg == DOSES and all(type(x) is float for x in d.doses_mg)
    assert bd.BOIN(0.3, 4, max_n=None).max_n is None
