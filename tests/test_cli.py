"""The command line: help, demo, clear errors."""

from __future__ import annotations

import pytest

from bayes_dose import cli


def test_help(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    assert "demo" in capsys.readouterr().out


def test_demo_prints_decisions(capsys, tmp_path):
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "MTD = level 6 (300 mg)" in text  # mono arm, 3+3 with titration
    assert "accelerated titration" in text
    assert "assumption" in text  # combo arm levels are an assumption
    assert (tmp_path / "outcomes.csv").exists()
