"""Cohort-data readers: no crash, no silent change of meaning, errors naming line and value.

Issue 10 item 10 (CSV errors name the file line and the value as written; separators;
yes/no DLT codes), issue 16 (huge levels, scalar counts, row order vs cohort/enroll_day,
arm names with blanks, identifiers as text, vague column errors, encoding/empty files).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.io import read_outcomes

PROTO = bd.protocols.bat6021()


def write(tmp_path: Path, text: str, name: str = "cohorts.csv") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


HEADER = "patient_id,arm,dose_level,dlt\n"


# -- crashes that become ValueErrors -------------------------------------------------------
def test_huge_dose_level_in_parse_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"cohort 1 token '99999999999999999999N'.*level"):
        bd.Outcomes.parse("99999999999999999999N")


@pytest.mark.parametrize("level", [2**63, 2**64 + 1, 10**30])
def test_huge_dose_level_in_a_frame_is_a_value_error(level: int) -> None:
    df = pd.DataFrame({"patient_id": ["a"], "arm": ["mono"], "dose_level": [level], "dlt": [0]})
    with pytest.raises(ValueError, match=r"row 0 .*field 'dose_level': .*not a 1-based level"):
        bd.Outcomes.from_frame(df)


def test_huge_dose_level_in_a_csv_names_the_line(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "a,mono,1,0\nb,mono,9223372036854775808,0\n")
    with pytest.raises(
        ValueError,
        match=r"'cohorts.csv' line 3 \(patient_id='b'\) field 'dose_level': "
        r"'9223372036854775808' is not a 1-based level",
    ):
        read_outcomes(p)


def test_huge_cohort_number_is_a_value_error() -> None:
    df = pd.DataFrame({"patient_id": ["a"], "arm": ["mono"], "dose_level": [1], "dlt": [0],
                       "cohort": [1e300]})  # fmt: skip
    with pytest.raises(ValueError, match=r"row 0 .*field 'cohort'"):
        bd.Outcomes.from_frame(df)


@pytest.mark.parametrize(("n", "dlt"), [(3, 0), ([3], 0), (3, [0]), ("33", "00"), (None, None)])
def test_from_counts_scalars_are_a_value_error(n: object, dlt: object) -> None:
    with pytest.raises(ValueError, match=r"from_counts: '(n|dlt)' must be a sequence"):
        bd.Outcomes.from_counts(n, dlt)  # type: ignore[arg-type]


def test_from_counts_huge_count_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="level 1 field 'n'"):
        bd.Outcomes.from_counts([10**12], [0])


# -- DLT codes (issue 10 item 10, interface A) ---------------------------------------------
@pytest.mark.parametrize(
    ("code", "value"),
    [("0", 0), ("1", 1), ("yes", 1), ("No", 0), ("Y", 1), (" n ", 0), ("TRUE", 1),
     ("false", 0), ("unknown", None), ("Unknown", None)],
)  # fmt: skip
def test_dlt_codes_are_read_from_csv(tmp_path: Path, code: str, value: int | None) -> None:
    out = read_outcomes(write(tmp_path, HEADER + f"a,mono,1,{code}\n"))
    got = out.to_frame()["dlt"].iat[0]
    assert (pd.isna(got) if value is None else got == value), got
    assert str(out.to_frame()["dlt"].dtype) == "Int64"


@pytest.mark.parametrize(
    ("code", "shown"), [("2", "'2'"), ("maybe", "'maybe'"), ("NA", "'NA'"), ("?", "'?'"),
                        ("0.5", "'0.5'")],
)  # fmt: skip
def test_other_dlt_codes_are_errors_showing_the_value(tmp_path: Path, code: str, shown: str):
    p = write(tmp_path, HEADER + f"a,mono,1,0\nb,mono,1,{code}\n")
    with pytest.raises(ValueError) as exc:
        read_outcomes(p)
    msg = str(exc.value)
    assert "'cohorts.csv' line 3 (patient_id='b') field 'dlt': " + shown in msg, msg
    assert "not a DLT code" in msg


def test_blank_dlt_names_the_line(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "a,mono,1,0\nb,mono,1,\n")
    with pytest.raises(ValueError, match=r"line 3 \(patient_id='b'\) field 'dlt': blank DLT: "
                       r"write 0, 1 or 'unknown'"):  # fmt: skip
        read_outcomes(p)


def test_dlt_codes_in_a_frame_and_unknown_round_trip() -> None:
    df = pd.DataFrame({"patient_id": ["a", "b", "c", "d"], "arm": "mono", "dose_level": 1,
                       "dlt": ["yes", False, pd.NA, "unknown"]})  # fmt: skip
    out = bd.Outcomes.from_frame(df)
    assert out.to_frame()["dlt"].tolist()[:2] == [1, 0]
    assert out.to_frame()["dlt"].isna().tolist() == [False, False, True, True]
    assert bd.Outcomes.from_frame(out.to_frame()) == out  # to_frame -> from_frame
    for blank in (None, float("nan"), ""):
        with pytest.raises(ValueError, match=r"row 1 .*field 'dlt': blank DLT"):
            bd.Outcomes.from_frame(df.assign(dlt=[0, blank, 0, 0]))


def test_parse_question_mark_is_unknown() -> None:
    f = bd.Outcomes.parse("1NN? 2T").to_frame()
    assert f["dlt"].isna().tolist() == [False, False, True, False]
    assert f["dlt"].iat[3] == 1


# -- CSV errors: file line and value as written (issue 10 item 10, issue 16) ---------------
def test_bad_cell_names_the_first_bad_line_not_row_0(tmp_path: Path) -> None:
    # a text cell in a numeric column used to turn the whole column into text and blame
    # row 0 (whose value was fine)
    p = write(tmp_path, "patient_id,arm,dose_level,dlt,followup_days\n"
              "a,mono,1,0,21\nb,mono,1,0,21\nc,mono,2,0,14 days\n")  # fmt: skip
    with pytest.raises(ValueError) as exc:
        read_outcomes(p)
    msg = str(exc.value)
    assert "line 4 (patient_id='c') field 'followup_days': '14 days' is not a number" in msg
    assert "row 0" not in msg


def test_values_are_shown_as_written_not_as_numpy(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "a,mono,2.5,0\n")
    with pytest.raises(ValueError, match=r"line 2 .*field 'dose_level': '2.5' is not"):
        read_outcomes(p)
    df = pd.DataFrame({"patient_id": ["a"], "arm": ["mono"], "dose_level": [2.5], "dlt": [0]})
    with pytest.raises(ValueError) as exc:
        bd.Outcomes.from_frame(df)
    assert "2.5 is not" in str(exc.value) and "np.float64" not in str(exc.value)


@pytest.mark.parametrize("na", ["NA", "N/A", "NULL", "nan", "#N/A"])
def test_missing_value_codes_in_numeric_columns_are_errors(tmp_path: Path, na: str) -> None:
    p = write(tmp_path, HEADER.strip() + ",followup_days\na,mono,1,0," + na + "\n")
    with pytest.raises(ValueError, match=rf"line 2 .*'followup_days': '{na}' is a missing-value"):
        read_outcomes(p)


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_or_tab_separated_files_are_read(tmp_path: Path, sep: str) -> None:
    f = bd.examples.bat6021_frame()
    p = tmp_path / "d.csv"
    f.to_csv(p, index=False, sep=sep)
    assert read_outcomes(p, protocol=PROTO) == bd.examples.bat6021_outcomes()
    # a decimal comma is not silently read as another number
    p.write_text(sep.join(f.columns) + "\n" + sep.join(
        ["M01", "mono", "1", "1,5", "0", "1", "1", "21"]) + "\n")  # fmt: skip
    with pytest.raises(ValueError, match=r"line 2 .*field 'dose_mg': '1,5' is not a number"):
        read_outcomes(p, protocol=PROTO)


def test_wrong_field_count_names_the_line(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "a,mono,1,0\nb,mono,1,0,extra\n")
    with pytest.raises(ValueError, match=r"'.*cohorts.csv' line 3: 5 fields, the header has 4"):
        read_outcomes(p)


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "a,mono,1,0\n\n\nb,mono,x,0\n")
    with pytest.raises(ValueError, match=r"line 5 \(patient_id='b'\) field 'dose_level'"):
        read_outcomes(p)


def test_encoding_empty_and_directory_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "latin.csv"
    p.write_bytes(HEADER.encode() + "Müller,mono,1,0\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"data file '.*latin.csv' line 2: not UTF-8"):
        read_outcomes(p)
    e = write(tmp_path, "", "empty.csv")
    with pytest.raises(ValueError, match=r"data file '.*empty.csv' is empty"):
        read_outcomes(e)
    with pytest.raises(ValueError, match="is a directory"):
        read_outcomes(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        read_outcomes(tmp_path / "missing.csv")


def test_header_only_file_has_no_patients(tmp_path: Path) -> None:
    assert len(read_outcomes(write(tmp_path, HEADER))) == 0


# -- silent results made impossible (issue 16) ---------------------------------------------
def test_patient_ids_stay_text(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "001,mono,1,0\n1,mono,1,0\n01,mono,1,0\n")
    out = read_outcomes(p)
    assert out.to_frame()["patient_id"].tolist() == ["001", "1", "01"]
    dup = write(tmp_path, HEADER + "001,mono,1,0\n001,mono,1,0\n", "dup.csv")
    with pytest.raises(ValueError, match=r"line 3 \(patient_id='001'\) .*duplicate of .*line 2"):
        read_outcomes(dup)


def test_arm_names_are_stripped_and_checked(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + "a,mono,1,0\nb,mono ,1,1\nc, mono,1,0\n")
    out = read_outcomes(p, protocol=PROTO)
    assert out.arms == ("mono",)
    assert out.counts(arm="mono")["dlt"].iat[0] == 1  # the DLT of 'mono ' stays in mono
    bad = write(tmp_path, HEADER + "a,mnoo,1,0\n", "bad.csv")
    with pytest.raises(ValueError, match=r"line 2 .*field 'arm': unknown arm 'mnoo'"):
        read_outcomes(bad, protocol=PROTO)
    case = write(tmp_path, HEADER + "a,mono,1,0\nb,Mono,1,0\n", "case.csv")
    with pytest.raises(ValueError, match=r"line 3 .*arm 'Mono' differs from arm 'mono'"):
        read_outcomes(case)


TRIAL = pd.DataFrame({
    "patient_id": [f"P{i}" for i in range(1, 13)],
    "arm": "mono",
    "dose_level": [1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 2, 2],
    "dlt": [0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0],
    "enroll_day": [1, 2, 3, 22, 23, 24, 43, 44, 45, 64, 65, 66],
})  # fmt: skip


@pytest.mark.parametrize("with_cohort", [False, True])
def test_row_order_does_not_change_the_decision(with_cohort: bool) -> None:
    chrono = TRIAL.assign(cohort=[1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]) if with_cohort else TRIAL
    by_dose = chrono.sort_values("dose_level", kind="stable")
    shuffled = chrono.sample(frac=1.0, random_state=3)
    ref = bd.Outcomes.from_frame(chrono)
    assert ref.order_by == ("cohort" if with_cohort else "enroll_day")
    crm = bd.CRM(skeleton=[0.05, 0.12, 0.25, 0.40], target=0.25)
    for df in (by_dose, shuffled):
        out = bd.Outcomes.from_frame(df)
        assert out.order_by == ref.order_by
        assert out == ref
        data = bd.DoseData.from_outcomes(out, 4)
        assert data.current[0] == 1  # last cohort: level 2 (0-based 1), not level 3
        assert crm.fit(out).next_dose == crm.fit(ref).next_dose
    assert "ordered by" in repr(ref)


def test_file_order_is_said_when_nothing_else_orders() -> None:
    out = bd.Outcomes.from_frame(TRIAL.drop(columns="enroll_day"))
    assert out.order_by == "file"
    assert bd.Outcomes.parse("1N 2N").order_by == "cohort"


def test_cohort_and_enroll_day_in_conflict_is_an_error() -> None:
    bad = TRIAL.assign(cohort=[1, 1, 1, 3, 3, 3, 2, 2, 2, 4, 4, 4])
    with pytest.raises(ValueError, match=r"field 'cohort': cohort 3 of arm 'mono' starts on "
                       r"enroll_day 22, before cohort 2"):  # fmt: skip
        bd.Outcomes.from_frame(bad)


def test_partial_enroll_day_out_of_order_is_an_error() -> None:
    df = TRIAL.sort_values("dose_level", kind="stable").reset_index(drop=True)
    df["enroll_day"] = df["enroll_day"].astype(float)
    df.loc[0, "enroll_day"] = float("nan")
    with pytest.raises(ValueError, match="rows are not in enrolment order"):
        bd.Outcomes.from_frame(df)


def test_cohort_spanning_two_levels_warns() -> None:
    df = TRIAL.assign(cohort=[1, 1, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4])
    with pytest.warns(UserWarning, match=r"cohort 3 of arm 'mono' is treated at levels 2 and 3"):
        bd.Outcomes.from_frame(df)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bd.examples.bat6021_outcomes()  # the bundled example is clean


def test_bundled_example_reads_the_same_from_csv(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    bd.examples.bat6021_frame().to_csv(p, index=False)
    out = read_outcomes(p, protocol=PROTO)
    assert out == bd.examples.bat6021_outcomes() and out.order_by == "cohort"
