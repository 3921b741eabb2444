"""Generated bad inputs (Hypothesis) through the cohort-CSV and AE-listing readers (issue 16).

Every input either reads with its documented meaning or raises ``ValueError`` naming the
file line or row and the field; never another exception, never a silent change of meaning.
"""

from __future__ import annotations

import csv
import re
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayes_dose as bd
from bayes_dose.csv_text import is_na_token

PROTO = bd.protocols.bat6021()
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
NA = ["NA", "N/A", "NULL", "nan", "#N/A", "None", "<NA>"]
JUNK = ["", " ", "x", "-1", "0", "2.5", "1e3", "99999999999999999999", "inf", "1,5", ";", '"',
        "\t", "Müller", "3 ", " 2"]  # fmt: skip
YES, NO = {"1", "yes", "y", "true"}, {"0", "no", "n", "false"}


def write_csv(rows: list[list[str]], header: list[str]) -> Path:
    path = Path(tempfile.mkdtemp()) / "data.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def located(msg: str) -> bool:
    """The message names a line or row and a field, or is a file-level problem."""
    if re.search(r"(line \d+|row \d+).*field '\w+'", msg):
        return True
    return bool(re.search(r"missing column|unknown column|is empty|fields, the header|line \d+",
                          msg))  # fmt: skip


# -- cohort CSV ------------------------------------------------------------------------------
COHORT_COLS = ["patient_id", "arm", "dose_level", "dlt", "cohort", "followup_days"]
cell = {
    "patient_id": st.sampled_from(["001", "1", "01", "A-7", " P2 ", "", *NA, "x"]),
    "arm": st.sampled_from(["mono", "combo", "mono ", " combo", "Mono", "triple", "", *NA]),
    "dose_level": st.sampled_from(["1", "2", "3", "5", "0", "9", *JUNK, *NA]),
    "dlt": st.sampled_from(["0", "1", "yes", "No", "Y", "n", "TRUE", "false", "unknown", "?",
                            "2", "", "maybe", *NA]),
    "cohort": st.sampled_from(["1", "2", "3", "", "1.5", "-1", *NA, "1e300"]),
    "followup_days": st.sampled_from(["21", "14", "0", "", "-3", "abc", *NA]),
}  # fmt: skip
cohort_rows = st.lists(
    st.tuples(*(cell[c] for c in COHORT_COLS)).map(list), min_size=0, max_size=7
)


@SETTINGS
@given(rows=cohort_rows, use_protocol=st.booleans())
def test_cohort_csv_reads_with_its_meaning_or_names_the_line(rows, use_protocol) -> None:
    path = write_csv(rows, COHORT_COLS)
    try:
        out = bd.io.read_outcomes(path, protocol=PROTO if use_protocol else None)
    except ValueError as exc:
        assert located(str(exc)), str(exc)
        return
    f = out.to_frame().set_index("patient_id")
    assert len(f) == len(rows)  # nothing dropped, nothing added
    for r in rows:
        pid, arm, level, dlt = r[0].strip(), r[1].strip(), r[2].strip(), r[3].strip().lower()
        got = f.loc[pid]
        assert not any(is_na_token(c) for c in r[:4])  # a missing-value code never passes
        assert got["arm"] == arm
        assert got["dose_level"] == int(level)
        if dlt == "unknown":
            assert pd.isna(got["dlt"])
        else:
            assert got["dlt"] == (1 if dlt in YES else 0) and dlt in YES | NO


# -- AE listings ------------------------------------------------------------------------------
AE_COLS = ["USUBJID", "AEDECOD", "AESOC", "ATOXGR", "ASTDY", "AENDY", "AREL", "AESHOSP", "LABFL",
           "BLEEDGR", "TRANSFFL", "INFECTFL", "FEVERFL", "INTERVFL", "C2DELAY"]  # fmt: skip
BASE = ["S1", "Fatigue", "General disorders and administration site conditions", "3", "5",
        "10", "POSSIBLY RELATED", "N", "N", "0", "N", "N", "N", "N", "0"]  # fmt: skip
ae_cell = {
    "USUBJID": ["S1", "S2", "S3", ""],
    "AEDECOD": ["Fatigue", "Neutropenia", "Platelets decreased", "Thrombocytopaenia",
                "Leukopenia", ""],
    "ATOXGR": ["1", "2", "3", "4", "5", "6", "", "3.5"],
    "ASTDY": ["1", "5", "21", "22", "-2", "0", ""],
    "AENDY": ["5", "12", "30", ""],
    "AREL": ["RELATED", "NOT RELATED", "possibly related", "", "maybe"],
    "LABFL": ["Y", "N", "", "yes", "2"],
    "BLEEDGR": ["0", "2", "", "9"],
}  # fmt: skip
edits = st.lists(
    st.sampled_from(sorted(ae_cell)).flatmap(
        lambda c: st.tuples(st.just(c), st.sampled_from([*ae_cell[c], *NA, " "]))
    ),
    max_size=4,
)
SUBJ = pd.DataFrame({"USUBJID": ["S1", "S2"], "ARM": ["mono", "combo"], "DOSE": ["300", "100"]})


@SETTINGS
@given(events=st.lists(edits, min_size=1, max_size=4))
def test_ae_listing_reads_with_its_meaning_or_names_the_row(events) -> None:
    rows = []
    for ed in events:
        r = dict(zip(AE_COLS, BASE, strict=True))
        r.update(ed)
        rows.append([r[c] for c in AE_COLS])
    path = write_csv(rows, AE_COLS)
    try:
        out, audit = bd.adjudicate_dlt(path, SUBJ, PROTO)
    except ValueError as exc:
        msg = str(exc)
        assert all(located(m) for m in msg.splitlines()[1:] or [msg]), msg
        return
    assert len(audit) == len(rows)
    assert not any(is_na_token(c) for r in rows for c in r)
    for r, a in zip(rows, audit.itertuples(), strict=True):
        ev = dict(zip(AE_COLS, (c.strip() for c in r), strict=True))
        if ev["AREL"] == "":
            assert a.outcome not in ("dlt", "unrelated"), a.rule
        if ev["ASTDY"] == "":
            assert a.outcome not in ("dlt", "outside_window"), a.rule
        if ev["ATOXGR"] == "":
            assert a.outcome in ("query", "outside_window", "unrelated"), a.rule
    f = out.to_frame().set_index("patient_id")
    for pid in f.index:
        mine = audit[audit.USUBJID == pid]
        if mine.is_dlt.any():
            assert f.loc[pid, "dlt"] == 1
        elif (mine.outcome == "query").any():
            assert pd.isna(f.loc[pid, "dlt"])
        else:
            assert f.loc[pid, "dlt"] == 0
    # the DataFrame path reads the same text the same way
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    _, again = bd.adjudicate_dlt(frame, SUBJ, PROTO)
    pd.testing.assert_frame_equal(again, audit)
