"""Nothing silent (audit findings on recommend and specs):

1. data of an arm without designs (and that no design borrows from) are named with their
   patient count in the comparison, the ``recommend`` output and the memo, not dropped;
2. a spec design whose doses differ from its protocol arm's dose grid is a ``ValueError``
   of :func:`bayes_dose.io.load_spec` naming the file, the design and the field;
3. a spec setting nothing reads (sampler settings without ``[analysis] mcmc``,
   ``programme_n_trials`` without a borrowing design, scenarios of an arm without designs,
   ``response_day`` without response curves) is a ``ValueError`` naming the key, as
   ``correlation`` without response curves already was.
"""

from __future__ import annotations

import json

import pytest

import bayes_dose as bd
from bayes_dose.cli import _bundled_spec, main
from bayes_dose.io import load_spec

N_MONO, N_COMBO = 18, 15  # patients per arm of the bundled example


@pytest.fixture(scope="module")
def out():
    return bd.examples.bat6021_outcomes()


@pytest.fixture(scope="module")
def proto():
    return bd.protocols.bat6021()


# -- 1. arms without designs --------------------------------------------------------------
def test_example_sizes(out):
    assert (len(out.arm("mono")), len(out.arm("combo"))) == (N_MONO, N_COMBO)


def test_compare_names_the_arm_it_did_not_analyse(out):
    cmp = bd.compare({"mono": {"3+3": bd.ThreePlusThree(8)}}, out)
    assert cmp.not_analysed == {"combo": N_COMBO}
    (note,) = cmp.not_analysed_notes()
    assert "[combo] not analysed" in note and f"{N_COMBO} patients" in note
    assert note in str(cmp) and "Data not analysed" in cmp._repr_html_()
    # every arm with designs: nothing left out
    both = bd.compare({"mono": {"3+3": bd.ThreePlusThree(8)},
                       "combo": {"3+3": bd.ThreePlusThree(5)}}, out)  # fmt: skip
    assert both.not_analysed == {} and both.not_analysed_notes() == []


def test_study_compare_names_the_arm_it_did_not_analyse(out, proto):
    study = bd.Study(proto, {"mono": {"3+3": bd.ThreePlusThree(8)}}, data=out)
    cmp = study.compare()
    assert cmp.not_analysed == {"combo": N_COMBO}
    assert set(cmp.outcomes) == {"mono"}  # the data analysed, as before
    # data given per arm
    per_arm = bd.Study(proto, {"combo": {"3+3": bd.ThreePlusThree(5)}},
                       data={"mono": out.arm("mono"), "combo": out.arm("combo")})  # fmt: skip
    assert per_arm.compare().not_analysed == {"mono": N_MONO}


def test_a_borrowing_design_reads_the_other_arm_on_purpose(out):
    spec = load_spec(_bundled_spec())
    combo = spec.designs["combo"]["combo BLRM"]
    study = bd.Study(spec.protocol, {"combo": {"combo BLRM": combo}}, data=out)
    cmp = study.compare()
    assert cmp.not_analysed == {}
    assert set(cmp.outcomes) == {"mono", "combo"}
    assert cmp.table()["prob_tox_rp2d"].iat[0] == pytest.approx(0.0860, abs=1e-3)


def test_memo_states_the_arm_not_analysed(out):
    cmp = bd.compare({"mono": {"3+3": bd.ThreePlusThree(8)}}, out)
    rep = bd.report(cmp)
    assert f"[combo] not analysed: {N_COMBO} patients" in rep.markdown
    assert f"[combo] not analysed: {N_COMBO} patients" in rep.html


def test_cli_recommend_names_the_arm_it_did_not_analyse(capsys):
    assert main(["recommend", "--arm", "mono", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert {r["arm"] for r in obj["recommendations"]} == {"mono"}
    notes = [r["note"] for r in obj["patients not counted in full"]]
    assert any(n.startswith(f"[combo] not analysed: {N_COMBO} patients") for n in notes), notes
    # the spec has combination designs: --arm left them out, not their absence
    (note,) = [n for n in notes if "not analysed" in n]
    assert "no design here is for this arm" not in note and "--arm mono" in note, note
    # the combination arm borrows from the monotherapy arm: nothing left out
    assert main(["recommend", "--arm", "combo", "--format", "json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    notes = [r["note"] for r in obj.get("patients not counted in full", [])]
    assert not any("not analysed" in n for n in notes), notes


# -- 2. design doses that differ from the protocol arm ---------------------------------------
HEAD = 'protocol = "bat6021"\n'
COMBO_SCEN = '[simulation.scenarios.combo]\n"s" = [0.05, 0.1, 0.25, 0.4, 0.55]\n'


def _write(tmp_path, text):
    p = tmp_path / "spec.toml"
    p.write_text(text)
    return p


def _refused(path, parts):
    """load_spec refuses the spec with a message naming the file and every part."""
    with pytest.raises(ValueError) as exc:
        load_spec(path)
    msg = str(exc.value)
    assert str(path) in msg, msg
    for part in parts:
        assert part in msg, msg


@pytest.mark.parametrize(
    ("table", "parts"),
    [
        ('[designs.BLRM]\ntype = "BLRM"\narms = ["mono"]\nreference_dose = 300\n'
         "doses = [1, 3, 10, 30, 100, 300, 500, 900]\n",
         ["design 'BLRM' (arm 'mono')", "field 'doses'", "[1, 3, 10, 30, 100, 300, 500, 900]",
          "[1, 3, 10, 30, 100, 300, 600, 900]"]),
        ('[designs.B]\ntype = "BOIN"\ntarget = 0.25\n[designs.B.combo]\n'
         "doses_mg = [30, 100, 300, 600, 1200]\n",
         ["design 'B' (arm 'combo')", "field 'doses_mg'", "[30, 100, 300, 600, 1200]",
          "[30, 100, 300, 600, 900]"]),
    ],
)  # fmt: skip
def test_spec_doses_other_than_the_protocol_arm_are_an_error(tmp_path, table, parts):
    _refused(_write(tmp_path, HEAD + table), parts)


def test_spec_doses_equal_to_the_protocol_arm_load(tmp_path):
    path = _write(tmp_path, HEAD + '[designs.BLRM]\ntype = "BLRM"\narms = ["mono"]\n'
                  "reference_dose = 300\ndoses = [1, 3, 10, 30, 100, 300, 600, 900.0]\n")  # fmt: skip
    blrm = load_spec(path).designs["mono"]["BLRM"]
    assert tuple(blrm.doses_mg) == (1, 3, 10, 30, 100, 300, 600, 900)


def test_cli_simulate_refuses_spec_doses_other_than_the_protocol_arm(tmp_path, capsys):
    path = _write(tmp_path, HEAD + '[designs.B]\ntype = "BOIN"\ntarget = 0.25\nmax_n = 12\n'
                  'arms = ["combo"]\ndoses_mg = [30, 100, 300, 600, 1200]\n'
                  "[simulation]\nn_trials = 5\n" + COMBO_SCEN)  # fmt: skip
    assert main(["simulate", "--spec", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "spec.toml" in err and "field 'doses_mg'" in err and "1200" in err


# -- 3. settings nothing reads ------------------------------------------------------------------
BOIN = '[designs.B]\ntype = "BOIN"\ntarget = 0.25\n'
MONO_SCEN = '[simulation.scenarios.mono]\n"s" = [0.01, 0.02, 0.04, 0.1, 0.25, 0.45, 0.6, 0.7]\n'


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (HEAD + BOIN + "[analysis]\ndraws = 10\n",
         ["[analysis] draws", "ignored", "[analysis] mcmc"]),
        (HEAD + BOIN + "[analysis]\nmcmc = []\ntune = 5\nchains = 2\n",
         ["[analysis] tune, chains", "ignored"]),
        (HEAD + BOIN + "[simulation]\nprogramme_n_trials = 5\n" + MONO_SCEN,
         ["[simulation] programme_n_trials", "ignored", "borrows"]),
        (HEAD + BOIN.replace("0.25\n", '0.25\narms = ["mono"]\n') + "[simulation]\n"
         + MONO_SCEN + COMBO_SCEN,
         ["[simulation.scenarios.combo]", "ignored", "no designs"]),
        (HEAD + BOIN + "[simulation]\n" + MONO_SCEN
         + "[simulation.timeline]\naccrual_per_month = 2.0\nresponse_day = 28\n",
         ["[simulation.timeline] response_day", "ignored", "[simulation.efficacy.ARM]"]),
    ],
)  # fmt: skip
def test_ignored_spec_settings_are_errors(tmp_path, text, parts):
    _refused(_write(tmp_path, text), parts)


def test_programme_n_trials_needs_scenarios_of_both_arms(tmp_path):
    text = _bundled_spec().read_text()
    start = text.index("[simulation.scenarios.combo]")
    no_combo = text[:start] + text[text.index("[analysis]"):]
    with pytest.raises(ValueError) as exc:
        load_spec(_write(tmp_path, no_combo))
    msg = str(exc.value)
    assert "[simulation] programme_n_trials" in msg and "'combo'" in msg and "'mono'" in msg


def test_settings_that_are_read_still_load(tmp_path):
    spec = load_spec(_bundled_spec())  # mcmc settings, programme_n_trials with combo BLRM
    assert spec.simulation["programme_n_trials"] == 10 and spec.analysis["draws"] == 1000
    blrm = '[designs.L]\ntype = "BLRM"\narms = ["mono"]\nreference_dose = 300\n'
    ok = HEAD + BOIN + blrm + '[analysis]\nmcmc = ["L"]\ndraws = 10\n[simulation]\n' + MONO_SCEN
    assert load_spec(_write(tmp_path, ok)).mcmc(1) == (["L"], {"draws": 10, "random_seed": 1})


def test_programme_n_trials_needs_scenarios_that_pair(tmp_path):
    # Study.simulate pairs the two arms' scenarios by name, else by position when the
    # counts agree; here neither (4 mono scenarios, 3 combo ones under other names), so no
    # programme is simulated and programme_n_trials would be ignored
    text = _bundled_spec().read_text()
    combo = text[text.index("[simulation.scenarios.combo]"):text.index("# Designs decide")]
    unpaired = ('[simulation.scenarios.combo]\n"low" = [0.04, 0.10, 0.25, 0.45, 0.60]\n'
                '"high" = [0.10, 0.25, 0.45, 0.60, 0.70]\n"safe" = [0.02, 0.04, 0.06, 0.08, 0.10]\n\n')
    path = _write(tmp_path, text.replace(combo, unpaired))
    st = bd.Study.from_spec(load_spec(_bundled_spec()))
    assert st._programme_designs(list(st.designs))  # the bundled scenarios pair (by name)
    with pytest.raises(ValueError) as exc:
        load_spec(path)
    msg = str(exc.value)
    assert "[simulation] programme_n_trials" in msg and "ignored" in msg, msg
    assert "4 scenarios" in msg and "3 scenarios" in msg, msg
    # same count, other names: paired in the order given, so it is read
    three = unpaired + '"toxic" = [0.45, 0.55, 0.65, 0.75, 0.85]\n'
    spec = load_spec(_write(tmp_path, text.replace(combo, three)))
    st = bd.Study.from_spec(spec)
    assert spec.simulation["programme_n_trials"] == 10
    assert st._programme_designs(list(st.designs))["combo"]["how"].startswith("in the order")
