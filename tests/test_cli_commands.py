"""bayes-dose subcommands: recommend, simulate, paths, boundaries, report, demo."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xarray as xr

import bayes_dose as bd
from bayes_dose import cli
from bayes_dose.workflows import bundled_spec

SPEC = """
protocol = "bat6021"
seed = 11

[designs."3+3"]
type = "ThreePlusThree"
[designs."3+3".mono]
titration_levels = 3

[designs."3+3 esc"]
type = "ThreePlusThree"
variant = "escalation_only"
arms = ["combo"]

[simulation]
n_trials = 40
[simulation.scenarios.combo]
"MTD at 100 mg" = [0.08, 0.16, 0.33, 0.50, 0.65]
"""


@pytest.fixture
def spec(tmp_path) -> Path:
    p = tmp_path / "spec.toml"
    p.write_text(SPEC)
    return p


@pytest.fixture
def data(tmp_path) -> Path:
    p = tmp_path / "data.csv"
    bd.examples.bat6021_frame().to_csv(p, index=False)
    return p


def test_recommend_json(spec, data, capsys):
    assert (
        cli.main(["recommend", "--spec", str(spec), "--data", str(data), "--format", "json"]) == 0
    )
    obj = json.loads(capsys.readouterr().out)
    rec = {(r["arm"], r["design"]): r for r in obj["recommendations"]}
    assert rec[("mono", "3+3")]["mtd"] == 6 and rec[("mono", "3+3")]["rp2d_mg"] == 300.0
    assert rec[("combo", "3+3")]["rp2d"] == 2 and rec[("combo", "3+3 esc")]["stop"]
    assert obj["agreement"][0]["design"] == "3+3 esc" and obj["agreement"][0]["agree_rp2d"]


def test_recommend_table_to_file(spec, data, tmp_path):
    out = tmp_path / "rec.txt"
    assert cli.main(["recommend", "--spec", str(spec), "--data", str(data), "--arm", "combo",
                     "--out", str(out)]) == 0  # fmt: skip
    text = out.read_text()
    rec, notes = text.split("== patients not counted in full")
    assert "== recommendations" in rec and "combo" in rec and "mono" not in rec
    # the monotherapy patients are named as not analysed, not dropped without a word
    assert "[mono] not analysed: 18 patients" in notes


def test_recommend_bad_arm(spec, capsys):
    assert cli.main(["recommend", "--spec", str(spec), "--arm", "nope"]) == 2
    assert "--arm 'nope'" in capsys.readouterr().err


def test_paths(spec, tmp_path, capsys):
    plot = tmp_path / "tree.png"
    args = ["paths", "--spec", str(spec), "--arm", "combo", "--design", "3+3", "--cohorts",
            "3,3", "--true-tox", "0.1,0.2,0.3,0.4,0.5", "--format", "json", "--plot", str(plot)]  # fmt: skip
    assert cli.main(args) == 0
    text = capsys.readouterr().out
    obj = json.loads(text[text.index("{") :])
    assert len(obj["paths"]) == 13
    assert obj["summary"][0]["expected_n"] == pytest.approx(3 + 3 * (0.9**3 + 3 * 0.1 * 0.81))
    assert plot.stat().st_size > 1000
    # continue from the observed data: the combo 3+3 has stopped, a single node
    assert cli.main(["paths", "--spec", str(spec), "--arm", "combo", "--design", "3+3",
                     "--start", "--format", "json"]) == 0  # fmt: skip
    obj = json.loads(capsys.readouterr().out)
    assert len(obj["paths"]) == 1 and obj["paths"][0]["stop"]
    assert cli.main(["paths", "--spec", str(spec), "--design", "BOIN"]) == 2


def test_boundaries_decision_table(spec, capsys):
    assert cli.main(["boundaries", "--spec", str(spec), "--arm", "combo", "--n-max", "6",
                     "--format", "json"]) == 0  # fmt: skip
    obj = json.loads(capsys.readouterr().out)
    rows = next(v for k, v in obj.items() if k.startswith("decision table"))
    assert obj["protocol text (arm combo)"].startswith("3+3: 3+3: 0/3 DLTs")
    row = {(r["n"], r["dlt"]): r for r in rows}
    assert row[(3, 2)]["3+3"] == "D" and row[(3, 2)]["3+3 esc"] == "X"
    assert cli.main(["boundaries"]) == 2


def test_boundaries_spec_states_the_history_behind_the_table(spec, tmp_path, capsys):
    assert cli.main(["boundaries", "--spec", str(spec), "--arm", "mono", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert next(iter(obj)) == "history behind the decision table (arm mono)"
    assert obj["history behind the decision table (arm mono)"].splitlines() == [
        "cohort size 3: the cohort size of every design of arm mono in the spec",
        "n = 3, 6, 9 patients treated at the level named for each design below, y of them with DLTs; the last cohort "
        "of min(n, 3) patients holds min(y, 3) of the DLTs",
        "3+3: level 2 (3 mg), after level 1 (1 mg) with 3 patients and 0 DLTs",
        "3+3: its accelerated titration (levels 1-3) is switched off",
    ]
    # a design the table cannot show is named, not dropped in silence
    capsys.readouterr()
    assert cli.main(["boundaries", "--spec", str(bundled_spec()), "--arm", "combo",
                     "--up-to-n", "3"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "== history behind the decision table (arm combo)" in text
    assert "3+3, BOIN, CRM: level 2 (100 mg), after level 1 (30 mg) with 3 patients and 0 DLTs" in text
    assert "not in the table: combo BLRM (its decisions read the other arms' data)" in text
    # designs with different cohort sizes: refused unless --cohort-size says which step
    p = tmp_path / "sizes.toml"
    p.write_text('protocol = "bat6021"\n[designs."3+3"]\ntype = "ThreePlusThree"\n'
                 '[designs.BOIN]\ntype = "BOIN"\ntarget = 0.25\ncohort_size = 2\n')  # fmt: skip
    capsys.readouterr()
    assert cli.main(["boundaries", "--spec", str(p), "--arm", "combo"]) == 2
    err = capsys.readouterr().err
    assert "cohort sizes differ (3+3: 3, BOIN: 2)" in err and "--cohort-size" in err
    assert cli.main(["boundaries", "--spec", str(p), "--arm", "combo", "--cohort-size", "2"]) == 0
    assert "cohort size 2: --cohort-size" in capsys.readouterr().out


def test_boundaries_cohort_size_without_spec_is_refused(capsys):
    # the BOIN boundaries (--target) go patient by patient: a step in n would be ignored
    assert cli.main(["boundaries", "--target", "0.25", "--cohort-size", "7"]) == 2
    err = capsys.readouterr().err
    assert "--cohort-size" in err and "--spec" in err and "ignored" in err, err
    assert cli.main(["boundaries", "--target", "0.25", "--up-to-n", "3"]) == 0


def test_simulate_writes_netcdf(spec, tmp_path, capsys):
    out = tmp_path / "sims.nc"
    assert cli.main(["simulate", "--spec", str(spec), "--out", str(out), "--seed", "3",
                     "--n-trials", "30", "--format", "json"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    obj = json.loads(text[text.index("{") :])
    assert {r["design"] for r in obj["operating characteristics"]} == {"3+3", "3+3 esc"}
    ds = xr.open_dataset(out, group="combo", engine="h5netcdf")
    assert ds.sizes["trial"] == 30
    ds.close()


def test_simulate_names_every_design_it_leaves_out(spec, capsys):
    """The mono-arm 3+3 has no scenario in this spec: the output says so, not silence."""
    assert cli.main(["simulate", "--spec", str(spec), "--n-trials", "5", "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "3+3 (arm mono) not simulated: the spec gives no scenarios for this arm" in err


def test_report_command(spec, data, tmp_path):
    out = tmp_path / "memo"
    assert cli.main(["report", "--spec", str(spec), "--data", str(data), "--out", str(out),
                     "--n-trials", "20"]) == 0  # fmt: skip
    for name in ("report.html", "report.md", "manifest.json", "outcomes.csv", "comparison.csv",
                 "shadow.csv", "simulation.nc"):  # fmt: skip
        assert (out / name).exists(), name
    man = json.loads((out / "manifest.json").read_text())
    assert man["seed"] == 11 and set(man["inputs_sha256"]) >= {"spec", "data"}
    assert man["simulation"]["combo"]  # the simulation's own manifest is carried
    md = (out / "report.md").read_text()
    assert "Correct selection (%)" in md and "### Concordance" in md and "3+3 vs 3+3 esc" in md
    assert "±" in md  # Monte Carlo standard errors


class _Sections(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.imgs = [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section":
            self.ids.append(a.get("id"))
        self.imgs += tag == "img"


def test_demo_writes_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--out", str(out), "--n-trials", "20"]) == 0
    text = capsys.readouterr().out
    assert f"Wrote the report to {out / 'report.html'}" in text
    p = _Sections()
    p.feed((out / "report.html").read_text())
    # per arm a dose-toxicity figure and a patients-over-study-days timeline, plus one
    # figure per simulated scenario (4 per arm, true curves)
    assert "operating-characteristics" in p.ids and p.imgs == 2 * 2 + 2 * 4
    for name in ("report.md", "outcomes.csv", "comparison.csv", "simulation.nc", "manifest.json"):
        assert (out / name).exists(), name
    md = (out / "report.md").read_text()
    # every design is simulated: the combination BLRM borrows the observed mono data
    assert "Not simulated" not in md and "| combo BLRM | Selection (%) |" in md
