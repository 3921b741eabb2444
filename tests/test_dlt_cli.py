"""``bayes-dose dlt``: CSV and SAS transport input, outputs, errors."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.cli import main

DATA = resources.files("bayes_dose").joinpath("data")
AE_CSV = str(DATA.joinpath("bat6021_ae.csv"))
ADSL_CSV = str(DATA.joinpath("bat6021_adsl.csv"))
COLS = ["patient_id", "arm", "dose_level", "dose_mg", "dlt", "cohort", "enroll_day",
        "followup_days"]  # fmt: skip


def expected() -> pd.DataFrame:
    return bd.examples.bat6021_outcomes().to_frame()[COLS]


def test_csv_table_and_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, audit = tmp_path / "outcomes.csv", tmp_path / "audit.csv"
    rc = main(["dlt", AE_CSV, "--subjects", ADSL_CSV, "--out", str(out), "--audit", str(audit)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "DLTs (5):" in text and "nonhaem_lab_g3_4_intervention_or_hospitalisation" in text
    assert "Events outside the DLT window (inform the RP2D, not escalation) (3):" in text
    pd.testing.assert_frame_equal(pd.read_csv(out)[COLS], expected(), check_dtype=False)
    # the written cohort data are valid Outcomes again
    again = bd.Outcomes.from_frame(pd.read_csv(out), protocol=bd.protocols.bat6021())
    assert again.arm("mono").counts()["dlt"].tolist() == [0, 0, 0, 0, 0, 1, 2, 0]
    a = pd.read_csv(audit)
    assert len(a) == len(bd.examples.bat6021_ae()) and int(a.is_dlt.sum()) == 5


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlt", AE_CSV, "--subjects", ADSL_CSV, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    got = pd.DataFrame(doc["outcomes"])[COLS]
    pd.testing.assert_frame_equal(got, expected(), check_dtype=False)
    assert [r["USUBJID"] for r in doc["audit"] if r["is_dlt"]] == ["M11", "M17", "M18", "C07",
                                                                    "C11"]  # fmt: skip


def test_sas_transport_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    ae, adsl = tmp_path / "adae.xpt", tmp_path / "adsl.xpt"
    # SAS transport v5 (what pandas.read_sas reads): numbers numeric, text as text
    pyreadstat.write_xport(pd.read_csv(AE_CSV), str(ae), file_format_version=5)
    pyreadstat.write_xport(pd.read_csv(ADSL_CSV), str(adsl), file_format_version=5)
    out = tmp_path / "outcomes.csv"
    assert main(["dlt", str(ae), "--subjects", str(adsl), "--out", str(out)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out)[COLS], expected(), check_dtype=False)
    _, audit_xpt = bd.adjudicate_dlt(ae, adsl, bd.protocols.bat6021())
    _, audit_csv = bd.adjudicate_dlt(AE_CSV, ADSL_CSV, bd.protocols.bat6021())
    pd.testing.assert_frame_equal(audit_xpt, audit_csv)


def test_protocol_file_and_cutoff(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proto = bd.protocols.bat6021().to_toml(tmp_path / "p.toml")
    # amendment: grade 4 neutropenia counts from 5 days -> C08 (5 days) becomes a DLT
    text = proto.read_text().replace("min_duration_days = 7", "min_duration_days = 5")
    proto.write_text(text)
    out = tmp_path / "o.csv"
    args = ["dlt", AE_CSV, "--subjects", ADSL_CSV, "--protocol", str(proto), "--out", str(out)]
    # the subjects were enrolled on trial days 1-372: a cut-off on that calendar
    assert main([*args, "--cutoff-calendar-day", "400"]) == 0
    got = pd.read_csv(out).set_index("patient_id")
    assert got.loc["C08", "dlt"] == 1 and got.loc["M07", "dlt"] == 1
    assert int(got.dlt.sum()) == 7


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["dlt", "/nonexistent/ae.csv", "--subjects", ADSL_CSV], "not found"),
        (["dlt", AE_CSV, "--subjects", AE_CSV], "subject table: missing column"),
        (["dlt", AE_CSV, "--subjects", ADSL_CSV, "--protocol", "/nope.toml"], "not found"),
        (["dlt", AE_CSV, "--subjects", ADSL_CSV, "--cutoff-day", "0"], "cutoff_day"),
    ],
)
def test_errors_one_line_exit_2(argv, message, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayes-dose dlt: error:") and message in err
    assert len(err.splitlines()) == 1


def test_impossible_value_in_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = pd.read_csv(AE_CSV, dtype=str)
    bad.loc[3, "ATOXGR"] = "6"
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    assert main(["dlt", str(path), "--subjects", ADSL_CSV]) == 2
    err = capsys.readouterr().err
    # the file line (header = line 1) is named beside the 0-based row of the audit
    assert "AE row 3 (bad.csv line 5, USUBJID='M03') field 'ATOXGR': '6' is not a CTCAE grade 1-5" in err
