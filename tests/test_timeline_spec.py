"""Calendar time from a TOML spec ([simulation.timeline]), in Study / simulate_spec / the CLI,
the memo's duration tables, and the Outcomes ``dlt_day`` column (issue 12)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose import cli
from bayes_dose.io import TIMELINE_KEYS, load_spec
from bayes_dose.simulate import manifest
from bayes_dose.workflows import bundled_spec, simulate_spec

HEAD = """protocol = "bat6021"
seed = 11
[designs."3+3"]
type = "3+3"
[designs.BOIN]
type = "BOIN"
target = 0.25
max_n = 18
[designs."TITE-BOIN"]
type = "BOIN"
target = 0.25
max_n = 18
tite_window = 21
[simulation]
n_trials = 40
target = 0.25
[simulation.scenarios.mono]
"MTD at 100 mg" = [0.01, 0.02, 0.04, 0.10, 0.25, 0.45, 0.60, 0.70]
"""

#: The same spec without the TITE design (which needs calendar time).
PLAIN = HEAD.replace('[designs."TITE-BOIN"]\ntype = "BOIN"\ntarget = 0.25\nmax_n = 18\n'
                     "tite_window = 21\n", "")  # fmt: skip


def _spec(tmp_path, timeline: str, head: str = HEAD):
    p = tmp_path / "spec.toml"
    p.write_text(head + "[simulation.timeline]\n" + timeline)
    return p


# -- TOML -> Timeline -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("accrual_per_month = 2.5\n", bd.Timeline(accrual_per_month=2.5)),
        ("accrual_per_month = 3\n", bd.Timeline(accrual_per_month=3.0)),
        ("accrual_per_month = inf\n", bd.Timeline(accrual_per_month=math.inf)),
        ("interarrival_days = 10\nwaiting = \"turn_away\"\n",
         bd.Timeline(interarrival_days=10, waiting="turn_away")),
        ("accrual_per_month = 4\ndlt_onset = { weibull = 2.0 }\n",
         bd.Timeline(accrual_per_month=4, dlt_onset=("weibull", 2.0))),
        ("accrual_per_month = 4\ndlt_onset = { late = 0.7 }\nmax_wait_days = 30\n",
         bd.Timeline(accrual_per_month=4, dlt_onset=("late", 0.7), max_wait_days=30)),
        ("accrual_per_month = 4\ndlt_onset = \"uniform\"\nwaiting = \"queue\"\n",
         bd.Timeline(accrual_per_month=4)),
    ],
)  # fmt: skip
def test_toml_timeline_reads_into_the_timeline(tmp_path, text, expected):
    spec = load_spec(_spec(tmp_path, text))
    assert spec.timeline == expected
    assert spec.simulation["timeline"] == expected
    study = bd.Study.from_spec(spec)
    assert study.timeline == expected
    assert study.manifest()["settings"]["timeline"] == expected.spec()


def test_spec_without_timeline_is_cohort_time(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text(HEAD)
    spec = load_spec(p)
    assert spec.timeline is None and bd.Study.from_spec(spec).timeline is None
    assert "timeline" not in bd.Study.from_spec(spec).manifest()["settings"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("acrual_per_month = 2\n",
         r"\[simulation.timeline\]: unknown key 'acrual_per_month' \(did you mean "
         r"'accrual_per_month'\?\); valid keys: " + ", ".join(TIMELINE_KEYS)),
        ("accrual_per_month = 2\nwaitng = \"queue\"\n", r"unknown key 'waitng' \(did you mean 'waiting'"),
        ("accrual_per_month = \"fast\"\n",
         r"\[simulation.timeline\] accrual_per_month: must be a number, got 'fast'"),
        ("accrual_per_month = true\n", r"accrual_per_month: must be a number, got True"),
        ("accrual_per_month = -inf\n", r"accrual_per_month: must be a finite number"),
        ("accrual_per_month = nan\n", r"accrual_per_month: must be a finite number"),
        ("accrual_per_month = 0\n", r"\[simulation.timeline\]: accrual_per_month must be > 0"),
        ("interarrival_days = -1\n", r"\[simulation.timeline\]: interarrival_days must be finite"),
        ("accrual_per_month = 2\ninterarrival_days = 7\n", r"give exactly one of"),
        ("waiting = \"queue\"\n", r"give exactly one of accrual_per_month"),
        ("accrual_per_month = 2\nwaiting = \"wait\"\n", r"waiting must be one of \('queue', 'turn_away'\)"),
        ("accrual_per_month = 2\nwaiting = 1\n", r"\[simulation.timeline\] waiting: must be a string"),
        ("accrual_per_month = 2\nwaiting = \"turn_away\"\nmax_wait_days = 5\n",
         r"max_wait_days applies to waiting='queue'"),
        ("accrual_per_month = 2\nmax_wait_days = -3\n", r"max_wait_days must be a number >= 0, got -3"),
        ("accrual_per_month = inf\nwaiting = \"turn_away\"\n", r"unlimited accrual"),
        ("accrual_per_month = 2\ndlt_onset = \"late\"\n",
         r"dlt_onset: unknown onset 'late'; write \"uniform\", \{ weibull = 2.0 \}"),
        ("accrual_per_month = 2\ndlt_onset = \"unifrom\"\n", r"\(did you mean 'uniform'\?\)"),
        ("accrual_per_month = 2\ndlt_onset = { weibul = 2 }\n",
         r"dlt_onset: unknown key 'weibul' \(did you mean 'weibull'\?\)"),
        ("accrual_per_month = 2\ndlt_onset = { weibull = 2, late = 0.5 }\n", r"give one of weibull, late"),
        ("accrual_per_month = 2\ndlt_onset = {}\n", r"give one of weibull, late"),
        ("accrual_per_month = 2\ndlt_onset = { late = 1.5 }\n", r"late-onset fraction must be in \[0, 1\]"),
        ("accrual_per_month = 2\ndlt_onset = { late = \"most\" }\n", r"dlt_onset.late: must be a number"),
        ("accrual_per_month = 2\ndlt_onset = { weibull = 0 }\n", r"Weibull shape must be > 0"),
        ("accrual_per_month = 2\ndlt_onset = [\"late\", 0.7]\n", r"is not an onset; write \"uniform\""),
    ],
)  # fmt: skip
def test_bad_timeline_is_an_error_naming_the_key(tmp_path, text, match):
    with pytest.raises(ValueError, match=match) as exc:
        load_spec(_spec(tmp_path, text))
    assert "spec.toml" in str(exc.value)


def test_timeline_must_be_a_table(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text(HEAD.replace("n_trials = 40\n", "n_trials = 40\ntimeline = 3\n"))
    with pytest.raises(ValueError, match=r"\[simulation.timeline\]: must be a table"):
        load_spec(p)
    p.write_text(HEAD.replace("n_trials = 40\n", "n_trials = 40\ntimelin = 3\n"))
    with pytest.raises(ValueError, match=r"unknown key 'timelin' \(did you mean 'timeline'\?\)"):
        load_spec(p)


def test_study_rejects_a_timeline_that_is_not_one():
    proto = bd.protocols.bat6021()
    with pytest.raises(ValueError, match=r"timeline must be a bayes_dose\.Timeline, got dict"):
        bd.Study(proto, {"mono": {"3+3": bd.ThreePlusThree(8)}},
                 timeline={"accrual_per_month": 2})  # fmt: skip


# -- simulate_spec / Study.simulate == bd.simulate(timeline=) -----------------------------
def _identical(a, b):
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)


def test_simulate_spec_equals_simulate_with_the_same_timeline(tmp_path):
    spec = load_spec(_spec(tmp_path, "accrual_per_month = 3.0\ndlt_onset = { late = 0.6 }\n"
                                     "max_wait_days = 20\n"))  # fmt: skip
    sims = simulate_spec(spec, seed=11)
    ref = bd.simulate(spec.designs["mono"], scenarios=spec.scenarios("mono"), n_trials=40,
                      seed=11, progress=False, protocol=spec.protocol,
                      timeline=bd.Timeline(accrual_per_month=3.0, dlt_onset=("late", 0.6),
                                           max_wait_days=20))  # fmt: skip
    _identical(sims["mono"], ref)
    assert "duration_days" in sims["mono"] and (sims["mono"].duration_days > 0).all()
    assert manifest(sims["mono"])["timeline"]["dlt_onset"] == ["late", 0.6]
    # Study.simulate(timeline=) overrides the study's; a cohort-time study stays cohort time
    study = bd.Study.from_spec(load_spec(_spec(tmp_path, "interarrival_days = 30\n")))
    tl = bd.Timeline(accrual_per_month=3.0, dlt_onset=("late", 0.6), max_wait_days=20)
    _identical(study.simulate(40, 11, timeline=tl)["mono"], ref)
    p = tmp_path / "plain.toml"
    p.write_text(PLAIN)
    plain = simulate_spec(load_spec(p), seed=11)["mono"]
    assert "duration_days" not in plain
    _identical(plain, bd.simulate({k: v for k, v in spec.designs["mono"].items()
                                   if k != "TITE-BOIN"}, scenarios=spec.scenarios("mono"),
                                  n_trials=40, seed=11, progress=False))  # fmt: skip


def test_cli_simulate_with_a_timeline_reports_duration(tmp_path, capsys):
    path = _spec(tmp_path, "accrual_per_month = 3.0\n")
    assert cli.main(["simulate", "--spec", str(path), "--n-trials", "20", "--format", "json"]) == 0
    res = json.loads(capsys.readouterr().out)
    rows = res["operating characteristics"]
    spec = load_spec(path)
    sims = bd.simulate(spec.designs["mono"], scenarios=spec.scenarios("mono"), n_trials=20,
                       seed=11, progress=False, protocol=spec.protocol, timeline=spec.timeline)
    oc = bd.operating_characteristics(sims, target=0.25)
    for r in rows:
        o = oc.sel(design=r["design"], scenario=r["scenario"])
        m, se = float(o.mean_duration_months), float(o.mean_duration_months_se)
        assert r["E[months]"] == f"{m:.3f} ± {se:.3f}"
        q = " / ".join(f"{x:.2f}" for x in o.duration_months_q.values)
        assert r["months q10/50/90%"] == q
        assert r["E[turned away]"].startswith(f"{float(o.mean_turned_away):.3f}")


# -- the memo shows duration ---------------------------------------------------------------
@pytest.fixture(scope="module")
def timed_memo():
    spec_text = HEAD + ("[simulation.timeline]\naccrual_per_month = 3.0\n"
                        "dlt_onset = { late = 0.7 }\nmax_wait_days = 20\n")  # fmt: skip
    import tempfile
    from pathlib import Path

    p = Path(tempfile.mkdtemp()) / "spec.toml"
    p.write_text(spec_text)
    spec = load_spec(p)
    study = bd.Study.from_spec(spec, bd.examples.bat6021_outcomes().arm("mono"))
    sims = study.simulate(40)
    rep = bd.report(study.compare(), protocol=spec.protocol, simulation=dict(sims),
                    target=0.25)  # fmt: skip
    oc = bd.operating_characteristics(sims["mono"], target=0.25)
    return rep, oc


def _md_rows(md: str, header: str) -> list[list[str]]:
    """Rows (cells) of the Markdown tables whose header row starts with ``header``."""
    out, lines = [], md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(header):
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                out.append([c.strip() for c in lines[j].strip("|").split("|")])
                j += 1
    return out


def test_memo_shows_duration_rows_with_the_oc_numbers(timed_memo):
    rep, oc = timed_memo
    md = rep.markdown
    rows = _md_rows(md, "| Design | Mean duration (months) | 10% quantile (months) | Median "
                        "(months) | 90% quantile (months) | Mean days accrual suspended | Mean "
                        "patients turned away |")  # fmt: skip
    designs = [str(d) for d in oc.design.values]
    assert len(rows) == len(designs) * oc.sizes["scenario"] == 3
    for cells, d in zip(rows, designs, strict=True):
        o = oc.sel(design=d, scenario="MTD at 100 mg")
        assert cells[0] == d
        assert cells[1] == f"{float(o.mean_duration_months):.1f} ± " \
                           f"{float(o.mean_duration_months_se):.1f}"
        for k, q in enumerate((0.1, 0.5, 0.9)):
            v = float(o.duration_months_q.sel(quantile=q))
            se = float(o.duration_months_q_se.sel(quantile=q))
            assert cells[2 + k] == f"{v:.1f} ± {se:.1f}"
        assert cells[5] == f"{float(o.mean_suspended_days):.1f} ± " \
                           f"{float(o.mean_suspended_days_se):.1f}"
        assert cells[6] == f"{float(o.mean_turned_away):.2f} ± " \
                           f"{float(o.mean_turned_away_se):.2f}"
    assert "Simulated in calendar time: patients arrive as a Poisson process, 3 per month" in md
    assert "70% of DLTs appear in the second half of the 21-day DLT window" in md
    assert "waits for one up to 20 days, then is turned away" in md
    assert "Mean trial duration (months)" in md  # beside selection and safety
    html = rep.html
    assert 'class="oc-duration"' in html and "Simulated in calendar time" in html
    assert "90% quantile (months)" in html


def test_cohort_time_memo_has_no_duration(tmp_path):
    p = tmp_path / "spec.toml"
    p.write_text(PLAIN)
    study = bd.Study.from_spec(load_spec(p), bd.examples.bat6021_outcomes().arm("mono"))
    rep = bd.report(study.compare(), protocol=study.protocol,
                    simulation=dict(study.simulate(10)))  # fmt: skip
    assert "calendar time" not in rep.markdown and "oc-duration" not in rep.html
    assert "Mean duration (months)" not in rep.markdown


def test_bundled_spec_simulates_in_calendar_time():
    spec = load_spec(bundled_spec())
    assert spec.timeline == bd.Timeline(accrual_per_month=4.0)


def test_timeline_sentence_forms():
    from bayes_dose.calendar_oc import timeline_sentence

    s = timeline_sentence(bd.Timeline(interarrival_days=7, waiting="turn_away").spec())
    assert "one patient arrives every 7 days" in s and "is turned away" in s
    assert "a DLT appears on a day uniform over the DLT window" in s
    s = timeline_sentence(bd.Timeline(accrual_per_month=math.inf,
                                      dlt_onset=("weibull", 1.5)).spec())  # fmt: skip
    assert "every patient is available from day 0" in s and "Weibull" in s and "shape 1.5" in s
    assert "without a time limit" in s


# -- Outcomes.dlt_day ------------------------------------------------------------------------
BASE = {"patient_id": ["a", "b", "c"], "arm": ["mono"] * 3, "dose_level": [1, 1, 1],
        "dlt": [1, 0, 1]}  # fmt: skip


def test_dlt_day_is_read_and_kept():
    f = pd.DataFrame({**BASE, "dlt_day": [5, None, 21], "followup_days": [21, 21, 21]})
    out = bd.Outcomes.from_frame(f)
    assert out.to_frame()["dlt_day"].tolist()[0::2] == [5.0, 21.0]
    assert math.isnan(out.to_frame()["dlt_day"].iat[1])
    assert bd.Outcomes.from_frame(out.to_frame()) == out
    assert "dlt_day" in bd.outcomes.COLUMNS
    # without the column, every patient has none (NaN) and old data read as before
    plain = bd.Outcomes.from_frame(pd.DataFrame(BASE))
    assert plain.to_frame()["dlt_day"].isna().all()
    assert plain.counts()["dlt"].tolist() == out.counts()["dlt"].tolist()


def test_dlt_day_csv_round_trip(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("patient_id,arm,dose_level,dlt,dlt_day\n001,mono,1,1,4\n002,mono,1,0,\n"
                 "003,mono,2,unknown,\n")  # fmt: skip
    out = bd.Outcomes.read_csv(p)
    q = tmp_path / "d.csv"
    out.to_csv_frame().to_csv(q, index=False)
    back = bd.Outcomes.read_csv(q)
    assert back == out and back.to_frame()["dlt_day"].iat[0] == 4


@pytest.mark.parametrize(
    ("day", "dlt", "extra", "match"),
    [
        ("22", "1", {}, "field 'dlt_day': '22' is after the 21-day DLT window"),
        ("0", "1", {}, "field 'dlt_day': '0' is 0: day 1 is the day of the first dose"),
        ("-2", "1", {}, "field 'dlt_day': '-2' is negative"),
        ("4", "0", {}, "field 'dlt_day': '4' is given but dlt is 0: a DLT day belongs to a "
                       "patient with dlt = 1"),
        ("4", "unknown", {}, "field 'dlt_day': '4' is given but dlt is unknown"),
        ("2.5", "1", {}, "field 'dlt_day': '2.5' is not an integer"),
        ("soon", "1", {}, "field 'dlt_day': 'soon' is not a number"),
        ("9", "1", {"followup_days": "7"}, "field 'dlt_day': '9' is after the patient's "
                                           "followup_days \\(7\\)"),
    ],
)  # fmt: skip
def test_bad_dlt_day_in_csv_names_line_and_field(tmp_path, day, dlt, extra, match):
    cols = ["patient_id", "arm", "dose_level", "dlt", "dlt_day", *extra]
    good = ["001", "mono", "1", "0", "", *("21" for _ in extra)]
    bad = ["002", "mono", "1", dlt, day, *extra.values()]
    p = tmp_path / "c.csv"
    p.write_text("\n".join(",".join(r) for r in (cols, good, bad)) + "\n")
    with pytest.raises(ValueError, match=f"data file 'c.csv' line 3 \\(patient_id='002'\\) {match}"):
        bd.Outcomes.read_csv(p)


def test_bad_dlt_day_in_frame_names_row_and_field():
    f = pd.DataFrame({**BASE, "dlt_day": [3, 2, 30]})
    with pytest.raises(ValueError, match=r"Outcomes.from_frame: row 1 \(patient_id='b'\) field "
                                         r"'dlt_day': 2 is given but dlt is 0"):  # fmt: skip
        bd.Outcomes.from_frame(f)
    f = pd.DataFrame({**BASE, "dlt_day": [3, None, 30]})
    with pytest.raises(ValueError, match=r"row 2 \(patient_id='c'\) field 'dlt_day': 30.0 is "
                                         r"after the 21-day DLT window"):  # fmt: skip
        bd.Outcomes.from_frame(f)


def test_dlt_day_window_is_the_protocols():
    proto = bd.protocols.bat6021()
    p28 = bd.Protocol.from_dict({**proto.to_dict(), "dlt_window_days": 28})
    f = pd.DataFrame({**BASE, "dlt_day": [25, None, 3]})
    with pytest.raises(ValueError, match=r"'dlt_day': 25\.0 is after the 21-day DLT window"):
        bd.Outcomes.from_frame(f, protocol=proto)
    assert bd.Outcomes.from_frame(f, protocol=p28).to_frame()["dlt_day"].iat[0] == 25
    f = pd.DataFrame({**BASE, "dlt_day": [29, None, 3]})
    with pytest.raises(ValueError, match=r"'dlt_day': 29\.0 is after the 28-day DLT window"):
        bd.Outcomes.from_frame(f, protocol=p28)


def test_cli_report_with_a_timeline_writes_the_duration_tables(tmp_path, capsys):
    from importlib import resources

    path = _spec(tmp_path, "interarrival_days = 10\nwaiting = \"turn_away\"\n")
    data = tmp_path / "mono.csv"
    csv = resources.files("bayes_dose").joinpath("data/bat6021_example.csv").read_text()
    data.write_text(csv)
    spec = load_spec(path)
    # the spec has mono designs only: keep the mono patients (written back by to_csv_frame)
    bd.Outcomes.read_csv(data, protocol=spec.protocol).arm("mono").to_csv_frame().to_csv(
        data, index=False
    )
    assert cli.main(["report", "--spec", str(path), "--data", str(data), "--out",
                     str(tmp_path / "memo"), "--n-trials", "12"]) == 0  # fmt: skip
    md = (tmp_path / "memo" / "report.md").read_text()
    assert "one patient arrives every 10 days" in md and "is turned away" in md
    assert md.count("| Design | Mean duration (months) |") == 1
    sims = bd.simulate(spec.designs["mono"], scenarios=spec.scenarios("mono"), n_trials=12,
                       seed=11, progress=False, protocol=spec.protocol, timeline=spec.timeline)
    oc = bd.operating_characteristics(sims, target=0.25)
    o = oc.sel(design="TITE-BOIN", scenario="MTD at 100 mg")
    cell = f"{float(o.mean_duration_months):.1f} ± {float(o.mean_duration_months_se):.1f}"
    assert f"| TITE-BOIN | {cell} |" in md
