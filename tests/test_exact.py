"""Exact operating characteristics by enumeration: references and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import bayes_dose as bd


def test_reproduces_reference_enumeration(refs):
    for case in refs["three_plus_three_exact"]["cases"]:
        d = bd.ThreePlusThree(len(case["p_true"]), variant=case["variant"])
        oc = bd.exact_operating_characteristics(d, case["p_true"])
        got = [oc.p_no_mtd, *oc.p_select]
        np.testing.assert_allclose(got, case["selection"], atol=1e-4)
        assert oc.expected_n == pytest.approx(case["expected_n"], abs=1e-3)  # ref has 3 dp
        assert oc.expected_dlts == pytest.approx(case["expected_dlts"], abs=1e-3)


def test_single_dose_closed_form():
    p = 0.3
    oc = bd.exact_operating_characteristics(bd.ThreePlusThree(1, variant="escalation_only"), [p])
    q = 1 - p
    p_sel = q**3 + 3 * p * q**2 * q**3
    assert oc.p_select[0] == pytest.approx(p_sel, abs=1e-12)
    assert oc.p_no_mtd == pytest.approx(1 - p_sel, abs=1e-12)
    assert oc.expected_n == pytest.approx(3 + 3 * 3 * p * q**2, abs=1e-12)
    assert oc.expected_dlts == pytest.approx(3 * p + 3 * p * 3 * p * q**2, abs=1e-12)


def test_titration_stage_is_included():
    d = bd.ThreePlusThree(8, titration_levels=3)
    safe = bd.exact_operating_characteristics(d, [0.0] * 8)
    # 1 + 1 + 1 patients in titration, then 3 at each of levels 4..8; top dose is the MAD
    assert safe.expected_n == pytest.approx(18)
    np.testing.assert_allclose(safe.expected_n_per_dose, [1, 1, 1, 3, 3, 3, 3, 3])
    assert safe.p_select[-1] == pytest.approx(1) and safe.p_mad == pytest.approx(1)
    toxic = bd.exact_operating_characteristics(d, [1.0] * 8)
    # first patient has a DLT, level 1 is completed to 3 (3 DLTs): no MTD
    assert toxic.p_no_mtd == pytest.approx(1) and toxic.expected_n == pytest.approx(3)
    assert toxic.expected_dlts == pytest.approx(3)


@pytest.mark.parametrize("variant", ["deescalation", "escalation_only"])
def test_probabilities_sum_to_one_and_counts_agree(variant):
    p = [0.02, 0.04, 0.06, 0.1, 0.15, 0.25, 0.4, 0.55]
    oc = bd.exact_operating_characteristics(bd.ThreePlusThree(8, 3, variant=variant), p)
    assert oc.p_select.sum() + oc.p_no_mtd == pytest.approx(1, abs=1e-12)
    assert oc.expected_n_per_dose.sum() == pytest.approx(oc.expected_n)
    assert oc.expected_dlts == pytest.approx(float(np.dot(oc.expected_n_per_dose, p)))
    frame = oc.to_frame()
    assert list(frame.index) == list(range(1, 9))


def test_bad_true_tox():
    d = bd.ThreePlusThree(3)
    with pytest.raises(ValueError, match="3 levels"):
        bd.exact_operating_characteristics(d, [0.1, 0.2])
    with pytest.raises(ValueError, match="probabilities"):
        bd.exact_operating_characteristics(d, [0.1, 0.2, 1.2])
