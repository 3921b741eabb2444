"""OBD selectors, the true OBD and the RP2D from safety, OBD and exposure (hand-computed)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.efficacy import joint_probabilities
from bayes_dose.obd import expected_utility, rp2d, true_obd

DATA = "1NNN 2ENN 3EEN 3ENN 4EET"
MG = [30, 100, 300, 600, 1000]


def test_utility_selector_by_hand():
    # quasi-events x = sum(u)/100 with u = 100/40/60/0; estimate 100 (1 + x)/(2 + n)
    # level 1: NNN x=1.2 -> 44; level 2: ENN x=1.8 -> 56; level 3: EEN ENN x=4.2 -> 65;
    # level 4: EET x=2.0 -> 60
    c = bd.OBD("utility").select(bd.Outcomes.parse(DATA), safe_max=4)
    assert c.table["utility"].round(6).tolist()[:4] == [44.0, 56.0, 65.0, 60.0]
    assert c.level == 3 and "highest estimated utility 65.0" in c.reason
    assert bd.OBD("utility").select(bd.Outcomes.parse(DATA), safe_max=2).level == 2


def test_non_additive_utility_uses_the_joint_table():
    # a patient with both DLT and response scores u3 = 20: x = (20 + 40 + 40)/100 = 1
    c = bd.OBD("utility", utility=(100, 40, 20, 0)).select(bd.Outcomes.parse("1BNN"), 1)
    assert c.table["utility"].iloc[0] == pytest.approx(100 * 2 / 5)


def test_margin_selector_by_hand():
    out = bd.Outcomes.parse(DATA)  # response rates 0, 1/3, 1/2, 2/3
    assert bd.OBD("margin", margin=0.2).select(out, 4).level == 3  # >= 0.467
    assert bd.OBD("margin", margin=0.1).select(out, 4).level == 4  # >= 0.567
    assert bd.OBD("margin", margin=0.4).select(out, 4).level == 2  # >= 0.267
    assert bd.OBD("margin", margin=0.2).select(out, 3).level == 2  # best 1/2 below level 4


def test_min_resp_and_no_eligible_dose():
    out = bd.Outcomes.parse(DATA)
    assert bd.OBD(min_resp=0.6).select(out, 4).level == 4
    c = bd.OBD(min_resp=0.6).select(out, 3)
    assert c.level is None and "no OBD" in c.reason and "no eligible dose" in c.flags


def test_unassessed_patients_left_out_and_named():
    import pandas as pd

    out = bd.Outcomes.from_frame(pd.DataFrame({
        "patient_id": ["a", "b", "c", "d"], "arm": "mono", "dose_level": [1, 1, 2, 2],
        "dlt": [0, 0, 0, 0], "response": [0, 0, 1, None]}))  # fmt: skip
    c = bd.OBD("margin").select(out, 2)
    assert c.table["n"].tolist() == [2, 1] and c.level == 2 and c.reason.endswith("unknown): d")


def test_no_ceiling_is_flagged_and_errors():
    out = bd.Outcomes.parse(DATA)
    c = bd.OBD().select(out)
    assert c.level == 3 and any("no safety ceiling" in f for f in c.flags)
    with pytest.raises(ValueError, match="no 'response' column"):
        bd.OBD().select(bd.Outcomes.parse("1NNN"))
    with pytest.raises(ValueError, match="safe_max"):
        bd.OBD().select(out, 9)
    with pytest.raises(ValueError, match="method"):
        bd.OBD("best")
    with pytest.raises(ValueError, match="u1"):
        bd.OBD(utility=(90, 40, 60, 0))
    with pytest.raises(ValueError, match="margin"):
        bd.OBD("margin", margin=1.5)


def test_true_obd_by_hand():
    # additive default: E[u] = 60 pE + 40 (1 - pT)
    p_t, p_e = [0.05, 0.1, 0.2, 0.4], [0.1, 0.4, 0.45, 0.6]
    assert expected_utility(p_t, p_e).round(9).tolist() == [44.0, 60.0, 59.0, 60.0]
    assert true_obd(p_t, p_e, 0.3) == 2  # level 4 is too toxic
    assert true_obd(p_t, p_e, 0.45) == 2  # tie 60 = 60: the lower level
    assert true_obd(p_t, p_e, 0.01) == 0
    # non-additive: the correlation matters through P(both)
    u = (100, 40, 20, 0)
    j = joint_probabilities(p_t, p_e, 0.5)
    assert np.allclose(expected_utility(p_t, p_e, u, 0.5), j @ np.array(u))


def test_rp2d_lowest_of_obd_and_plateau():
    r = rp2d(5, doses_mg=MG, obd=4, plateau=300.0)
    assert (r.level, r.dose_mg) == (3, 300.0)
    for part in ("safety ceiling MTD level 5", "OBD level 4", "exposure plateau from 300 mg"):
        assert part in r.reason
    r = rp2d(5, doses_mg=MG, obd=2, plateau=300.0)
    assert r.level == 2 and "OBD below the exposure plateau" in r.flags


def test_rp2d_obd_above_ceiling_and_missing_inputs():
    r = rp2d(3, doses_mg=MG, obd=4, safe_label="MAD")
    assert r.level == 3 and "OBD above the safety ceiling" in r.flags
    assert "no exposure plateau" in r.flags and "the MAD is kept" in r.reason
    r = rp2d(3, doses_mg=MG, plateau=2000.0)
    assert r.level == 3 and "exposure plateau above the safety ceiling" in r.flags
    r = rp2d(None, doses_mg=MG, obd=2)
    assert r.level is None and "no safe dose" in r.reason


def test_rp2d_from_exposure_plateau_result_and_obd_choice():
    rising = SimpleNamespace(dose=None, reason="LOO prefers the power model")
    c = bd.OBD("margin", margin=0.2).select(bd.Outcomes.parse(DATA), 4)
    r = bd.choose_rp2d(4, doses_mg=MG, obd=c, plateau=rising)
    assert r.level == 3
    assert "no exposure plateau within the doses studied (LOO prefers the power model)" in r.reason
    assert "exposure still rising: no plateau" in r.flags
    assert r.inputs["obd"] == 3 and r.inputs["plateau_mg"] is None
    flat = SimpleNamespace(dose=100.0, reason="Emax model: 100 mg reaches 90% of Cmax")
    assert bd.choose_rp2d(4, doses_mg=MG, obd=c, plateau=flat).level == 2
    with pytest.raises(ValueError, match="obd"):
        rp2d(4, doses_mg=MG, obd=7)
    with pytest.raises(ValueError, match="plateau"):
        rp2d(4, doses_mg=MG, plateau=-1.0)


def test_compare_reports_obd_agreement():
    out = bd.Outcomes.parse("1NNN 2ENN 3EEN 3ENN 4EET 4TTN")
    cmp = bd.compare({"3+3": bd.ThreePlusThree(5), "BOIN12": bd.BOIN12(0.35, 5, 0.25)},
                     {"mono": out}, obd=bd.OBD("margin", margin=0.2))  # fmt: skip
    t = cmp.table().set_index("design")
    assert int(t.loc["3+3", "mtd"]) == 3 and int(t.loc["3+3", "obd"]) == 2
    assert int(t.loc["BOIN12", "obd"]) == int(cmp.fits[("mono", "BOIN12")].obd)
    ag = cmp.agreement().iloc[0]
    assert ag["agree_obd"] == (int(ag["obd"]) == int(ag["ref_obd"]))
    plain = bd.compare({"3+3": bd.ThreePlusThree(5)}, {"mono": bd.Outcomes.parse("1NNN")})
    assert plain.table()["obd"].isna().all()
