"""DLT adjudication: every BAT6021 rule at its thresholds, audit, errors, fuzzing, example."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayes_dose as bd
from bayes_dose.dlt import AUDIT_COLUMNS, OUTCOMES, AdjudicationError

PROTO = bd.protocols.bat6021()
SOC_GEN = "General disorders and administration site conditions"
SOC_BLOOD = "Blood and lymphatic system disorders"
SOC_INV = "Investigations"
SOC_MET = "Metabolism and nutrition disorders"

#: a fully documented grade-3, related, in-window, non-haematological clinical event
BASE = {
    "USUBJID": "S1", "AEDECOD": "Fatigue", "AESOC": SOC_GEN, "ATOXGR": 3, "ASTDY": 5,
    "AENDY": 10, "AREL": "POSSIBLY RELATED", "AESHOSP": "N", "LABFL": "N", "BLEEDGR": 0,
    "TRANSFFL": "N", "INFECTFL": "N", "FEVERFL": "N", "INTERVFL": "N", "C2DELAY": 0,
}  # fmt: skip
SUBJECTS = pd.DataFrame({"USUBJID": ["S1", "S2"], "ARM": ["mono", "combo"], "DOSE": [300, 100]})

THROMB = {"AEDECOD": "Platelet count decreased", "AESOC": SOC_INV, "LABFL": "Y"}
NEUTRO = {"AEDECOD": "Neutropenia", "AESOC": SOC_BLOOD, "LABFL": "Y"}
AST = {"AEDECOD": "Aspartate aminotransferase increased", "AESOC": SOC_INV, "LABFL": "Y"}


def ae(*events: dict) -> pd.DataFrame:
    return pd.DataFrame([{**BASE, **e} for e in events])


def judge(cutoff_day: int | None = None, **event) -> pd.Series:
    _, audit = bd.adjudicate_dlt(ae(event), SUBJECTS, PROTO, cutoff_day=cutoff_day)
    assert len(audit) == 1
    return audit.iloc[0]


# -- one test per rule: fires / just does not fire -----------------------------------------
THRESHOLDS = [
    # (id, event, is_dlt, rule or outcome code)
    ("grade5-fires", {**AST, "ATOXGR": 5}, True, "grade5"),
    ("grade5-g4-lab-no-intervention", {**AST, "ATOXGR": 4}, False, "condition"),
    ("anaemia-g4", {"AEDECOD": "Anaemia", "AESOC": SOC_BLOOD, "ATOXGR": 4}, True, "anaemia_g4"),
    ("anaemia-g3", {"AEDECOD": "Anaemia", "AESOC": SOC_BLOOD, "ATOXGR": 3}, False, "grade"),
    ("thromb-g4-7d", {**THROMB, "ATOXGR": 4, "AENDY": 11}, True, "thrombocytopenia_g4_7d"),
    ("thromb-g4-6d", {**THROMB, "ATOXGR": 4, "AENDY": 10}, False, "duration"),
    ("thromb-g3-bleed2", {**THROMB, "BLEEDGR": 2}, True,
     "thrombocytopenia_g3_bleeding_or_transfusion"),
    ("thromb-g3-bleed1", {**THROMB, "BLEEDGR": 1}, False, "condition"),
    ("thromb-g3-transfusion", {**THROMB, "TRANSFFL": "Y"}, True,
     "thrombocytopenia_g3_bleeding_or_transfusion"),
    ("thromb-g3-no-transfusion", {**THROMB, "TRANSFFL": "N"}, False, "condition"),
    ("thromb-g2-bleed3", {**THROMB, "ATOXGR": 2, "BLEEDGR": 3}, False, "grade"),
    ("neutro-g4-7d", {**NEUTRO, "ATOXGR": 4, "AENDY": 11}, True, "neutropenia_g4_7d"),
    ("neutro-g4-6d", {**NEUTRO, "ATOXGR": 4, "AENDY": 10}, False, "duration"),
    ("neutro-count-term-g4-7d", {**NEUTRO, "AEDECOD": "Neutrophil count decreased",
                                 "ATOXGR": 4, "AENDY": 11}, True, "neutropenia_g4_7d"),
    ("neutro-g3-infection-7d", {**NEUTRO, "INFECTFL": "Y", "AENDY": 11}, True,
     "neutropenia_g3_infection_7d"),
    ("neutro-g3-infection-6d", {**NEUTRO, "INFECTFL": "Y", "AENDY": 10}, False, "duration"),
    ("neutro-g3-no-infection-7d", {**NEUTRO, "INFECTFL": "N", "AENDY": 11}, False, "condition"),
    ("febrile-neutro-g3", {"AEDECOD": "Febrile neutropenia", "AESOC": SOC_BLOOD}, True,
     "febrile_neutropenia_g3"),
    ("febrile-neutro-g2", {"AEDECOD": "Febrile neutropenia", "AESOC": SOC_BLOOD, "ATOXGR": 2},
     False, "grade"),
    ("neutro-g3-fever", {**NEUTRO, "FEVERFL": "Y", "AENDY": 6}, True, "neutropenia_g3_fever"),
    ("neutro-g3-no-fever", {**NEUTRO, "FEVERFL": "N", "AENDY": 6}, False, None),
    ("neutro-g2-fever", {**NEUTRO, "ATOXGR": 2, "FEVERFL": "Y"}, False, "grade"),
    ("nonhaem-g3-clinical", {}, True, "nonhaem_g3_clinical"),
    ("nonhaem-g2-clinical", {"ATOXGR": 2}, False, "grade"),
    ("nonhaem-g4-clinical", {"ATOXGR": 4}, True, "nonhaem_g3_clinical"),
    ("lab-g3-intervention", {**AST, "INTERVFL": "Y"}, True,
     "nonhaem_lab_g3_4_intervention_or_hospitalisation"),
    ("lab-g3-hospitalised", {**AST, "AESHOSP": "Y"}, True,
     "nonhaem_lab_g3_4_intervention_or_hospitalisation"),
    ("lab-g3-neither", {**AST}, False, "condition"),
    ("lab-g4-intervention", {**AST, "ATOXGR": 4, "INTERVFL": "Y"}, True,
     "nonhaem_lab_g3_4_intervention_or_hospitalisation"),
    ("lab-g2-intervention", {**AST, "ATOXGR": 2, "INTERVFL": "Y"}, False, "grade"),
    # SOC Investigations counts as laboratory-detected when LABFL is blank
    ("lab-by-soc", {**AST, "LABFL": None}, False, "condition"),
    # LABFL=Y outside SOC Investigations: laboratory-detected
    ("lab-by-flag", {"AEDECOD": "Hyperglycaemia", "AESOC": SOC_MET, "LABFL": "Y"}, False,
     "condition"),
    ("clinical-by-flag", {"AEDECOD": "Hyperglycaemia", "AESOC": SOC_MET, "LABFL": "N"}, True,
     "nonhaem_g3_clinical"),
    ("c2delay-15", {"ATOXGR": 2, "C2DELAY": 15}, True, "cycle2_delay_over_14d"),
    ("c2delay-14", {"ATOXGR": 2, "C2DELAY": 14}, False, "grade"),
    ("c2delay-15-haem", {**NEUTRO, "ATOXGR": 2, "C2DELAY": 15}, True, "cycle2_delay_over_14d"),
    ("window-day21", {"ASTDY": 21, "AENDY": 23}, True, "nonhaem_g3_clinical"),
    ("window-day22", {"ASTDY": 22, "AENDY": 23}, False, "outside_window"),
    ("window-day1", {"ASTDY": 1, "AENDY": 2}, True, "nonhaem_g3_clinical"),
    ("window-pre-dose", {"ASTDY": -2, "AENDY": 2}, False, "outside_window"),
    # onset inside the window, lasting beyond it: counts
    ("neutro-g4-day20-8d", {**NEUTRO, "ATOXGR": 4, "ASTDY": 20, "AENDY": 27}, True,
     "neutropenia_g4_7d"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("event", "is_dlt", "expected"),
    [t[1:] for t in THRESHOLDS],
    ids=[t[0] for t in THRESHOLDS],
)
def test_rule_thresholds(event: dict, is_dlt: bool, expected: str | None) -> None:
    row = judge(**event)
    assert bool(row.is_dlt) is is_dlt, row.rule
    if is_dlt:
        assert row.rule == expected and row.outcome == "dlt" and row.criteria_met == expected
    else:
        assert row.outcome != "dlt"
        if expected is not None:
            assert row.outcome == expected, row.rule
            if expected in ("grade", "duration", "condition"):
                assert row.rule.startswith(f"{expected}:")


@pytest.mark.parametrize(
    "arel",
    ["RELATED", "DEFINITELY RELATED", "PROBABLY RELATED", "POSSIBLY RELATED", "possibly  related"],
)
def test_related_values_count(arel: str) -> None:
    row = judge(AREL=arel)
    assert row.is_dlt and row.related


@pytest.mark.parametrize("arel", ["UNLIKELY RELATED", "NOT RELATED"])
def test_unrelated_values_do_not_count(arel: str) -> None:
    row = judge(AREL=arel)
    assert not row.is_dlt
    assert row.outcome == "unrelated" and row.criteria_met == "nonhaem_g3_clinical"
    assert row.rule.startswith("unrelated")


def test_outside_window_meeting_a_rule_informs_rp2d() -> None:
    row = judge(ASTDY=22, AENDY=23)
    assert row.criteria_met == "nonhaem_g3_clinical" and not row.in_window
    assert "informs RP2D, not escalation" in row.rule
    quiet = judge(ASTDY=30, AENDY=31, ATOXGR=1)
    assert quiet.outcome == "outside_window" and pd.isna(quiet.criteria_met)
    assert "RP2D" not in quiet.rule
    pre = judge(ASTDY=-2, AENDY=3)
    assert pre.outcome == "outside_window" and "before the first dose" in pre.rule
    assert "RP2D" not in pre.rule


def test_window_follows_the_protocol() -> None:
    proto = dataclasses.replace(PROTO, dlt_window_days=28)
    _, audit = bd.adjudicate_dlt(ae({"ASTDY": 22, "AENDY": 23}), SUBJECTS, proto)
    assert audit.is_dlt.iat[0]


def test_ongoing_event_uses_cutoff_day() -> None:
    event = {**NEUTRO, "ATOXGR": 4, "ASTDY": 5, "AENDY": None}
    assert judge(cutoff_day=11, **event).is_dlt  # days 5..11 = 7 days
    short = judge(cutoff_day=10, **event)
    assert not short.is_dlt and short.outcome == "duration" and short.duration_days == 6
    unknown = judge(**event)
    assert unknown.outcome == "query" and "AENDY" in unknown.rule


def test_missing_facts_are_reported_not_assumed() -> None:
    row = judge(**THROMB, BLEEDGR=None, TRANSFFL="N")
    assert not row.is_dlt and row.outcome == "query" and "BLEEDGR" in row.rule
    # any_of is decided by a known true fact even when another is unknown
    assert judge(**THROMB, BLEEDGR=None, TRANSFFL="Y").is_dlt
    assert judge(AREL=None).outcome == "query"
    assert judge(ASTDY=None).outcome == "query"
    assert judge(ATOXGR=None).outcome == "query"
    assert judge(LABFL=None).outcome == "query"  # clinical or laboratory? unknown
    assert judge(**{**AST, "LABFL": None, "INTERVFL": "Y"}).is_dlt  # SOC Investigations decides


def test_alternative_column_names_and_mapping() -> None:
    frame = ae({**NEUTRO, "ATOXGR": 4, "AENDY": 11}).rename(
        columns={"ATOXGR": "AETOXGR", "AREL": "AEREL", "USUBJID": "SUBJ"}
    )
    subj = SUBJECTS.rename(columns={"USUBJID": "SUBJ", "DOSE": "DOSEMG"})
    _, audit = bd.adjudicate_dlt(frame, subj, PROTO, columns={"SUBJ": "USUBJID", "DOSEMG": "DOSE"})
    assert audit.rule.tolist() == ["neutropenia_g4_7d"]
    durn = ae({**NEUTRO, "ATOXGR": 4}).drop(columns="AENDY").assign(ADURN=7)
    assert bd.adjudicate_dlt(durn, SUBJECTS, PROTO)[1].is_dlt.tolist() == [True]
    assert bd.adjudicate_dlt(durn.assign(ADURN=6), SUBJECTS, PROTO)[1].is_dlt.tolist() == [False]


def test_first_rule_in_protocol_order_is_named() -> None:
    # grade 5 febrile neutropenia meets grade5 and febrile_neutropenia_g3: grade5 comes first
    row = judge(AEDECOD="Febrile neutropenia", AESOC=SOC_BLOOD, ATOXGR=5)
    assert row.rule == "grade5"


# -- outcomes and audit completeness -------------------------------------------------------
def test_outcomes_every_subject_and_audit_every_row() -> None:
    events = ae(
        {"USUBJID": "S1", "ATOXGR": 2},
        {"USUBJID": "S1"},
        {"USUBJID": "S1", "ASTDY": 25, "AENDY": 26},
        {"USUBJID": "S2", "AREL": "NOT RELATED"},
    )
    subjects = pd.concat(
        [SUBJECTS, pd.DataFrame({"USUBJID": ["S3"], "ARM": ["mono"], "DOSE": [1]})]
    )
    out, audit = bd.adjudicate_dlt(events, subjects, PROTO)
    assert list(audit.columns) == list(AUDIT_COLUMNS)
    assert audit["row"].tolist() == [0, 1, 2, 3]
    assert audit.is_dlt.tolist() == [False, True, False, False]
    f = out.to_frame()
    assert f.patient_id.tolist() == ["S1", "S2", "S3"]
    assert f.dose_level.tolist() == [6, 2, 1] and f.arm.tolist() == ["mono", "combo", "mono"]
    assert f.dlt.tolist() == [1, 0, 0]
    assert f.grade2.tolist() == [1, 0, 0]
    assert audit.outcome.isin(OUTCOMES).all()


def test_example_listing_reproduces_the_demo_data() -> None:
    out, audit = bd.adjudicate_dlt(bd.examples.bat6021_ae(), bd.examples.bat6021_adsl(), PROTO)
    got, want = out.to_frame(), bd.examples.bat6021_outcomes().to_frame()
    cols = ["patient_id", "arm", "dose_level", "dose_mg", "dlt", "cohort", "enroll_day",
            "followup_days"]  # fmt: skip
    pd.testing.assert_frame_equal(got[cols], want[cols])
    assert got.loc[got.patient_id.isin(["M01", "M02", "M03"]), "grade2"].tolist() == [0, 0, 0]
    assert len(audit) == len(bd.examples.bat6021_ae())
    assert audit.loc[audit.is_dlt, "USUBJID"].tolist() == ["M11", "M17", "M18", "C07", "C11"]
    # the listing holds the non-DLT events the brief asks for
    codes = set(audit.outcome)
    assert {"grade", "unrelated", "outside_window", "duration", "condition"} <= codes
    long = audit[(audit.AEDECOD == "Neutrophil count decreased") & (audit.ATOXGR == 4)]
    assert long.duration_days.tolist() == [5, 5] and not long.is_dlt.any()
    rp2d = audit[(audit.outcome == "outside_window") & audit.criteria_met.notna()]
    assert rp2d.USUBJID.tolist() == ["M13", "M18", "C05"]
    for arm in ("mono", "combo"):
        assert out.arm(arm).counts().equals(bd.examples.bat6021_outcomes().arm(arm).counts())


def test_inputs_are_not_mutated() -> None:
    events, subjects = ae({}), SUBJECTS.copy()
    before = events.copy(), subjects.copy()
    bd.adjudicate_dlt(events, subjects, PROTO, columns={"X": "Y"})
    pd.testing.assert_frame_equal(events, before[0])
    pd.testing.assert_frame_equal(subjects, before[1])


# -- errors ----------------------------------------------------------------------------
BAD_AE = [
    ({"ATOXGR": 6}, "AE row 0", "ATOXGR"),
    ({"ATOXGR": 0}, "AE row 0", "ATOXGR"),
    ({"ATOXGR": 2.5}, "AE row 0", "ATOXGR"),
    ({"ATOXGR": "severe"}, "AE row 0", "ATOXGR"),
    ({"ASTDY": 10, "AENDY": 9}, "AE row 0", "before onset"),
    ({"ASTDY": 0}, "AE row 0", "no day 0"),
    ({"USUBJID": "S9"}, "unknown subject", "USUBJID"),
    ({"USUBJID": None}, "AE row 0", "USUBJID"),
    ({"AREL": "MAYBE"}, "AE row 0", "AREL"),
    ({"TRANSFFL": "maybe"}, "AE row 0", "TRANSFFL"),
    ({"BLEEDGR": 7}, "AE row 0", "BLEEDGR"),
    ({"C2DELAY": -1}, "AE row 0", "C2DELAY"),
]


@pytest.mark.parametrize(("event", "where", "field"), BAD_AE)
def test_impossible_ae_values_name_row_and_field(event: dict, where: str, field: str) -> None:
    with pytest.raises(AdjudicationError) as info:
        bd.adjudicate_dlt(ae(event), SUBJECTS, PROTO)
    assert isinstance(info.value, ValueError)
    assert where in str(info.value) and field in str(info.value)
    assert len(info.value.errors) == 1


@pytest.mark.parametrize(
    ("subject", "field"),
    [({"ARM": "triple"}, "ARM"), ({"DOSE": 7}, "DOSE"), ({"DOSE": None}, "DOSE"),
     ({"ARM": "combo", "DOSE": 1}, "DOSE"), ({"USUBJID": "S1"}, "duplicate")],
)  # fmt: skip
def test_bad_subject_rows(subject: dict, field: str) -> None:
    subjects = SUBJECTS.copy()
    for k, v in subject.items():
        subjects.loc[1, k] = v
    with pytest.raises(AdjudicationError, match=rf"subject row 1 .*{field}"):
        bd.adjudicate_dlt(ae({}), subjects, PROTO)


def test_collect_lists_every_bad_row() -> None:
    events = ae({"ATOXGR": 6}, {}, {"ASTDY": 10, "AENDY": 2}, {"USUBJID": "S9"}, {"AREL": "?"})
    subjects = SUBJECTS.assign(ARM=["mono", "duo"])
    with pytest.raises(AdjudicationError) as first:
        bd.adjudicate_dlt(events, subjects, PROTO)
    with pytest.raises(AdjudicationError) as every:
        bd.adjudicate_dlt(events, subjects, PROTO, errors="collect")
    errs = every.value.errors
    assert len(errs) == 5 and errs[0] == first.value.errors[0]
    assert "subject row 1" in errs[0]
    for row in ("AE row 0", "AE row 2", "AE row 3", "AE row 4"):
        assert sum(row in e for e in errs) == 1
    assert "5 problems" in str(every.value)


def test_missing_columns_are_listed_with_the_rules_needing_them() -> None:
    with pytest.raises(ValueError, match="missing column") as info:
        bd.adjudicate_dlt(ae({}).drop(columns=["BLEEDGR", "C2DELAY", "AREL"]), SUBJECTS, PROTO)
    msg = str(info.value)
    assert "BLEEDGR (needed by thrombocytopenia_g3_bleeding_or_transfusion)" in msg
    assert "C2DELAY (needed by cycle2_delay_over_14d)" in msg and "AREL" in msg
    with pytest.raises(ValueError, match=r"subject table: missing column.*DOSE"):
        bd.adjudicate_dlt(ae({}), SUBJECTS.drop(columns="DOSE"), PROTO)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="errors must be"):
        bd.adjudicate_dlt(ae({}), SUBJECTS, PROTO, errors="ignore")
    with pytest.raises(ValueError, match="cutoff_day"):
        bd.adjudicate_dlt(ae({}), SUBJECTS, PROTO, cutoff_day=0)
    with pytest.raises(ValueError, match="after the data cut-off"):
        bd.adjudicate_dlt(ae({"AENDY": None, "ASTDY": 9}), SUBJECTS, PROTO, cutoff_day=8)
    with pytest.raises(ValueError, match="has no dlt_rules"):
        bd.adjudicate_dlt(ae({}), SUBJECTS, dataclasses.replace(PROTO, dlt_rules=()))
    with pytest.raises(ValueError, match="unsupported file type"):
        bd.adjudicate_dlt("listing.xlsx", SUBJECTS, PROTO)
    with pytest.raises(ValueError, match="not found"):
        bd.adjudicate_dlt("/nonexistent/ae.csv", SUBJECTS, PROTO)
    with pytest.raises(ValueError, match="duplicate column"):
        bd.adjudicate_dlt(ae({}), SUBJECTS, PROTO, columns={"AEREL": "AREL", "LABFL": "AREL"})


# -- the rules are data ------------------------------------------------------------------
def rules_with(**changes) -> list[dict]:
    rules = [dict(r) for r in PROTO.dlt_rules]
    rules[0] = {**rules[0], **changes}
    return rules


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"any_of": ["HEMOGLOBIN < 8"]}, "unknown condition field 'HEMOGLOBIN'"),
        ({"any_of": ["BLEEDGR >> 2"]}, "cannot read condition"),
        ({"any_of": ["TRANSFFL >= Y"]}, "takes = or != only"),
        ({"any_of": ["TRANSFFL = maybe"]}, "compared to Y or N"),
        ({"any_of": ["BLEEDGR >= two"]}, "not a number"),
        ({"any_of": "BLEEDGR >= 2"}, "must be a list"),
        ({"grade_min": 4, "grade_max": 3}, "bad grade range"),
        ({"grade_min": 6}, "grade_min"),
        ({"grade_max": 0}, "grade_max"),
        ({"min_duration_days": 0}, "min_duration_days"),
        ({"lab_detected": "yes"}, "lab_detected"),
        ({"applies_to": "haematological:lymphopenia"}, "unknown haematological category"),
        ({"applies_to": "blood"}, "applies_to"),
        ({"severity": 3}, "unknown key"),
        ({"name": "two words"}, "identifier"),
        ({"name": "anaemia_g4"}, "duplicate rule name"),
    ],
)
def test_bad_rule_data_is_rejected(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(PROTO, dlt_rules=tuple(rules_with(**change)))


def test_bad_terms_are_rejected() -> None:
    with pytest.raises(ValueError, match="mapped twice"):
        dataclasses.replace(PROTO, dlt_terms={"Anaemia": "anaemia", "ANAEMIA": "other"})
    with pytest.raises(ValueError, match="category must be an identifier"):
        dataclasses.replace(PROTO, dlt_terms={"Anaemia": "red cells"})


def test_rules_and_terms_round_trip_through_toml(tmp_path) -> None:
    back = bd.Protocol.from_toml(PROTO.to_toml(tmp_path / "p.toml"))
    assert back == PROTO
    assert back.dlt_terms["Platelet count decreased"] == "thrombocytopenia"
    assert [r["name"] for r in back.dlt_rules] == [r["name"] for r in PROTO.dlt_rules]
    assert len(PROTO.dlt_rules) == 11


def test_an_amendment_changes_data_not_code(tmp_path) -> None:
    event = {**NEUTRO, "ATOXGR": 4, "AENDY": 9}  # 5 days
    assert not judge(**event).is_dlt
    text = PROTO.to_toml(tmp_path / "p.toml").read_text()
    amended = text.replace("min_duration_days = 7", "min_duration_days = 5")
    assert amended != text
    proto = bd.Protocol.from_toml(_write(tmp_path / "amended.toml", amended))
    _, audit = bd.adjudicate_dlt(ae(event), SUBJECTS, proto)
    assert audit.rule.tolist() == ["neutropenia_g4_7d"]
    # a new term maps to a category: "Neutrophil percentage decreased" becomes neutropenia
    proto2 = dataclasses.replace(
        proto, dlt_terms={**proto.dlt_terms, "Neutrophil percentage decreased": "neutropenia"}
    )
    _, audit = bd.adjudicate_dlt(
        ae({**event, "AEDECOD": "neutrophil percentage DECREASED"}), SUBJECTS, proto2
    )
    assert audit.category.tolist() == ["neutropenia"] and audit.is_dlt.tolist() == [True]


def _write(path, text):
    path.write_text(text)
    return path


# -- fuzzing ---------------------------------------------------------------------------
_cells = st.one_of(
    st.none(),
    st.integers(-3, 8),
    st.sampled_from([np.nan, np.inf, 2.5, 3.0, True]),
    st.sampled_from(["", " ", "Y", "N", "y", "3", "x", "RELATED", "NOT RELATED",
                     "POSSIBLY RELATED", "Anaemia", "Neutropenia", "Investigations"]),
)  # fmt: skip
_ids = st.sampled_from(["S1", "S2", "S3", None, "", 7])


_TERMS = [
    "Anaemia",
    "Platelet count decreased",
    "Thrombocytopenia",
    "Neutropenia",
    "Neutrophil count decreased",
    "Febrile neutropenia",
    "Fatigue",
    "Lipase increased",
]
_RELS = [
    "RELATED",
    "DEFINITELY RELATED",
    "PROBABLY RELATED",
    "POSSIBLY RELATED",
    "UNLIKELY RELATED",
    "NOT RELATED",
    None,
]


@st.composite
def plausible_event(draw):
    start = draw(st.integers(-3, 30).filter(lambda d: d != 0))
    end = draw(st.one_of(st.none(), st.integers(0, 12).map(lambda k: start + k)))
    end = None if end == 0 else end
    yn = st.sampled_from(["Y", "N", None])
    return {
        "USUBJID": draw(st.sampled_from(["S1", "S2"])), "AEDECOD": draw(st.sampled_from(_TERMS)),
        "AESOC": draw(st.sampled_from([SOC_INV, SOC_BLOOD, SOC_GEN])),
        "ATOXGR": draw(st.integers(1, 5)), "ASTDY": start, "AENDY": end,
        "AREL": draw(st.sampled_from(_RELS)), "AESHOSP": draw(yn), "LABFL": draw(yn),
        "BLEEDGR": draw(st.sampled_from([0, 1, 2, 3, None])), "TRANSFFL": draw(yn),
        "INFECTFL": draw(yn), "FEVERFL": draw(yn), "INTERVFL": draw(yn),
        "C2DELAY": draw(st.sampled_from([0, 14, 15, None])),
    }  # fmt: skip


@st.composite
def listings(draw):
    """Plausible events with a few cells replaced by junk, or a junk frame."""
    n = draw(st.integers(0, 6))
    if draw(st.integers(0, 3)) == 0:  # junk: random columns, random cells
        cols = draw(st.sets(st.sampled_from(list(BASE)), max_size=len(BASE)))
        rows = [{c: draw(_ids if c == "USUBJID" else _cells) for c in cols} for _ in range(n)]
        return pd.DataFrame(rows, columns=sorted(cols))
    rows = [draw(plausible_event()) for _ in range(n)]
    for r in rows:
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
            r[draw(st.sampled_from(list(BASE)))] = draw(_cells)
    return pd.DataFrame(rows, columns=list(BASE))


@st.composite
def subject_tables(draw):
    if draw(st.integers(0, 3)) > 0:
        return SUBJECTS.copy()
    n = draw(st.integers(0, 3))
    return pd.DataFrame({
        "USUBJID": [draw(st.sampled_from(["S1", "S2", "S3", None])) for _ in range(n)],
        "ARM": [draw(st.sampled_from(["mono", "combo", "x", None])) for _ in range(n)],
        "DOSE": [draw(st.sampled_from([1, 30, 300, 7, None, "x", "100"])) for _ in range(n)],
    })  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(listings(), subject_tables(), st.sampled_from([None, 15, 30]))
def test_fuzz_only_documented_errors(events, subjects, cutoff) -> None:
    try:
        out, audit = bd.adjudicate_dlt(events, subjects, PROTO, cutoff_day=cutoff)
    except AdjudicationError as exc:
        with pytest.raises(AdjudicationError) as every:
            bd.adjudicate_dlt(events, subjects, PROTO, cutoff_day=cutoff, errors="collect")
        assert every.value.errors[0] == exc.errors[0]
        return
    except ValueError:
        return
    assert len(audit) == len(events) and audit["row"].tolist() == list(range(len(events)))
    assert len(out) == len(subjects)
    assert audit.outcome.isin(OUTCOMES).all()
    dlt = audit[audit.is_dlt]
    assert (dlt.outcome == "dlt").all() and dlt.related.all() and dlt.in_window.all()
    assert set(out.to_frame().query("dlt == 1").patient_id) == set(dlt.USUBJID)
