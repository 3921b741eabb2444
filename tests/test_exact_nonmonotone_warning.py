"""Exact OCs and dose-path probabilities of a non-monotone true curve: computed as given,
with the same warning as simulate (audit finding 14)."""

from __future__ import annotations

import warnings

import pytest

import bayes_dose as bd

BUMP = [0.10, 0.45, 0.25, 0.50, 0.60]


def test_exact_oc_warns_on_a_non_monotone_curve() -> None:
    with pytest.warns(UserWarning, match=r"not monotone \(level 3: 0.25 < level 2: 0.45\)"):
        oc = bd.exact_operating_characteristics(bd.ThreePlusThree(5), BUMP)
    assert abs(float(oc.p_select.sum()) + float(oc.p_no_mtd) - 1.0) < 1e-12


def test_dose_path_probabilities_warn_too() -> None:
    tree = bd.dose_paths(bd.ThreePlusThree(5), cohort_sizes=(3, 3))
    with pytest.warns(UserWarning, match="not monotone"):
        tree.probabilities(BUMP)


def test_monotone_curve_is_silent() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        bd.exact_operating_characteristics(bd.ThreePlusThree(5), [0.05, 0.1, 0.25, 0.4, 0.5])
