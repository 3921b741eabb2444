"""DLT adjudication queries (issue 10 item 2, interface A) and AE-listing hardening (issue 16).

An event meeting a DLT rule except for a blank fact the rule needs is a query: the patient's
DLT status is unknown (NA) unless another event is a DLT; ``bayes-dose dlt`` writes its
outputs and exits with code 3 listing the queries.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.cli import main
from bayes_dose.dlt import AdjudicationError

PROTO = bd.protocols.bat6021()
SOC_GEN = "General disorders and administration site conditions"
SOC_INV = "Investigations"
BASE = {
    "USUBJID": "S1", "AEDECOD": "Fatigue", "AESOC": SOC_GEN, "ATOXGR": "3", "ASTDY": "5",
    "AENDY": "10", "AREL": "POSSIBLY RELATED", "AESHOSP": "N", "LABFL": "N", "BLEEDGR": "0",
    "TRANSFFL": "N", "INFECTFL": "N", "FEVERFL": "N", "INTERVFL": "N", "C2DELAY": "0",
}  # fmt: skip
SUBJECTS = pd.DataFrame({"USUBJID": ["S1", "S2"], "ARM": ["mono", "mono"], "DOSE": [300, 300]})
DATA = resources.files("bayes_dose").joinpath("data")
AE_CSV = str(DATA.joinpath("bat6021_ae.csv"))
ADSL_CSV = str(DATA.joinpath("bat6021_adsl.csv"))


def ae(*events: dict) -> pd.DataFrame:
    return pd.DataFrame([{**BASE, **e} for e in events])


def run(*events: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    out, audit = bd.adjudicate_dlt(ae(*events), SUBJECTS, PROTO)
    return out.to_frame(), audit


# -- queries -------------------------------------------------------------------------------
def test_blank_causality_of_a_dlt_event_is_a_query_not_a_non_dlt() -> None:
    out, audit = run({"AREL": ""})
    row = audit.iloc[0]
    assert row.outcome == "query" and not row.is_dlt and row.query == "AREL"
    assert row.criteria_met == "nonhaem_g3_clinical" and row.rule.startswith("query:")
    assert pd.isna(out.loc[out.patient_id == "S1", "dlt"]).all()  # unknown, not 0
    assert out.loc[out.patient_id == "S2", "dlt"].tolist() == [0]
    assert str(out["dlt"].dtype) == "Int64"


@pytest.mark.parametrize(
    ("blank", "facts"),
    [("ASTDY", "ASTDY"), ("ATOXGR", "ATOXGR"), ("AEDECOD", "AEDECOD"), ("LABFL", "LABFL")],
)
def test_blank_facts_a_rule_needs_are_queries(blank: str, facts: str) -> None:
    out, audit = run({blank: ""})
    assert audit.outcome.tolist() == ["query"] and audit["query"].iat[0] == facts
    assert out["dlt"].isna().tolist() == [True, False]


def test_rule_condition_blank_is_a_query() -> None:
    thromb = {"AEDECOD": "Platelet count decreased", "AESOC": SOC_INV, "LABFL": "Y",
              "BLEEDGR": "", "TRANSFFL": "N"}  # fmt: skip
    out, audit = run(thromb)
    assert audit.outcome.iat[0] == "query" and audit["query"].iat[0] == "BLEEDGR"
    assert pd.isna(out["dlt"].iat[0])


def test_another_dlt_event_decides_the_patient() -> None:
    out, audit = run({"AREL": ""}, {"AEDECOD": "Nausea"})
    assert audit.outcome.tolist() == ["query", "dlt"]
    assert out["dlt"].tolist() == [1, 0]


def test_blank_fact_that_cannot_make_a_dlt_is_not_a_query() -> None:
    # grade 1 events are no DLT whatever their causality or onset
    out, audit = run({"ATOXGR": "1", "AREL": ""}, {"ATOXGR": "1", "ASTDY": "", "AENDY": ""})
    assert audit.outcome.tolist() == ["grade", "grade"]
    assert out["dlt"].tolist() == [0, 0]
    # onset outside the window: decided whatever the blank causality
    _, audit = run({"ASTDY": "30", "AENDY": "31", "AREL": ""})
    assert audit.outcome.tolist() == ["outside_window"]


def test_unknown_patient_makes_designs_not_decide_silently() -> None:
    out, _ = bd.adjudicate_dlt(ae({"AREL": ""}), SUBJECTS, PROTO)
    assert out.unknown() == ("S1",)
    assert out.counts(arm="mono")["unknown"].sum() == 1
    fit = bd.ThreePlusThree(n_doses=8).fit(out.arm("mono"))
    assert fit.hold and fit.next_dose is None and "S1" in fit.reason


# -- AE listing hardening (issue 16 item 8 and "also") ---------------------------------------
@pytest.mark.parametrize("na", ["NA", "N/A", "NULL", "nan", "#N/A"])
def test_na_codes_in_a_csv_listing_are_errors_not_blanks(tmp_path: Path, na: str) -> None:
    path = tmp_path / "ae.csv"
    ae({"ATOXGR": na}).to_csv(path, index=False)
    with pytest.raises(
        AdjudicationError,
        match=rf"AE row 0 \(ae.csv line 2, USUBJID='S1'\) field 'ATOXGR': '{na}' is a "
        "missing-value code",
    ):
        bd.adjudicate_dlt(path, SUBJECTS, PROTO)
    # the DataFrame path says the same
    with pytest.raises(AdjudicationError, match=rf"field 'ATOXGR': '{na}' is a missing-value"):
        bd.adjudicate_dlt(ae({"ATOXGR": na}), SUBJECTS, PROTO)


def test_csv_listing_blank_cell_is_a_query_with_the_file_line(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    ae({"AEDECOD": "Nausea", "ATOXGR": "1"}, {"AREL": ""}).to_csv(path, index=False)
    out, audit = bd.adjudicate_dlt(path, SUBJECTS, PROTO)
    assert audit.outcome.tolist() == ["grade", "query"]
    assert pd.isna(out.to_frame()["dlt"].iat[0])


def test_blank_atoxgr_beside_a_filled_aetoxgr_uses_the_alias() -> None:
    df = ae({"ATOXGR": "", "AEDECOD": "Nausea"}, {"ATOXGR": "3"}).assign(AETOXGR=["3", "3"])
    _, audit = bd.adjudicate_dlt(df, SUBJECTS, PROTO)
    assert audit.outcome.tolist() == ["dlt", "dlt"] and audit.ATOXGR.tolist() == [3, 3]
    conflict = ae({"ATOXGR": "2"}).assign(AETOXGR=["3"])
    with pytest.raises(AdjudicationError, match=r"field 'ATOXGR': '2' disagrees with AETOXGR"):
        bd.adjudicate_dlt(conflict, SUBJECTS, PROTO)


@pytest.mark.parametrize(
    "term", ["Thrombocytopaenia", "Platelets decreased", "thrombocytopenia ", "Low platelets"]
)
def test_haematological_synonyms_are_matched(term: str) -> None:
    # grade 3 platelets without bleeding/transfusion: not a DLT as thrombocytopenia, but a
    # DLT if misread as a non-haematological clinical event
    _, audit = run({"AEDECOD": term, "AESOC": "Blood and lymphatic system disorders"})
    assert audit.category.iat[0] == "thrombocytopenia" and audit.outcome.iat[0] == "condition"


def test_unmatched_haematological_term_is_a_query_not_non_haematological() -> None:
    out, audit = run({"AEDECOD": "Thrombocytopenic purpura-like platelet fall"})
    assert audit.outcome.iat[0] == "query" and "looks haematological" in audit.rule.iat[0]
    assert pd.isna(out["dlt"].iat[0])
    # when it cannot be a DLT either way, the verdict stands, with a note
    _, audit = run({"AEDECOD": "Leukopenia", "ATOXGR": "1"})
    assert audit.outcome.iat[0] == "grade" and "looks haematological" in audit.rule.iat[0]


def test_bundled_example_is_unchanged() -> None:
    out, audit = bd.adjudicate_dlt(AE_CSV, ADSL_CSV, PROTO)
    assert not (audit.outcome == "query").any()
    assert out == bd.adjudicate_dlt(bd.examples.bat6021_ae(), bd.examples.bat6021_adsl(),
                                     PROTO)[0]  # fmt: skip
    assert out.arm("mono").counts()["dlt"].tolist() == [0, 0, 0, 0, 0, 1, 2, 0]


# -- the CLI: outputs written, exit code 3, queries on stderr --------------------------------
def _listing_with_query(tmp_path: Path) -> Path:
    bad = pd.read_csv(AE_CSV, dtype=str, keep_default_na=False)
    # M11's DLT (row 12 of the bundled listing) loses its causality
    i = int(bad.index[(bad.USUBJID == "M11")][0])
    bad.loc[i, "AREL"] = ""
    path = tmp_path / "ae.csv"
    bad.to_csv(path, index=False)
    return path


def test_cli_exits_3_and_lists_the_queries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _listing_with_query(tmp_path)
    out, audit = tmp_path / "outcomes.csv", tmp_path / "audit.csv"
    rc = main(["dlt", str(path), "--subjects", ADSL_CSV, "--out", str(out), "--audit", str(audit)])
    assert rc == 3
    cap = capsys.readouterr()
    assert "1 query; DLT status unknown for M11" in cap.err
    assert "patient M11: AE row" in cap.err and "missing AREL" in cap.err
    assert re.search(r"patient M11: AE row (\d+) \(ae.csv line (\d+), ", cap.err)
    row, line = map(int, re.search(r"AE row (\d+) \(ae.csv line (\d+)", cap.err).groups())
    assert line == row + 2  # header = line 1
    assert "Queries: a blank fact decides whether the event is a DLT (1):" in cap.out
    # the outputs are written, and the cohort data read back with M11 unknown
    back = bd.io.read_outcomes(out, protocol=PROTO)
    f = back.to_frame().set_index("patient_id")
    assert pd.isna(f.loc["M11", "dlt"]) and f["dlt"].isna().sum() == 1
    assert (pd.read_csv(audit).outcome == "query").sum() == 1


def test_cli_json_lists_queries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _listing_with_query(tmp_path)
    assert main(["dlt", str(path), "--subjects", ADSL_CSV, "--format", "json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["unknown"] == ["M11"] and doc["queries"][0]["query"] == "AREL"


def test_cli_without_queries_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlt", AE_CSV, "--subjects", ADSL_CSV]) == 0
    assert "query" not in capsys.readouterr().err


def test_semicolon_separated_listing_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    pd.read_csv(AE_CSV, dtype=str, keep_default_na=False).to_csv(path, index=False, sep=";")
    _, audit = bd.adjudicate_dlt(path, ADSL_CSV, PROTO)
    _, ref = bd.adjudicate_dlt(AE_CSV, ADSL_CSV, PROTO)
    pd.testing.assert_frame_equal(audit, ref)


def test_empty_listing_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ae.csv"
    path.write_text("")
    with pytest.raises(ValueError, match=r"AE listing '.*ae.csv' is empty"):
        bd.adjudicate_dlt(path, ADSL_CSV, PROTO)
