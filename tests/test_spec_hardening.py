"""TOML specs: typos, wrong types and bad values are errors naming the place (issues 10, 16)."""

from __future__ import annotations

from fractions import Fraction

import pytest

import bayes_dose as bd
from bayes_dose.io import load_spec
from bayes_dose.protocol import MTDRule

HEAD = 'protocol = "bat6021"\nseed = 3\n'
DESIGNS = '[designs.B]\ntype = "BOIN"\ntarget = 0.25\n'
SIM = '[simulation]\nn_trials = 50\ntarget = 0.25\n[simulation.scenarios.mono]\n"s" = [0.01, 0.02, 0.04, 0.1, 0.25, 0.45, 0.6, 0.7]\n'  # fmt: skip


def _load(tmp_path, text):
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return load_spec(p)


def _err(tmp_path, text, *parts):
    with pytest.raises(ValueError) as exc:
        _load(tmp_path, text)
    msg = str(exc.value)
    assert "spec.toml" in msg, msg
    for part in parts:
        assert part in msg, msg
    return msg


def test_valid_spec_loads(tmp_path):
    spec = _load(tmp_path, HEAD + DESIGNS + SIM)
    assert spec.seed == 3 and spec.simulation["n_trials"] == 50
    assert spec.scenarios("mono")["s"][4] == 0.25


# -- issue 10 item 9 / issue 16 silent 4: unknown keys, with the nearest valid name ----------
@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (HEAD + "sede = 1\n" + DESIGNS, ["'sede'", "did you mean 'seed'"]),
        ('protocol = "bat6021"\nsed = 5\n' + DESIGNS, ["'sed'", "'seed'"]),
        (HEAD + DESIGNS + "[simulaton]\nn_trials = 5\n", ["'simulaton'", "'simulation'"]),
        (HEAD + DESIGNS + "[simulation]\nn_trial = 5000\n", ["[simulation]", "'n_trial'",
                                                              "'n_trials'"]),
        (HEAD + DESIGNS + "[simulation]\ntargt = 0.25\n", ["'targt'", "'target'"]),
        (HEAD + DESIGNS + "[analysis]\ndrawz = 10\n", ["[analysis]", "'drawz'", "'draws'"]),
        (HEAD + DESIGNS + "[analysis]\ndraw = 10\n", ["'draw'", "'draws'"]),
        (HEAD + DESIGNS + '[simulation.scenarios.combi]\n"s" = [0.1, 0.2, 0.3, 0.4, 0.5]\n',
         ["combi", "not an arm", "'combo'"]),
        (HEAD + '[designs.B]\ntype = "BOIN"\ntargt = 0.25\n', ["design 'B'", "'targt'",
                                                               "did you mean 'target'"]),
        (HEAD + '[designs.B]\ntype = "BION"\n', ["design 'B'", "'BION'", "'BOIN'"]),
        (HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\n[designs.B.mnoo]\nmax_n = 9\n',
         ["'mnoo'", "'mono'"]),
        (HEAD + DESIGNS + '[analysis]\nmcmc = ["BLRM"]\n', ["[analysis] mcmc", "BLRM"]),
    ],
)  # fmt: skip
def test_unknown_keys_name_the_nearest_valid_one(tmp_path, text, parts):
    _err(tmp_path, text, *parts)


def test_override_of_an_arm_outside_arms(tmp_path):
    text = (HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\narms = ["mono"]\n'
            '[designs.B.combo]\nmax_n = 9\n')  # fmt: skip
    _err(tmp_path, text, "design 'B'", "'combo'", "not in the design's arms")


# -- issue 16 silent 5-7: exact types, no truncation, no truthy strings, finite numbers ----
@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\ncohort_size = 3.7\n',
         ["design 'B'", "field 'cohort_size'", "integer", "3.7"]),
        (HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\ncohort_size = true\n',
         ["field 'cohort_size'", "integer"]),
        (HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\nextrasafe = "no"\n',
         ["design 'B'", "field 'extrasafe'", "true or false", "'no'"]),
        (HEAD + '[designs.B]\ntype = "BOIN"\ntarget = nan\n', ["field 'target'", "finite"]),
        (HEAD + '[designs.B]\ntype = "BOIN"\ntarget = "0.25"\n', ["field 'target'", "number"]),
        (HEAD + DESIGNS + "[simulation]\nn_trials = 1.9\n", ["[simulation] n_trials", "integer"]),
        (HEAD + DESIGNS + "[simulation]\nn_trials = 0\n", ["[simulation] n_trials", ">= 1"]),
        ('protocol = "bat6021"\nseed = true\n' + DESIGNS, ["field 'seed'", "integer"]),
        ('protocol = "bat6021"\nseed = -1\n' + DESIGNS, ["field 'seed'", ">= 0"]),
        (HEAD + DESIGNS + "[simulation]\ntarget = nan\n", ["[simulation] target", "finite"]),
        (HEAD + DESIGNS + "[simulation]\ntarget = 1.5\n", ["[simulation] target", "(0, 1)"]),
        (HEAD + DESIGNS + '[simulation.scenarios.mono]\n"s" = [0.1, 0.2]\n',
         ["'s'", "2 values for 8 dose levels"]),
        (HEAD + DESIGNS + '[simulation.scenarios.mono]\n"s" = [0.01, 0.02, 0.04, 0.1, 0.25, 0.45, 0.6, 1.7]\n',
         ["'s'", "[0, 1]", "1.7"]),
        (HEAD + DESIGNS + '[simulation.scenarios.mono]\n"s" = [0.01, 0.02, 0.04, 0.1, 0.25, 0.45, 0.6, nan]\n',
         ["'s'", "finite"]),
        (HEAD + DESIGNS + "[analysis]\ndraws = 2.5\n", ["[analysis] draws", "integer"]),
        (HEAD + '[designs.L]\ntype = "BLRM"\narms = ["mono"]\nreference_dose = 300\n'
         'prior = { mean = [-1.0, 0.0], sd = [1.0, 0.7], corr = "x" }\n',
         ["design 'L'", "prior", "corr", "number"]),
        (HEAD + '[designs.L]\ntype = "BLRM"\narms = ["mono"]\nreference_dose = 300\n'
         'prior = { mean = [-1.0, 0.0], sdd = [1.0, 0.7] }\n', ["'sdd'", "'sd'"]),
    ],
)  # fmt: skip
def test_wrong_types_are_errors_naming_design_and_field(tmp_path, text, parts):
    _err(tmp_path, text, *parts)


# -- issue 16 crashes and vague errors: skeleton tables, arms as a string ----------------
CRM = '[designs.C]\ntype = "CRM"\ntarget = 0.25\narms = ["combo"]\n'


@pytest.mark.parametrize(
    ("skeleton", "parts"),
    [
        ("{ half_width = 0.05, mtd_guess = 3 }", ["design 'C'", "field 'skeleton'",
                                                   "'half_width'", "'halfwidth'"]),
        ("{ halfwidth = 0.05 }", ["field 'skeleton'", "missing", "mtd_guess"]),
        ("{ halfwidth = 0.05, mtd_guess = 2.5 }", ["skeleton", "mtd_guess", "integer"]),
        ("{ halfwidth = 0.05, mtd_guess = 9 }", ["skeleton", "mtd_guess must be in 1..5"]),
        ("[0.05, 0.1, 0.25]", ["design 'C'", "field 'skeleton'", "3 values", "5 dose levels"]),
        ('"0.1"', ["field 'skeleton'", "list"]),
    ],
)  # fmt: skip
def test_skeleton_errors(tmp_path, skeleton, parts):
    msg = _err(tmp_path, HEAD + CRM + f"skeleton = {skeleton}\n", *parts)
    assert "doses_mg" not in msg


def test_arms_as_a_string_is_an_error(tmp_path):
    text = HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\narms = "mono"\n'
    _err(tmp_path, text, "design 'B'", "field 'arms'", "list of arm names")


def test_arms_typo_names_the_nearest_arm(tmp_path):
    text = HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\narms = ["mnoo"]\n'
    _err(tmp_path, text, "unknown arm", "'mono'")


def test_directory_and_non_utf8_spec(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        load_spec(tmp_path)
    p = tmp_path / "bad.toml"
    p.write_bytes(b'protocol = "\xff"\n')
    with pytest.raises(ValueError, match=r"bad\.toml"):
        load_spec(p)


# -- the protocol's MTD rule is used by the 3+3 built from the spec -------------------------
def test_spec_built_three_plus_three_uses_the_protocols_mtd_rule(tmp_path):
    """Level 2 has 1/6 and level 3 has 2/3: the protocol's "<= 1/6 of >= 6" gives MTD 2; a
    protocol whose MTD needs 0 DLTs ("<= 0 of >= 6") gives none."""
    out = bd.Outcomes.parse("1NNN 2NNN 2NTN 3TTN")
    d = _load(tmp_path, HEAD + '[designs."3+3"]\ntype = "3+3"\n').designs["mono"]["3+3"]
    assert d.mtd_rule == bd.protocols.bat6021().mtd_rule
    assert d.fit(out).mtd == 2
    strict = bd.protocols.bat6021()
    strict.to_toml(tmp_path / "p.toml")
    text = (tmp_path / "p.toml").read_text().replace('max_dlt_fraction = "1/6"',
                                                    'max_dlt_fraction = "0"')  # fmt: skip
    (tmp_path / "p.toml").write_text(text)
    spec = _load(tmp_path, 'protocol = "p.toml"\n[designs."3+3"]\ntype = "3+3"\n')
    d0 = spec.designs["mono"]["3+3"]
    assert d0.mtd_rule == MTDRule(Fraction(0), 6)
    assert d0.fit(out).mtd is None
    # the rule of the protocol and MTDRule.acceptable agree cell by cell
    assert MTDRule().acceptable(6, 1) and not MTDRule(Fraction(0), 6).acceptable(6, 1)


def test_protocol_reference_errors(tmp_path):
    _err(tmp_path, 'protocol = "bat6012"\n' + DESIGNS, "'bat6012'", "did you mean 'bat6021'")
    _err(tmp_path, 'protocol = "Protocol"\n' + DESIGNS, "no bundled protocol or file 'Protocol'")
    bd.protocols.bat6021().to_toml(tmp_path / "p.toml")
    text = (tmp_path / "p.toml").read_text().replace("[staggering]\n", "[staggering]\nfoo = 1\n")
    (tmp_path / "p.toml").write_text(text)
    _err(tmp_path, 'protocol = "p.toml"\n' + DESIGNS, "protocol file", "p.toml", "foo")
