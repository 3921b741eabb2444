"""TOML design specs and CSV data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

import bayes_dose as bd
from bayes_dose.io import load_designs, load_spec, read_outcomes

BUNDLED = Path(str(resources.files("bayes_dose") / "data" / "bat6021_designs.toml"))


def test_bundled_spec():
    spec = load_spec(BUNDLED)
    assert spec.protocol.name == "BAT6021-001" and spec.seed == 2026
    d = load_designs(BUNDLED)
    assert d["mono"]["3+3"].titration_levels == 3  # per-arm override
    assert d["combo"]["3+3"].titration_levels == 0
    assert d["combo"]["3+3"].n_doses == 5  # filled in from the arm
    assert d["mono"]["3+3"].doses_mg == spec.protocol.arm("mono").doses_mg
    assert len(spec.scenarios("mono")["MTD at 300 mg"]) == 8


def _write(tmp_path, text):
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('[designs.a]\ntype = "ThreePlusThree"\n', "field 'protocol' is required"),
        ('protocol = "nope"\n[designs.a]\ntype = "ThreePlusThree"\n', "no bundled protocol"),
        ('protocol = "bat6021"\n', "no \\[designs.NAME\\]"),
        ('protocol = "bat6021"\n[designs.a]\ntype = "Nope"\n', "unknown design type 'Nope'"),
        ('protocol = "bat6021"\n[designs.a]\nvariant = "x"\n', "field 'type' is required"),
        ('protocol = "bat6021"\n[designs.a]\ntype = "3+3"\nfoo = 1\n', r"unknown parameter\(s\) \['foo'\]"),
        ('protocol = "bat6021"\n[designs.a]\ntype = "3+3"\narms = ["x"]\n', "unknown arm"),
        ('protocol = "bat6021"\nseed = "a"\n[designs.a]\ntype = "3+3"\n', "field 'seed'"),
        ('protocol = "bat6021"\n[designs.a\n', "design spec"),
    ],
)  # fmt: skip
def test_spec_errors(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        load_spec(_write(tmp_path, text))


def test_protocol_file_and_arm_subset(tmp_path):
    proto = bd.protocols.bat6021()
    proto.to_toml(tmp_path / "proto.toml")
    p = _write(tmp_path, 'protocol = "proto.toml"\n[designs.a]\ntype = "3+3"\narms = ["combo"]\n')
    d = load_designs(p)
    assert list(d) == ["combo"]


def test_read_outcomes(tmp_path):
    f = tmp_path / "d.csv"
    bd.examples.bat6021_frame().to_csv(f, index=False)
    out = read_outcomes(f, protocol=bd.protocols.bat6021())
    assert out == bd.examples.bat6021_outcomes()
    with pytest.raises(ValueError, match="not found"):
        read_outcomes(tmp_path / "missing.csv")


def test_combination_blrm_refers_to_the_mono_blrm():
    d = load_designs(BUNDLED)
    combo = d["combo"]["combo BLRM"]
    assert isinstance(combo, bd.CombinationBLRM) and combo.mono is d["mono"]["BLRM"]
    assert combo.doses == bd.protocols.bat6021().arm("combo").doses_mg


def test_design_reference_must_exist(tmp_path):
    text = ('protocol = "bat6021"\n[designs.c]\ntype = "CombinationBLRM"\narms = ["combo"]\n'
            'mono = "BLRM"\n')  # fmt: skip
    with pytest.raises(ValueError, match="no design 'BLRM' defined before it"):
        load_spec(_write(tmp_path, text))


def test_prior_table_becomes_the_prior_class(tmp_path):
    text = ('protocol = "bat6021"\n[designs.B]\ntype = "BLRM"\narms = ["mono"]\n'
            'reference_dose = 300\nprior = { mean = [-1.0, 0.0], sd = [1.0, 0.7], corr = 0.1 }\n')  # fmt: skip
    d = load_designs(_write(tmp_path, text))["mono"]["B"]
    assert isinstance(d.prior, bd.BLRMPrior) and d.prior.corr == 0.1
