"""Grade-2 toxicity of unknown status, and the DLT day, from an AE listing (audit findings).

Accelerated titration with ``titration_grade2=True`` ends at the second drug-related
grade >= 2 toxicity in the DLT window.  A grade >= 2 event whose causality (``AREL``) or
onset (``ASTDY``) is blank is neither "a grade-2 toxicity" nor "none": the patient's
``grade2`` is unknown (``<NA>``), and a titration design whose decision depends on it
holds, naming the patient.  Designs that do not read grade-2 information decide as before.

``dlt_day`` of an adjudicated DLT patient is the onset day (``ASTDY``) of the patient's
earliest DLT event.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd

PROTO = bd.protocols.bat6021()
SOC_GEN = "General disorders and administration site conditions"
#: a documented grade-2, related, in-window, non-haematological event (not a DLT)
G2 = {
    "USUBJID": "S1", "AEDECOD": "Fatigue", "AESOC": SOC_GEN, "ATOXGR": "2", "ASTDY": "5",
    "AENDY": "10", "AREL": "POSSIBLY RELATED", "AESHOSP": "N", "LABFL": "N", "BLEEDGR": "0",
    "TRANSFFL": "N", "INFECTFL": "N", "FEVERFL": "N", "INTERVFL": "N", "C2DELAY": "0",
}  # fmt: skip
#: accelerated titration at 1, 3, 10 mg: S1 at 1 mg, then S2 at 3 mg (one patient each)
TITRATION_SUBJECTS = pd.DataFrame(
    {"USUBJID": ["S1", "S2"], "ARM": ["mono", "mono"], "DOSE": [1, 3]}
)
AT_G2 = bd.ThreePlusThree(8, titration_levels=3, titration_grade2=True)


def ae(*events: dict) -> pd.DataFrame:
    return pd.DataFrame([{**G2, **e} for e in events])


def adjudicate(*events: dict, subjects: pd.DataFrame = TITRATION_SUBJECTS) -> bd.Outcomes:
    return bd.adjudicate_dlt(ae(*events), subjects, PROTO)[0]


# -- adjudication: grade2 is three-valued --------------------------------------------------
@pytest.mark.parametrize("blank", ["AREL", "ASTDY"])
def test_grade2_event_with_blank_causality_or_onset_is_unknown_not_zero(blank: str) -> None:
    extra = {"AENDY": ""} if blank == "ASTDY" else {}
    out = adjudicate({}, {"USUBJID": "S2", blank: "", **extra})
    f = out.to_frame()
    assert str(f["grade2"].dtype) == "Int64"
    assert f["grade2"].isna().tolist() == [False, True]
    assert f["grade2"].iat[0] == 1
    assert f["dlt"].tolist() == [0, 0]  # grade 2 is no DLT: the DLT status is known
    assert out.grade2_unknown() == ("S2",)


def test_grade2_known_whenever_the_blank_cannot_matter() -> None:
    out = adjudicate(
        {"ATOXGR": "1", "AREL": ""},  # grade 1: no grade-2 toxicity whatever the causality
        {"USUBJID": "S2", "AREL": "NOT RELATED", "ASTDY": ""},  # unrelated: none either
    )
    assert out.to_frame()["grade2"].tolist() == [0, 0]
    assert out.grade2_unknown() == ()
    out = adjudicate({"ASTDY": "30", "AENDY": "31", "AREL": ""})  # onset after the window
    assert out.to_frame()["grade2"].tolist() == [0, 0]
    # another documented grade-2 toxicity of the patient decides it
    out = adjudicate({"AREL": ""}, {})
    assert out.to_frame()["grade2"].tolist() == [1, 0]


def test_audit_says_the_grade2_status_is_unknown() -> None:
    _, audit = bd.adjudicate_dlt(ae({}, {"USUBJID": "S2", "AREL": ""}), TITRATION_SUBJECTS, PROTO)
    assert audit.outcome.tolist() == ["grade", "grade"]
    assert "grade-2" not in audit.rule.iat[0]
    assert "AREL blank" in audit.rule.iat[1] and "grade-2 toxicity status unknown" in audit.rule.iat[1]


# -- designs ------------------------------------------------------------------------------
@pytest.mark.parametrize("blank", ["AREL", "ASTDY"])
def test_titration_design_holds_on_an_unknown_grade2_that_decides_it(blank: str) -> None:
    # S1 has a grade-2 toxicity; S2's grade-2 event has a blank causality / onset.  If it
    # is related and in the window it is the second grade-2 toxicity (titration ends: level 2
    # is completed to 3 patients); if not, titration goes on to level 3 with 1 patient.
    extra = {"AENDY": ""} if blank == "ASTDY" else {}
    out = adjudicate({}, {"USUBJID": "S2", blank: "", **extra})
    fit = AT_G2.fit(out)
    assert fit.hold and fit.next_dose is None and fit.cohort_size is None and not fit.stop
    assert "S2 (arm mono, level 2)" in fit.reason and "grade-2" in fit.reason
    # either value of the blank gives a different decision: the hold is needed
    f = out.to_frame()
    for g2, want in ((1, (2, 2)), (0, (3, 1))):
        known = bd.Outcomes.from_frame(f.assign(grade2=[1, g2]), protocol=PROTO)
        got = AT_G2.fit(known)
        assert not got.hold and (got.next_dose, got.cohort_size) == want


def test_titration_design_decides_when_the_unknown_grade2_cannot_change_it() -> None:
    # only one grade-2 toxicity at most: titration goes on whatever S2's status is
    out = adjudicate({"ATOXGR": "1"}, {"USUBJID": "S2", "AREL": ""})
    fit = AT_G2.fit(out)
    assert not fit.hold and (fit.next_dose, fit.cohort_size) == (3, 1)
    assert "S2" in fit.reason and "grade-2" in fit.reason  # said, not hidden


@pytest.mark.parametrize(
    "design",
    [bd.ThreePlusThree(8, titration_levels=3), bd.ThreePlusThree(8), bd.BOIN(target=0.25, n_doses=8)],
    ids=["titration-without-grade2", "3+3", "BOIN"],
)
def test_designs_not_reading_grade2_are_unaffected(design: bd.Design) -> None:
    out = adjudicate({}, {"USUBJID": "S2", "AREL": ""})
    f = out.to_frame()
    known = bd.Outcomes.from_frame(f.assign(grade2=[1, 0]), protocol=PROTO)
    got, want = design.fit(out), design.fit(known)
    assert not got.hold
    assert (got.next_dose, got.cohort_size, got.stop, got.mtd, got.reason) == (
        want.next_dose, want.cohort_size, want.stop, want.mtd, want.reason)


def test_dose_paths_refuse_an_unknown_grade2_only_when_the_design_reads_it() -> None:
    out = adjudicate({}, {"USUBJID": "S2", "AREL": ""})
    with pytest.raises(ValueError, match=r"patient_id='S2'.*field 'grade2'.*unknown"):
        bd.dose_paths(AT_G2, cohort_sizes=[None], start=out)
    bd.dose_paths(bd.ThreePlusThree(8, titration_levels=3), cohort_sizes=[None], start=out)


# -- Outcomes: the unknown status is kept, written and read back ---------------------------
def test_unknown_grade2_round_trips_through_csv(tmp_path: Path) -> None:
    df = pd.DataFrame({"patient_id": ["A", "B", "C"], "arm": "mono", "dose_level": [1, 2, 3],
                       "dlt": 0, "grade2": [1, "unknown", 0]})  # fmt: skip
    out = bd.Outcomes.from_frame(df)
    assert out.grade2_unknown() == ("B",)
    assert out.to_csv_frame()["grade2"].tolist() == [1, "unknown", 0]
    path = tmp_path / "d.csv"
    out.to_csv_frame().to_csv(path, index=False)
    assert bd.Outcomes.read_csv(path) == out
    assert bd.Outcomes.from_frame(out.to_frame()) == out  # <NA> is read as unknown too


# -- dlt_day ------------------------------------------------------------------------------
def test_dlt_day_is_the_onset_of_the_earliest_dlt_event() -> None:
    subjects = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "ARM": "mono", "DOSE": 300})
    g3 = {"ATOXGR": "3"}  # grade-3 related fatigue in the window: a DLT
    out, audit = bd.adjudicate_dlt(
        ae(
            {**g3, "ASTDY": "12", "AENDY": "14"},
            {**g3, "ASTDY": "9", "AENDY": "10"},
            {"ASTDY": "2", "AENDY": "3"},  # grade 2 before them: not a DLT, not the day
            {**g3, "ASTDY": "25", "AENDY": "26"},  # after the window: not a DLT
            {**g3, "USUBJID": "S2", "AREL": ""},  # a query: DLT status unknown, no day
            {"USUBJID": "S3", "ASTDY": "4"},
        ),
        subjects, PROTO,
    )  # fmt: skip
    assert audit.is_dlt.tolist() == [True, True, False, False, False, False]
    f = out.to_frame()
    assert f["dlt"].tolist()[0] == 1 and pd.isna(f["dlt"].iat[1]) and f["dlt"].iat[2] == 0
    np.testing.assert_array_equal(f["dlt_day"].to_numpy(), [9.0, np.nan, np.nan])


def test_dlt_day_of_the_bundled_listing() -> None:
    out, audit = bd.adjudicate_dlt(bd.examples.bat6021_ae(), bd.examples.bat6021_adsl(), PROTO)
    f = out.to_frame().set_index("patient_id")
    dlt = audit[audit.is_dlt].groupby("USUBJID")["ASTDY"].min()
    assert dlt.to_dict() == {"C07": 9, "C11": 12, "M11": 6, "M17": 10, "M18": 11}
    assert f.loc[list(dlt.index), "dlt_day"].tolist() == [9.0, 12.0, 6.0, 10.0, 11.0]
    assert f.loc[f["dlt"] == 0, "dlt_day"].isna().all()


def test_cli_dlt_writes_and_says_the_unknown_grade2(tmp_path: Path, capsys) -> None:
    from bayes_dose.cli import main

    listing, subjects, written = tmp_path / "ae.csv", tmp_path / "adsl.csv", tmp_path / "o.csv"
    ae({}, {"USUBJID": "S2", "AREL": ""}).to_csv(listing, index=False)
    TITRATION_SUBJECTS.to_csv(subjects, index=False)
    args = ["dlt", str(listing), "--subjects", str(subjects)]
    assert main([*args, "--out", str(written)]) == 0  # no DLT query
    err = capsys.readouterr().err
    assert "grade-2 toxicity status unknown for S2" in err
    assert pd.read_csv(written)["grade2"].tolist() == ["1", "unknown"]
    assert bd.Outcomes.read_csv(written, protocol=PROTO).grade2_unknown() == ("S2",)
    assert main([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["grade2_unknown"] == ["S2"]


def test_patient_notes_name_the_unknown_grade2_behind_a_hold() -> None:
    # the hold note says "until the patients below are evaluable": the patient must be below
    from bayes_dose.workflows import patient_notes

    out = adjudicate({}, {"USUBJID": "S2", "AREL": ""})
    cmp = bd.compare({"mono": {"AT": AT_G2, "3+3": bd.ThreePlusThree(8, titration_levels=3)}}, out)
    assert cmp.fits[("mono", "AT")].hold and not cmp.fits[("mono", "3+3")].hold
    notes = patient_notes(cmp)
    assert notes[0].startswith("[mono] on hold") and notes[0].endswith(": AT")
    assert ("[mono] unknown grade-2 status: S2 (level 2; accelerated titration of AT reads "
            "it)") in notes, notes
    # decided without it: the fit's reason says so, no note
    out = adjudicate({"ATOXGR": "1"}, {"USUBJID": "S2", "AREL": ""})
    assert not any("grade-2" in n for n in patient_notes(bd.compare({"mono": {"AT": AT_G2}}, out)))


# -- the hold is visible in the comparison table, the CLI and the memo ----------------------
#: S1 with a grade-2 toxicity at 1 mg, S2 at 3 mg typed grade2 = unknown (no adjudication)
TYPED = pd.DataFrame({"patient_id": ["S1", "S2"], "arm": "mono", "dose_level": [1, 2],
                      "dlt": 0, "grade2": [1, "unknown"]})  # fmt: skip


def test_fit_and_table_name_the_unknown_grade2_the_hold_rests_on() -> None:
    out = bd.Outcomes.from_frame(TYPED, protocol=PROTO)
    cmp = bd.compare({"mono": {"AT": AT_G2, "3+3": bd.ThreePlusThree(8, titration_levels=3)}}, out)
    fit = cmp.fits[("mono", "AT")]
    assert fit.hold and fit.grade2_unknown == ("S2",) and fit.pending == fit.unknown == ()
    assert cmp.fits[("mono", "3+3")].grade2_unknown == ()  # does not read grade 2
    t = cmp.table()
    cols = list(t.columns)
    assert cols.index("grade2_unknown") == cols.index("unknown") + 1
    row = t.set_index("design")
    assert bool(row.loc["AT", "hold"]) and row.loc["AT", "grade2_unknown"] == "S2"
    assert (row.loc["AT", "pending"], row.loc["AT", "unknown"]) == ("", "")
    assert row.loc["3+3", "grade2_unknown"] == "" and not row.loc["3+3", "hold"]
    assert "grade-2" in row.loc["AT", "rp2d_reason"]  # not "pending or unknown DLT status"
    # typed 'unknown', not adjudicated: the reason claims no blank causality or onset
    assert "blank" not in fit.reason
    assert "grade-2 toxicity status unknown (grade2 = unknown) for S2 (arm mono, level 2)," \
        in fit.reason  # fmt: skip
    # decided without it (one grade-2 toxicity at most): no hold, the column stays empty
    low = bd.Outcomes.from_frame(TYPED.assign(grade2=[0, "unknown"]), protocol=PROTO)
    fit = AT_G2.fit(low)
    assert not fit.hold and fit.grade2_unknown == () and "S2" in fit.reason


def test_counts_refuse_an_unknown_grade2_without_claiming_its_cause() -> None:
    out = bd.Outcomes.from_frame(TYPED, protocol=PROTO)
    with pytest.raises(ValueError, match=r"patient_id='S2'.*field 'grade2'") as err:
        bd.DoseData.from_outcomes(out, 8)
    assert "blank" not in str(err.value) and "grade2 = unknown" in str(err.value)


def test_recommend_and_memo_show_the_unknown_grade2_column(tmp_path: Path, capsys) -> None:
    from bayes_dose.cli import main
    from bayes_dose.report import recommendation_table

    spec, data = tmp_path / "spec.toml", tmp_path / "data.csv"
    spec.write_text('protocol = "bat6021"\n[designs.AT]\ntype = "ThreePlusThree"\n'
                    'arms = ["mono"]\ntitration_levels = 3\ntitration_grade2 = true\n')  # fmt: skip
    TYPED.to_csv(data, index=False)
    assert main(["recommend", "--spec", str(spec), "--data", str(data), "--format", "json"]) == 0
    rec = json.loads(capsys.readouterr().out)["recommendations"]
    assert list(rec[0])[list(rec[0]).index("unknown") + 1] == "grade2_unknown"
    assert (rec[0]["hold"], rec[0]["grade2_unknown"]) == (True, "S2")
    assert main(["recommend", "--spec", str(spec), "--data", str(data)]) == 0
    header, row = capsys.readouterr().out.split("== recommendations\n")[1].splitlines()[:2]
    assert header.split()[header.split().index("unknown") + 1] == "grade2_unknown", header
    assert row.index(" S2 hold") + 3 == header.index("grade2_unknown") + 14  # under it
    cmp = bd.compare({"mono": {"AT": AT_G2}}, bd.Outcomes.from_frame(TYPED, protocol=PROTO))
    t, _ = recommendation_table(cmp, "mono", 0.33, PROTO)
    assert t.set_index("Design").loc["AT", "Unknown grade-2 status"] == "S2"
    assert list(t.columns)[-2:] == ["Unknown grade-2 status", "Reason"]
    assert "Pending patients" not in t.columns  # none pending or of unknown DLT status


def test_patient_notes_leave_out_an_unknown_grade2_a_hold_does_not_rest_on() -> None:
    # S3 is pending (the hold); S2's unknown status cannot end titration (S1 has none)
    from bayes_dose.workflows import patient_notes

    f = pd.DataFrame({"patient_id": ["S1", "S2", "S3"], "arm": "mono", "dose_level": [1, 2, 3],
                      "dlt": 0, "grade2": [0, "unknown", 0], "followup_days": [21, 21, 10]})
    cmp = bd.compare({"mono": {"AT": AT_G2}}, bd.Outcomes.from_frame(f, protocol=PROTO))
    fit = cmp.fits[("mono", "AT")]
    assert fit.hold and fit.pending == ("S3",) and fit.grade2_unknown == ()
    assert "does not change this decision" in fit.reason
    notes = patient_notes(cmp)
    assert any(n.startswith("[mono] pending: S3") for n in notes), notes
    assert not any("grade-2" in n for n in notes), notes
