"""DLT adjudication: the data cut-off on the enrolment calendar, and contradictions in a
listing or a protocol that used to be resolved silently (stop 23 audit findings)."""

from __future__ import annotations

import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.dlt import AdjudicationError

PROTO = bd.protocols.bat6021()
PLT = {
    "USUBJID": "C15", "AEDECOD": "Platelet count decreased", "AESOC": "Investigations",
    "ATOXGR": 4, "ASTDY": 5, "AENDY": None, "AREL": "POSSIBLY RELATED", "AESHOSP": "N",
    "LABFL": "Y", "BLEEDGR": 0, "TRANSFFL": "N", "INFECTFL": "N", "FEVERFL": "N",
    "INTERVFL": "N", "C2DELAY": 0,
}  # fmt: skip


def subjects(**extra) -> pd.DataFrame:
    base = {"USUBJID": ["C01", "C15"], "ARM": ["combo", "combo"], "DOSE": [30, 100]}
    return pd.DataFrame({**base, **extra})


def ae(**over) -> pd.DataFrame:
    return pd.DataFrame([{**PLT, **over}])


def test_staggered_enrolment_refuses_one_study_day_cutoff() -> None:
    # C15 enrolled on trial day 372: "cut-off day 380" is its study day 9, not 380
    with pytest.raises(ValueError, match="cutoff_calendar_day"):
        bd.adjudicate_dlt(ae(), subjects(ENRLDY=[1, 372]), PROTO, cutoff_day=380)


def test_calendar_cutoff_gives_each_subject_its_own_study_day() -> None:
    out, audit = bd.adjudicate_dlt(ae(), subjects(ENRLDY=[1, 372]), PROTO,
                                   cutoff_calendar_day=380)  # fmt: skip
    # study day 380 - 372 + 1 = 9: the ongoing event has lasted 9 - 5 + 1 = 5 days
    assert int(audit.loc[0, "duration_days"]) == 5
    assert audit.loc[0, "outcome"] != "dlt"  # grade-4 thrombocytopenia needs 7 days
    fu = out.to_frame().set_index("patient_id")["followup_days"]
    assert fu["C15"] == 9.0 and fu["C01"] == 21.0  # min(study day at cut-off, window)
    # three days later the event has lasted 8 days: a DLT
    _, later = bd.adjudicate_dlt(ae(), subjects(ENRLDY=[1, 372]), PROTO,
                                 cutoff_calendar_day=383)  # fmt: skip
    assert int(later.loc[0, "duration_days"]) == 8 and later.loc[0, "outcome"] == "dlt"


def test_calendar_cutoff_errors() -> None:
    with pytest.raises(ValueError, match="needs every subject's ENRLDY"):
        bd.adjudicate_dlt(ae(), subjects(), PROTO, cutoff_calendar_day=380)
    with pytest.raises(AdjudicationError, match="enrolled on trial day 372, after the data"):
        bd.adjudicate_dlt(ae(USUBJID="C01"), subjects(ENRLDY=[1, 372]), PROTO,
                          cutoff_calendar_day=300)  # fmt: skip
    with pytest.raises(ValueError, match="not both"):
        bd.adjudicate_dlt(ae(), subjects(ENRLDY=[1, 1]), PROTO, cutoff_day=10,
                          cutoff_calendar_day=10)  # fmt: skip
    with pytest.raises(ValueError, match="cutoff_calendar_day must be a day"):
        bd.adjudicate_dlt(ae(), subjects(ENRLDY=[1, 372]), PROTO, cutoff_calendar_day=True)


def test_study_day_cutoff_only_where_it_is_unambiguous() -> None:
    # every subject enrolled on trial day 1 (or no ENRLDY): study day = trial day
    for subj in (subjects(ENRLDY=[1, 1]), subjects()):
        _, audit = bd.adjudicate_dlt(ae(), subj, PROTO, cutoff_day=11)
        assert int(audit.loc[0, "duration_days"]) == 7 and audit.loc[0, "outcome"] == "dlt"
    # one subject enrolled on day 372 with "cut-off 380": a calendar day or a study day?
    with pytest.raises(ValueError, match="cutoff_calendar_day"):
        bd.adjudicate_dlt(ae(), subjects(ENRLDY=[372, 372]), PROTO, cutoff_day=380)
    _, audit = bd.adjudicate_dlt(ae(), subjects(ENRLDY=[5, 5]), PROTO, cutoff_calendar_day=15)
    assert int(audit.loc[0, "duration_days"]) == 7  # study day 15 - 5 + 1 = 11


def test_closed_event_after_cutoff_is_an_error() -> None:
    with pytest.raises(AdjudicationError, match="after the data cut-off"):
        bd.adjudicate_dlt(ae(ASTDY=15, AENDY=20), subjects(), PROTO, cutoff_day=12)


def test_onset_after_recorded_followup_is_an_error() -> None:
    with pytest.raises(AdjudicationError, match="DLTFUDY 10"):
        bd.adjudicate_dlt(ae(ASTDY=15, AENDY=30), subjects(DLTFUDY=[21, 10]), PROTO)
    # after the DLT window the recorded follow-up does not reach: not a contradiction
    _, audit = bd.adjudicate_dlt(ae(ASTDY=25, AENDY=30), subjects(DLTFUDY=[21, 10]), PROTO)
    assert not audit.loc[0, "is_dlt"]


def test_labfl_n_contradicting_investigations_soc_is_an_error() -> None:
    alt = {"AEDECOD": "Alanine aminotransferase increased", "ATOXGR": 3, "AENDY": 12,
           "AREL": "PROBABLY RELATED"}  # fmt: skip
    with pytest.raises(AdjudicationError, match=r"LABFL.*contradicts AESOC"):
        bd.adjudicate_dlt(ae(**alt, LABFL="N"), subjects(), PROTO)
    # blank LABFL: an Investigations term is a laboratory finding (as before)
    _, audit = bd.adjudicate_dlt(ae(**alt, LABFL=None), subjects(), PROTO)
    assert audit.loc[0, "outcome"] != "query"


def test_misspelt_dlt_terms_category_is_refused(tmp_path) -> None:
    path = PROTO.to_toml(tmp_path / "p.toml")
    text = path.read_text()
    assert '\nAnaemia = "anaemia"' in text
    path.write_text(text.replace('\nAnaemia = "anaemia"', '\nAnaemia = "anemia"'))
    with pytest.raises(ValueError, match="category 'anemia' is named by no rule"):
        bd.adjudicate_dlt(ae(), subjects(), bd.Protocol.from_toml(path))
