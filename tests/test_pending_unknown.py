"""Pending and unknown patients (issue 10 items 1-2): designs know them and hold.

A patient without DLT whose follow-up is shorter than the DLT window is *pending*: a
non-TITE design must not count it as DLT-free; a patient whose DLT status is an open
query is *unknown*: no design decides on it without an explicit policy.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.designs.state import DoseData

COMBO_DOSES = (30.0, 100.0, 300.0, 600.0, 900.0)


def combo_frame(last_followup: float | None = 14.0) -> pd.DataFrame:
    """Combination arm: 0/3 at levels 1 and 2, then 1 DLT in 6 at level 3 whose last
    patient (C12, enrolled on study day 341) has ``last_followup`` of 21 days."""
    levels = [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3]
    dlt = [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    enroll = [240, 247, 248, 271, 278, 279, 302, 309, 310, 333, 340, 341]
    follow = [21.0] * 12
    follow[-1] = np.nan if last_followup is None else last_followup
    return pd.DataFrame(
        {
            "patient_id": [f"C{i:02d}" for i in range(1, 13)],
            "arm": "combo",
            "dose_level": levels,
            "dlt": dlt,
            "cohort": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4],
            "enroll_day": enroll,
            "followup_days": follow,
        }
    )


def three_plus_three() -> bd.ThreePlusThree:
    return bd.ThreePlusThree(5, doses_mg=COMBO_DOSES)


# -- Outcomes: pending, has_followup, unknown, resolve_unknown ------------------------------
def test_pending_lists_patients_without_dlt_inside_the_window():
    out = bd.Outcomes.from_frame(combo_frame(14.0))
    assert out.has_followup
    p = out.pending(21)
    assert p["patient_id"].tolist() == ["C12"]
    row = p.iloc[0]
    # day of first dose = day 1: the window of a patient enrolled on day 341 ends on 361
    assert (row["followup_days"], row["days_left"], row["window_complete_day"]) == (14, 7, 361)
    assert (row["arm"], int(row["dose_level"])) == ("combo", 3)
    # a DLT ends the observation: C07's short follow-up would not make it pending
    f = combo_frame(21.0)
    f.loc[6, "followup_days"] = 5.0
    assert bd.Outcomes.from_frame(f).pending(21).empty
    # a 14-day window is complete at 14 days
    assert out.pending(14).empty


def test_pending_as_of_a_study_day():
    out = bd.Outcomes.from_frame(combo_frame(21.0))
    # on study day 350 the patients enrolled on days 333, 340, 341 have 18, 11, 10 days
    p = out.pending(21, as_of=350)
    assert p["patient_id"].tolist() == ["C10", "C11", "C12"]
    assert p["followup_days"].tolist() == [18, 11, 10]
    assert p["days_left"].tolist() == [3, 10, 11]
    with pytest.raises(ValueError, match="after as_of=300"):
        out.pending(21, as_of=300)
    with pytest.raises(ValueError, match="window_days must be a finite number > 0"):
        out.pending(0)


def test_data_without_followup_are_taken_as_complete():
    out = bd.Outcomes.parse("1NNN 2NNN 3NTN 3NNN", arm="combo")
    assert not out.has_followup
    assert out.pending(21).empty
    fit = three_plus_three().fit(out)
    assert not fit.hold and fit.pending == () and fit.next_dose == 4


def test_unknown_from_parse_and_from_frame():
    out = bd.Outcomes.parse("1NNN 2N?N 2T")
    assert out.unknown() == ("P005",)
    assert out.to_frame()["dlt"].dtype == "Int64"
    c = out.counts()
    assert c["n"].tolist() == [3, 4] and c["dlt"].tolist() == [0, 1]
    assert c["unknown"].tolist() == [0, 1]
    f = combo_frame(21.0)
    f["dlt"] = f["dlt"].astype(object)
    f.loc[3, "dlt"] = "unknown"
    f.loc[4, "dlt"] = pd.NA
    assert bd.Outcomes.from_frame(f).unknown() == ("C04", "C05")
    # counts of the design pipeline cannot hold an unknown status
    with pytest.raises(ValueError, match=r"patient_id='P005'.*'dlt': DLT status unknown"):
        DoseData.from_outcomes(out, 2)


def test_resolve_unknown_fills_and_records_the_policy():
    out = bd.Outcomes.parse("1NNN 2N?N")
    dlt = out.resolve_unknown("assume_dlt")
    nod = out.resolve_unknown("assume_not")
    assert dlt.counts()["dlt"].tolist() == [0, 1] and nod.counts()["dlt"].tolist() == [0, 0]
    assert (dlt.missing_policy, dlt.imputed) == ("assume_dlt", ("P005",))
    assert dlt.unknown() == () and out.unknown() == ("P005",)  # immutable
    assert dlt.arm("mono").missing_policy == "assume_dlt"
    with pytest.raises(ValueError, match="policy must be one of"):
        out.resolve_unknown("drop")
    with pytest.raises(ValueError, match="already resolved"):
        dlt.resolve_unknown("assume_not")


# -- designs hold --------------------------------------------------------------------------
def test_three_plus_three_holds_on_a_pending_patient_instead_of_escalating():
    """The issue's case: 1 DLT in 6 at level 3, the 6th patient at 14 of 21 days."""
    complete = three_plus_three().fit(bd.Outcomes.from_frame(combo_frame(21.0)))
    assert complete.next_dose == 4 and not complete.hold  # 1/6: escalate
    fit = three_plus_three().fit(bd.Outcomes.from_frame(combo_frame(14.0)))
    assert fit.hold and fit.next_dose is None and fit.cohort_size is None and not fit.stop
    assert fit.pending == ("C12",) and fit.unknown == () and fit.dlt_window == 21
    assert "C12" in fit.reason and "study day 361" in fit.reason and "7 days left" in fit.reason
    assert "14 of 21 days" in fit.reason
    # the estimates use the 11 evaluable patients: 1 DLT in 5 at level 3
    assert fit.data.n[0].tolist() == [3, 3, 5, 0, 0] and fit.data.dlt[0, 2] == 1
    assert "11 evaluable" in fit.reason
    assert str(fit).startswith("3+3: hold;")


def test_unrecorded_followup_next_to_recorded_ones_is_pending():
    fit = three_plus_three().fit(bd.Outcomes.from_frame(combo_frame(None)))
    assert fit.hold and fit.pending == ("C12",) and "follow-up not recorded" in fit.reason


def test_dlt_window_from_the_caller_and_from_the_protocol():
    out = bd.Outcomes.from_frame(combo_frame(14.0))
    short = three_plus_three().fit(out, dlt_window=14)
    assert not short.hold and short.next_dose == 4
    with pytest.raises(ValueError, match="dlt_window must be a finite number > 0"):
        three_plus_three().fit(out, dlt_window=0)
    proto = bd.protocols.bat6021()
    f = combo_frame(14.0).drop(columns="dose_level").assign(
        dose_mg=[COMBO_DOSES[lv - 1] for lv in combo_frame()["dose_level"]]
    )
    read = bd.Outcomes.from_frame(f, protocol=proto)
    assert read.dlt_window_days == proto.dlt_window_days == 21
    assert three_plus_three().fit(read).hold


@pytest.mark.parametrize("kind", ["BOIN", "CRM", "BLRM"])
def test_every_non_tite_design_holds_on_pending_patients(kind):
    out = bd.Outcomes.from_frame(combo_frame(14.0))
    if kind == "BOIN":
        design = bd.BOIN(target=0.25, n_doses=5, doses_mg=COMBO_DOSES)
    elif kind == "CRM":
        design = bd.CRM(bd.crm_skeleton(0.25, 0.05, 3, 5), target=0.25)
    else:
        design = bd.BLRM(COMBO_DOSES, reference_dose=300)
    fit = design.fit(out)
    assert fit.hold and fit.next_dose is None and not fit.stop and fit.pending == ("C12",)
    # the estimate is the design's on the evaluable patients
    evaluable = bd.Outcomes.from_frame(combo_frame(21.0).iloc[:11])
    ref = design.fit(evaluable)
    np.testing.assert_allclose(fit.prob_tox.to_numpy(), ref.prob_tox.to_numpy(), rtol=0, atol=0)
    assert fit.mtd == ref.mtd


def test_tite_crm_weights_pending_patients_and_says_so():
    skel = bd.crm_skeleton(0.25, 0.05, 3, 5)
    out = bd.Outcomes.from_frame(combo_frame(14.0))
    tite = bd.CRM(skel, 0.25, tite_window=21)
    fit = tite.fit(out)
    assert not fit.hold and fit.next_dose is not None and fit.pending == ("C12",)
    assert "rests on 1 patient still in DLT follow-up" in fit.reason and "C12 (14 of 21" in fit.reason
    # the weights are the TITE weights (C12 weighs 14/21), as before this change
    data = DoseData.from_outcomes(out, 5, tite_window=21)
    assert data.patient_weight[0, -1] == pytest.approx(14 / 21)
    est = tite.estimate(data)
    np.testing.assert_allclose(fit.prob_tox.to_numpy(), est.prob_mean[0], rtol=0, atol=0)
    with pytest.raises(ValueError, match="differs from the design's tite_window"):
        tite.fit(out, dlt_window=28)


def test_unknown_status_holds_unless_a_policy_is_given():
    design = bd.ThreePlusThree(4)
    out = bd.Outcomes.parse("1NNN 2N?N")
    fit = design.fit(out)
    assert fit.hold and fit.next_dose is None and not fit.stop
    assert fit.unknown == ("P005",) and fit.missing_policy is None
    assert "DLT status unknown for P005 (arm mono, level 2)" in fit.reason
    assert "missing='assume_dlt'" in fit.reason
    # the policies equal the data with the status written in
    a = design.fit(out, missing="assume_dlt")
    b = design.fit(bd.Outcomes.parse("1NNN 2NTN"))
    assert (a.next_dose, a.stop, a.mtd) == (b.next_dose, b.stop, b.mtd) == (2, False, 1)
    assert a.missing_policy == "assume_dlt" and a.unknown == ("P005",) and not a.hold
    assert "counted as a DLT (missing='assume_dlt')" in a.reason
    c = design.fit(out, missing="assume_not")
    assert c.next_dose == 3 and c.missing_policy == "assume_not"
    # already resolved data keep their policy
    d = design.fit(out.resolve_unknown("assume_dlt"))
    assert d.missing_policy == "assume_dlt" and d.unknown == ("P005",) and d.next_dose == 2
    with pytest.raises(ValueError, match="missing must be None or one of"):
        design.fit(out, missing="drop")


def test_model_based_policy_matches_written_data_and_goes_into_the_manifest():
    blrm = bd.BLRM((1, 3, 10, 30, 100), reference_dose=30)
    out = bd.Outcomes.parse("1NNN 2NNN 3N?N")
    fit = blrm.fit(out, missing="assume_dlt")
    ref = blrm.fit(bd.Outcomes.parse("1NNN 2NNN 3NTN"))
    np.testing.assert_allclose(fit.prob_tox.to_numpy(), ref.prob_tox.to_numpy(), rtol=0, atol=0)
    man = json.loads(blrm._manifest(fit.outcomes))
    assert man["missing_policy"] == "assume_dlt" and man["imputed"] == ["P008"]
    held = blrm.fit(out)
    assert held.hold and held.data.n[0].tolist() == [3, 3, 2, 0, 0]


def test_tite_design_also_holds_on_unknown_status():
    f = combo_frame(21.0)
    f["dlt"] = f["dlt"].astype(object)
    f.loc[11, "dlt"] = "unknown"
    fit = bd.CRM(bd.crm_skeleton(0.25, 0.05, 3, 5), 0.25, tite_window=21).fit(
        bd.Outcomes.from_frame(f)
    )
    assert fit.hold and fit.unknown == ("C12",)


# -- compare, paths, CLI --------------------------------------------------------------------
def test_compare_table_shows_hold_pending_unknown():
    designs = {"3+3": bd.ThreePlusThree(4), "BOIN": bd.BOIN(target=0.25, n_doses=4)}
    cmp = bd.compare(designs, {"mono": bd.Outcomes.parse("1NNN 2N?N")})
    t = cmp.table().set_index("design")
    assert t["hold"].tolist() == [True, True]
    assert t["unknown"].tolist() == ["P005", "P005"] and t["pending"].tolist() == ["", ""]
    assert t["rp2d"].isna().all()
    assert t.loc["3+3", "rp2d_reason"].startswith("no RP2D while the design holds")
    assert "holds" in cmp.agreement()["summary"].iat[0]
    sh = cmp.shadow()
    assert sh["cohort"].iat[-1] == "2N?N" and bool(sh["hold"].iat[-1])
    ok = bd.compare(designs, {"mono": bd.Outcomes.parse("1NNN 2N?N")}, missing="assume_not")
    t2 = ok.table().set_index("design")
    assert not t2["hold"].any() and t2.loc["3+3", "next_dose"] == 3
    pend = bd.compare({"3+3": three_plus_three()}, {"combo": bd.Outcomes.from_frame(combo_frame())})
    row = pend.table().iloc[0]
    assert bool(row["hold"]) and row["pending"] == "C12" and row["unknown"] == ""


def test_dose_paths_refuse_a_start_with_pending_patients():
    with pytest.raises(ValueError, match=r"not complete \(C12\)"):
        bd.dose_paths(three_plus_three(), [3], start=bd.Outcomes.from_frame(combo_frame(14.0)))


def test_recommend_text_shows_holds_and_pending_patients(tmp_path, capsys):
    from bayes_dose.cli import main

    proto = bd.protocols.bat6021()
    ex = bd.examples.bat6021_outcomes().to_frame()
    ex.loc[ex["patient_id"] == "C15", "followup_days"] = 14.0
    path = tmp_path / "data.csv"
    ex.drop(columns=["grade2"]).to_csv(path, index=False)
    assert main(["recommend", "--data", str(path), "--arm", "combo"]) == 0
    text = capsys.readouterr().out
    assert "== patients not counted in full" in text
    assert "[combo] pending: C15 (level 2, 14 of 21 days, window completes on study day 392" in text
    assert "[combo] on hold (no next cohort until the patients below are evaluable): 3+3, BOIN" in text
    assert "hold: DLT window (21 days) not complete for 1 patient: C15" in text
    # the bundled example has complete follow-up: no pending or held patient (the section
    # only names the combination patients --arm mono left out, Comparison.not_analysed)
    assert main(["recommend", "--arm", "mono"]) == 0
    text = capsys.readouterr().out
    section = text[text.index("== patients not counted in full"):].splitlines()[2:]
    assert [s.strip() for s in section if s.strip()] == [
        "[combo] not analysed: 15 patients of arm 'combo' in the data; --arm mono left out "
        "the spec's designs for this arm"
    ]
    assert proto.dlt_window_days == 21


def test_unknown_status_survives_a_csv_round_trip(tmp_path):
    """Written data (report's outcomes.csv, ``dlt --out``) read back with the same unknowns."""
    out = bd.Outcomes.parse("1NNN 2N?N")
    path = tmp_path / "o.csv"
    out.to_csv_frame().to_csv(path, index=False)
    back = bd.Outcomes.read_csv(path)
    assert back.unknown() == out.unknown() == ("P005",)
    assert back.to_frame()["dlt"].isna().tolist() == out.to_frame()["dlt"].isna().tolist()
