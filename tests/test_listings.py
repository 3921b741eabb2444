"""Listing readers: schema, missing-value rules, row-and-field errors, bundled listings."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.listings import (
    ADA_SCHEMA,
    PC_SCHEMA,
    Column,
    ListingError,
    Schema,
    bundled,
    read_ada,
    read_listing,
    read_pc,
)

DEMO = Schema(
    "demo",
    (
        Column("USUBJID"),
        Column("AVAL", "number", nullable=True, min=0),
        Column("FL", "flag", required=False),
        Column("RES", "category", allowed=("CR", "PR"), required=False, aliases=("OVRLRESP",)),
        Column("N", "integer", required=False, nullable=True),
    ),
)


def _pc_text() -> str:
    return bundled("pc").read_text()


def _write(tmp_path, text: str, name: str = "x.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


# -- the generic reader -------------------------------------------------------------------
def test_csv_line_numbers_header_is_line_1(tmp_path):
    p = _write(tmp_path, "USUBJID,AVAL\n001,1\n002,2\n\n003,-1\n")
    with pytest.raises(ListingError) as e:
        read_listing(p, DEMO)
    # the blank line 4 is skipped, the bad record is on line 5
    assert str(e.value) == "demo: line 5 (USUBJID='003') field 'AVAL': '-1' must be >= 0"


def test_identifiers_stay_text_and_na_strings_are_not_missing(tmp_path):
    p = _write(tmp_path, "USUBJID,AVAL\n001,\nNA,3\n")
    df = read_listing(p, DEMO)
    assert df["USUBJID"].tolist() == ["001", "NA"]  # not 1, not missing
    assert np.isnan(df["AVAL"].iat[0]) and df["AVAL"].iat[1] == 3.0
    assert df["source_row"].tolist() == ["line 2", "line 3"]
    p = _write(tmp_path, "USUBJID,AVAL\n001,NA\n002,.\n")
    with pytest.raises(ListingError) as e:
        read_listing(p, DEMO)
    assert e.value.errors == [
        "demo: line 2 (USUBJID='001') field 'AVAL': 'NA' is not a number (leave the cell blank if it is missing)",
        "demo: line 3 (USUBJID='002') field 'AVAL': '.' is not a number (leave the cell blank if it is missing)",
    ]


def test_declared_missing_tokens():
    s = Schema("demo", DEMO.columns, missing_tokens=(".",))
    df = read_listing(pd.DataFrame({"USUBJID": ["1"], "AVAL": ["."]}), s)
    assert np.isnan(df["AVAL"].iat[0])


def test_quoted_multiline_cell_keeps_line_numbers(tmp_path):
    p = _write(tmp_path, 'USUBJID,AVAL,NOTE\n001,1,"two\nlines"\n002,x,\n')
    with pytest.raises(ListingError, match=r"line 4 \(USUBJID='002'\) field 'AVAL': 'x'"):
        read_listing(p, DEMO)


def test_ragged_line_is_an_error(tmp_path):
    p = _write(tmp_path, "USUBJID,AVAL\n001,1\n002,2,9\n")
    with pytest.raises(ListingError, match="line 3: 3 fields, header has 2"):
        read_listing(p, DEMO)


def test_types_categories_flags_aliases():
    df = read_listing(
        pd.DataFrame(
            {"usubjid": [1, 2], "AVAL": [1.5, None], "FL": ["yes", "N"],
             "ovrlresp": ["cr", "PR"], "N": [3.0, None], "OTHER": [1.0, "b"]}
        ),
        DEMO,
    )  # fmt: skip
    assert df["USUBJID"].tolist() == ["1", "2"]
    assert df["FL"].tolist() == [True, False]
    assert df["RES"].tolist() == ["CR", "PR"]
    assert df["N"].iat[0] == 3 and df["N"].isna().iat[1]
    assert df["OTHER"].tolist() == ["1", "b"]  # kept as text
    assert df["source_row"].tolist() == ["row 0", "row 1"]


def test_bad_cells_collected_with_field_and_value():
    df = pd.DataFrame({"USUBJID": ["A", "", "C"], "AVAL": ["1", "2", "inf"],
                       "FL": ["Y", "maybe", "N"], "N": ["1.5", "2", ""]})  # fmt: skip
    with pytest.raises(ListingError) as e:
        read_listing(df, DEMO)
    assert e.value.errors == [
        "demo: row 1 field 'USUBJID': blank (a value is required)",
        "demo: row 2 (USUBJID='C') field 'AVAL': 'inf' is not a finite number",
        "demo: row 1 field 'FL': 'maybe' is not Y or N",
        "demo: row 0 (USUBJID='A') field 'N': '1.5' is not a whole number",
    ]
    with pytest.raises(ListingError) as e:
        read_listing(df, DEMO, errors="raise")
    assert len(e.value.errors) == 1


def test_missing_column_duplicate_column_and_renaming():
    with pytest.raises(ListingError, match=r"missing column\(s\) USUBJID"):
        read_listing(pd.DataFrame({"AVAL": [1]}), DEMO)
    with pytest.raises(ListingError, match="columns 'RES' and 'OVRLRESP' both give 'RES'"):
        read_listing(pd.DataFrame({"USUBJID": ["1"], "RES": ["CR"], "OVRLRESP": ["CR"]}), DEMO)
    df = read_listing(pd.DataFrame({"SUBJ": ["9"], "AVAL": [""]}), DEMO, columns={"SUBJ": "USUBJID"})
    assert df["USUBJID"].tolist() == ["9"] and df["AVAL"].isna().all()
    with pytest.raises(ListingError, match="not in the listing"):
        read_listing(pd.DataFrame({"SUBJ": ["9"]}), DEMO, columns={"X": "USUBJID"})
    strict = Schema("demo", DEMO.columns, extra="error")
    with pytest.raises(ListingError, match=r"unknown column\(s\) \['Z'\]"):
        read_listing(pd.DataFrame({"USUBJID": ["1"], "Z": [1]}), strict)


def test_bad_sources(tmp_path):
    with pytest.raises(ListingError, match="expected a DataFrame or a path"):
        read_listing(3, DEMO)
    with pytest.raises(ListingError, match=r"unsupported file type '\.txt'"):
        read_listing(tmp_path / "a.txt", DEMO)
    with pytest.raises(ListingError, match="not found"):
        read_listing(tmp_path / "a.csv", DEMO)
    with pytest.raises(ListingError, match="no header"):
        read_listing(_write(tmp_path, "\n\n"), DEMO)
    with pytest.raises(ListingError, match="reserved"):
        read_listing(pd.DataFrame({"USUBJID": ["1"], "source_row": [1]}), DEMO)
    with pytest.raises(ValueError, match="errors must be"):
        read_listing(pd.DataFrame({"USUBJID": ["1"]}), DEMO, errors="ignore")


def test_schema_validation():
    with pytest.raises(ValueError, match="given twice"):
        Schema("s", (Column("A"), Column("B", aliases=("a",))))
    with pytest.raises(ValueError, match="needs allowed values"):
        Column("R", "category")
    with pytest.raises(ValueError, match="unknown type"):
        Column("R", "date")
    assert PC_SCHEMA.column("AVAL").nullable and not ADA_SCHEMA.column("ADA").nullable


def test_sas_transport_round_trip(tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    csv = read_pc()
    raw = pd.read_csv(bundled("pc"), dtype={"USUBJID": str}, keep_default_na=False)
    raw["AVAL"] = pd.to_numeric(raw["AVAL"].replace("", np.nan))
    path = tmp_path / "adpc.xpt"
    pyreadstat.write_xport(raw, str(path), file_format_version=5)
    xpt = read_pc(path)
    assert xpt["source_row"].iat[0] == "observation 1"
    cols = ["USUBJID", "ARM", "DOSE", "CYCLE", "NRRLT", "ARRLT", "AVAL", "BLQFL", "LLOQ"]
    pd.testing.assert_frame_equal(xpt[cols], csv[cols])


# -- concentrations -------------------------------------------------------------------------
def test_bundled_listings_match_the_example_cohort():
    ex = bd.examples.bat6021_outcomes().to_frame()
    want = {(r.patient_id, r.arm, float(r.dose_mg)) for r in ex.itertuples()}
    for df in (read_pc(), read_ada()):
        got = set(df[["USUBJID", "ARM", "DOSE"]].itertuples(index=False, name=None))
        assert got == want
        assert df["SYNTHFL"].all()
    pc = read_pc()
    assert (pc.groupby(["USUBJID", "CYCLE"]).size() > 0).all()
    assert set(pc.loc[(pc["CYCLE"] == 1) & (pc["NRRLT"] <= 0), "BLQFL"]) == {True}


def test_bundled_listings_are_reproducible():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "make_bat6021_listings.py"
    spec = importlib.util.spec_from_file_location("make_listings", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    pc, ada = mod.make()
    assert pc.to_csv(index=False) == bundled("pc").read_text()
    assert ada.to_csv(index=False) == bundled("ada").read_text()


def _edit_pc(tmp_path, line: int, field: str, value: str):
    lines = _pc_text().splitlines()
    header = lines[0].split(",")
    cells = lines[line - 1].split(",")
    cells[header.index(field)] = value
    lines[line - 1] = ",".join(cells)
    return _write(tmp_path, "\n".join(lines) + "\n", "pc.csv")


def test_negative_concentration_names_line_and_field(tmp_path):
    with pytest.raises(ListingError) as e:
        read_pc(_edit_pc(tmp_path, 3, "AVAL", "-4.2"))
    assert str(e.value) == "concentrations: line 3 (USUBJID='M01') field 'AVAL': '-4.2' must be >= 0"


def test_times_out_of_order_name_line_and_field(tmp_path):
    # line 5 is M01 cycle 1 at nominal 4 h; give it an actual time before the 2 h sample
    with pytest.raises(ListingError) as e:
        read_pc(_edit_pc(tmp_path, 5, "ARRLT", "1.5"))
    assert re.fullmatch(
        r"concentrations: line 5 \(USUBJID='M01'\) field 'ARRLT': 1\.5 h is not after "
        r"1\.97 h of line 4 \(nominal 4 h follows 2 h\): times out of order",
        str(e.value),
    )


def test_blq_flag_inconsistent_with_value(tmp_path):
    with pytest.raises(ListingError, match=r"line 3 \(USUBJID='M01'\) field 'BLQFL': 'Y' but AVAL"):
        read_pc(_edit_pc(tmp_path, 3, "BLQFL", "Y"))
    with pytest.raises(ListingError, match=r"line 3 .* field 'BLQFL': 'N' but AVAL 0.1 < LLOQ 0.5"):
        read_pc(_edit_pc(tmp_path, 3, "AVAL", "0.1"))


def test_duplicate_time_and_changing_dose(tmp_path):
    with pytest.raises(ListingError, match=r"line 4 .* field 'NRRLT': 1 h repeats line 3"):
        read_pc(_edit_pc(tmp_path, 4, "NRRLT", "1.0"))
    with pytest.raises(ListingError, match=r"line 4 .* field 'DOSE': 3 differs from 1 of line 2"):
        read_pc(_edit_pc(tmp_path, 4, "DOSE", "3"))



def test_dosing_interval_differing_within_a_profile(tmp_path):
    # line 4 is M01 cycle 1 at nominal 2 h; the profile's other rows say TAU 504 h
    # (before: the first row's TAU was used silently, AUCtau and Ctrough changed)
    with pytest.raises(ListingError) as e:
        read_pc(_edit_pc(tmp_path, 4, "TAU", "168"))
    assert str(e.value) == (
        "concentrations: line 4 (USUBJID='M01') field 'TAU': 168 differs from 504 of line 2 "
        "(same subject and cycle)"
    )
    read_pc(_edit_pc(tmp_path, 4, "TAU", ""))  # a blank TAU takes the profile's


@pytest.mark.parametrize("actual", ["0", "-0.2"])
def test_post_dose_sample_at_or_before_the_dose(tmp_path, actual):
    # line 3 is M01 cycle 1 at nominal 1 h (actual 1.12 h); the pre-dose sample is at -0.77 h
    with pytest.raises(ListingError) as e:
        read_pc(_edit_pc(tmp_path, 3, "ARRLT", actual))
    assert str(e.value) == (
        f"concentrations: line 3 (USUBJID='M01') field 'ARRLT': {float(actual):g} h is not "
        "after the dose (nominal 1 h post-dose)"
    )


# -- ADA ---------------------------------------------------------------------------------
def _ada_frame() -> pd.DataFrame:
    return pd.read_csv(bundled("ada"), dtype=str, keep_default_na=False)


def test_ada_record_checks():
    df = _ada_frame()
    i = int(df.index[df["ADA"] == "POSITIVE"][0])
    bad = df.copy()
    bad.loc[i, "TITRE"] = ""
    with pytest.raises(ListingError, match=rf"row {i} \(USUBJID='{df.USUBJID[i]}'\) field 'TITRE': blank"):
        read_ada(bad)
    bad = df.copy()
    bad.loc[0, "TITRE"] = "40"
    with pytest.raises(ListingError, match=r"row 0 \(USUBJID='M01'\) field 'TITRE': 40 given for a NEGATIVE"):
        read_ada(bad)
    bad = df.copy()
    bad.loc[0, "NAB"] = "POSITIVE"
    with pytest.raises(ListingError, match="field 'NAB': 'POSITIVE' given for an ADA-NEGATIVE"):
        read_ada(bad)
    bad = df.copy()
    bad.loc[1, "BASEFL"] = "Y"
    with pytest.raises(ListingError, match=r"row 1 \(USUBJID='M01'\) field 'BASEFL': second baseline"):
        read_ada(bad)
    bad = df.copy()
    bad.loc[2, "CYCLE"] = "2"
    with pytest.raises(ListingError, match=r"row 2 .* field 'CYCLE': 2 repeats"):
        read_ada(bad)
    bad = df.copy()
    bad.loc[0, "ADA"] = "BORDERLINE"
    with pytest.raises(ListingError, match="field 'ADA': 'BORDERLINE' is not one of POSITIVE, NEGATIVE"):
        read_ada(bad)


def test_utf8_bom_and_listing_error_is_value_error(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes("\ufeffUSUBJID,AVAL\n001,1\n".encode())
    assert read_listing(p, DEMO)["USUBJID"].tolist() == ["001"]
    assert issubclass(ListingError, ValueError)
    with pytest.raises(KeyError):
        DEMO.column("NOPE")
