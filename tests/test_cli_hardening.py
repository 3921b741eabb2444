"""The command line never shows a traceback for bad input, writes what --out says, leaves
no partial output, and starts fast (issues 10 and 16)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose import cli

ROOT = Path(__file__).resolve().parents[1]

SPEC = """
protocol = "bat6021"
seed = 11

[designs."3+3"]
type = "ThreePlusThree"

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


def _fails(capsys, argv, *parts, code=2):
    """The command exits with ``code`` and one ``bayes-dose <cmd>: error:`` line."""
    rc = _run(argv)
    err = capsys.readouterr().err
    assert rc == code, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if "error" in ln]
    assert len(lines) == 1 and lines[0].startswith(f"bayes-dose {argv[0]}: error:"), err
    for part in parts:
        assert part in lines[0], err
    return lines[0]


def _run(argv) -> int:
    try:
        return cli.main(argv)
    except SystemExit as exc:  # argparse errors
        return int(exc.code)


# -- start-up ------------------------------------------------------------------------------
def test_cli_imports_no_heavy_modules():
    """``bayes-dose --help`` needs neither pandas, scipy, xarray nor PyMC (start-up < 1 s,
    measured in benchmarks/RESULTS.md)."""
    code = ("import sys, bayes_dose.cli as c; c.build_parser().format_help(); "
            "print(sorted(m for m in ('pandas', 'scipy', 'xarray', 'pymc', 'pytensor', "
            "'matplotlib') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_every_public_name_resolves_lazily():
    code = ("import bayes_dose as bd, bayes_dose.report, bayes_dose.simulate, "
            "bayes_dose.compare\n"
            "assert callable(bd.report) and callable(bd.simulate) and callable(bd.compare)\n"
            "missing = [n for n in bd.__all__ if getattr(bd, n, None) is None]\n"
            "assert not missing, missing\n"
            "assert set(bd.__all__) <= set(dir(bd))\n"
            "from bayes_dose import *\n"
            "print('ok', BOIN.__name__, report.__module__)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(ROOT / "src")})  # fmt: skip
    assert out.stdout.strip() == "ok BOIN bayes_dose.report", out.stderr
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        bd.nope  # noqa: B018


# -- argument values ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv",
    [
        ["simulate", "--n-trials", "0"],
        ["simulate", "--n-trials", "-3"],
        ["simulate", "--n-trials", "2.5"],
        ["report", "--out", "x", "--n-trials", "0"],
        ["demo", "--n-trials", "0"],
        ["recommend", "--seed", "-1"],
        ["paths", "--design", "3+3", "--max-rows", "0"],
    ],
)
def test_bad_numbers_are_argparse_errors(capsys, argv):
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert f"bayes-dose {argv[0]}: error: argument" in err and "Traceback" not in err


def test_spec_typo_is_one_error_line(tmp_path, capsys):
    p = tmp_path / "s.toml"
    p.write_text(SPEC.replace("seed = 11", "sede = 11"))
    _fails(capsys, ["recommend", "--spec", str(p)], "'sede'", "did you mean 'seed'")
    p.write_text(SPEC.replace("n_trials = 40", "n_trial = 40"))
    _fails(capsys, ["simulate", "--spec", str(p)], "'n_trial'", "'n_trials'")
    p.write_text(SPEC + '[designs.C]\ntype = "CRM"\ntarget = 0.25\n'
                 'skeleton = { half_width = 0.05, mtd_guess = 3 }\n')  # fmt: skip
    _fails(capsys, ["recommend", "--spec", str(p)], "design 'C'", "'half_width'", "'halfwidth'")


def test_data_directory_or_missing_file(spec, tmp_path, capsys):
    _fails(capsys, ["recommend", "--spec", str(spec), "--data", str(tmp_path)], "is a directory")
    _fails(capsys, ["report", "--spec", str(spec), "--data", str(tmp_path), "--out",
                    str(tmp_path / "m")], "is a directory")  # fmt: skip
    _fails(capsys, ["recommend", "--spec", str(spec), "--data", str(tmp_path / "no.csv")],
           "no such file")  # fmt: skip
    _fails(capsys, ["recommend", "--spec", str(tmp_path)], "is a directory")


def test_unexpected_errors_are_one_line_too(spec, capsys, monkeypatch):
    def boom(args):
        raise TypeError("something internal")

    monkeypatch.setitem(cli.COMMANDS, "recommend", (*cli.COMMANDS["recommend"][:2], boom))
    line = _fails(capsys, ["recommend", "--spec", str(spec)], "TypeError", "something internal",
                  code=1)  # fmt: skip
    assert cli.TRACEBACK_ENV in line
    monkeypatch.setenv(cli.TRACEBACK_ENV, "1")
    with pytest.raises(TypeError):
        cli.main(["recommend", "--spec", str(spec)])


# -- --out writes what its extension says ---------------------------------------------------------
def test_recommend_out_csv_is_csv(spec, data, tmp_path, capsys):
    out = tmp_path / "rec.csv"
    assert cli.main(["recommend", "--spec", str(spec), "--data", str(data), "--out",
                     str(out)]) == 0  # fmt: skip
    rec = pd.read_csv(out)
    assert {"arm", "design", "next_dose", "rp2d"} <= set(rec.columns) and len(rec) == 2
    agreement = pd.read_csv(tmp_path / "rec_agreement.csv")
    assert "design" in agreement.columns
    man = json.loads((tmp_path / "rec_manifest.json").read_text())
    assert man["inputs"]["data"]["sha256"] and man["version"] == bd.__version__
    text = capsys.readouterr().out
    assert f"Wrote {out}" in text


def test_recommend_out_json_carries_the_manifest(spec, data, tmp_path):
    import hashlib

    out = tmp_path / "rec.json"
    assert cli.main(["recommend", "--spec", str(spec), "--data", str(data), "--out",
                     str(out)]) == 0  # fmt: skip
    obj = json.loads(out.read_text())
    assert len(obj["recommendations"]) == 2
    man = obj["manifest"]
    assert man["inputs"]["spec"]["sha256"] == hashlib.sha256(spec.read_bytes()).hexdigest()
    assert man["designs"]["mono"]["3+3"]["design"] == "ThreePlusThree"
    assert man["protocol"] == "BAT6021-001"


def test_out_extension_clash_or_unknown_is_refused(spec, data, tmp_path, capsys):
    base = ["recommend", "--spec", str(spec), "--data", str(data)]
    _fails(capsys, [*base, "--out", str(tmp_path / "r.xlsx")], "unknown extension '.xlsx'")
    _fails(capsys, [*base, "--out", str(tmp_path / "r.csv"), "--format", "json"],
           "extension says csv")  # fmt: skip
    assert not list(tmp_path.glob("r.*"))
    _fails(capsys, ["simulate", "--spec", str(spec), "--out", str(tmp_path / "sims.csv")],
           "NetCDF", "*.nc")  # fmt: skip
    assert not (tmp_path / "sims.csv").exists()


def test_simulate_json_carries_the_simulation_manifest(spec, capsys):
    assert cli.main(["simulate", "--spec", str(spec), "--n-trials", "10", "--format",
                     "json"]) == 0  # fmt: skip
    captured = capsys.readouterr()
    obj = json.loads(captured.out)
    assert obj["manifest"]["seed"] == 11
    assert obj["manifest"]["simulation"]["combo"]["n_trials"] == 10


# -- report: no partial folder, progress ---------------------------------------------------
def test_failed_report_leaves_no_folder(spec, data, tmp_path, capsys, monkeypatch):
    def boom(*a, **k):
        raise ValueError("rendering failed")

    # the module, imported here: run alone, nothing has imported it yet (lazy package names)
    monkeypatch.setattr(importlib.import_module("bayes_dose.report"), "report", boom)
    out = tmp_path / "memo"
    _fails(capsys, ["report", "--spec", str(spec), "--data", str(data), "--out", str(out),
                    "--n-trials", "10"], "rendering failed")  # fmt: skip
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv", "spec.toml"]
    # an existing folder keeps its files
    out.mkdir()
    (out / "keep.txt").write_text("x")
    _fails(capsys, ["report", "--spec", str(spec), "--data", str(data), "--out", str(out),
                    "--n-trials", "10"], "rendering failed")  # fmt: skip
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_report_progress_and_files(spec, data, tmp_path, capsys):
    out = tmp_path / "memo"
    assert cli.main(["report", "--spec", str(spec), "--data", str(data), "--out", str(out),
                     "--n-trials", "10"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert "bayes-dose" not in err or "error" not in err
    assert "report: simulating" in err and "done in" in err
    assert (out / "report.html").exists() and (out / "manifest.json").exists()
    assert not list(tmp_path.glob(".memo.*"))


def test_report_out_is_a_file(spec, data, tmp_path, capsys):
    f = tmp_path / "memo"
    f.write_text("")
    _fails(capsys, ["report", "--spec", str(spec), "--data", str(data), "--out", str(f)],
           "is a file")  # fmt: skip


# -- paths: summary first, the full tree to --out -----------------------------------------------
def test_paths_large_tree_is_summarised(spec, tmp_path, capsys):
    argv = ["paths", "--spec", str(spec), "--arm", "combo", "--design", "3+3", "--cohorts",
            "full", "--max-rows", "20"]  # fmt: skip
    assert cli.main(argv) == 0
    captured = capsys.readouterr()
    assert "== tree summary" in captured.out and "== paths" not in captured.out
    assert "give --out" in captured.err
    nodes = int(captured.out.split("\n")[2].split()[0])
    assert nodes > 20
    out = tmp_path / "tree.csv"
    assert cli.main([*argv, "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "== tree summary" in captured.out  # the summary still printed first
    assert len(pd.read_csv(out)) == nodes  # the whole tree in the file
    assert pd.read_csv(tmp_path / "tree_tree_summary.csv")["nodes"].item() == nodes


def test_paths_tree_size_guard(tmp_path, capsys):
    """BOIN without max_n never stops: the full horizon is refused at --max-nodes, with
    one error line, instead of filling the memory."""
    p = tmp_path / "s.toml"
    p.write_text('protocol = "bat6021"\n[designs.B]\ntype = "BOIN"\ntarget = 0.25\n')
    _fails(capsys, ["paths", "--spec", str(p), "--design", "B", "--cohorts", "full",
                    "--max-nodes", "1000"], "exceed 1,000 nodes", "max_n")  # fmt: skip
    with pytest.raises(ValueError, match="exceed 50 nodes"):
        bd.dose_paths(bd.BOIN(target=0.25, n_doses=5), None, max_nodes=50)
    assert bd.dose_paths(bd.ThreePlusThree(5), None, max_nodes=1229).n_nodes == 1229


def test_steps_report_duration_and_failure():
    import io
    import time

    from bayes_dose.cli_util import Steps

    class Tty(io.StringIO):
        def isatty(self):
            return True

    log = io.StringIO()
    with Steps("demo", log)("fitting"):
        pass
    with pytest.raises(ValueError), Steps("demo", log)("rendering"):
        raise ValueError("x")
    assert log.getvalue().splitlines() == [
        "demo: fitting ...", log.getvalue().splitlines()[1], "demo: rendering ...",
        log.getvalue().splitlines()[3]]  # fmt: skip
    assert "fitting: done in" in log.getvalue() and "rendering: failed after" in log.getvalue()
    tty = Tty()
    with Steps("demo", tty)("compiling"):
        time.sleep(1.3)  # the clock ticks once a second
    assert "\rdemo: compiling ... 1 s" in tty.getvalue() and "done in 1." in tty.getvalue()
