"""CLI: --borrowing replaces the borrowing model of the spec's combination BLRM; `simulate`
runs the combination BLRM with the mono arm as one programme and says so."""

import json

import pytest

import bayes_dose as bd
from bayes_dose import cli
from bayes_dose.examples import bat6021_outcomes
from bayes_dose.io import load_spec
from bayes_dose.workflows import bundled_spec


@pytest.mark.parametrize("choice", ["none", "exnex"])
def test_borrowing_flag_equals_the_design_with_that_model(choice, capsys):
    assert cli.main(["recommend", "--arm", "combo", "--borrowing", choice, "--format",
                     "json"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    rows = json.loads(out[out.index("{"):])["recommendations"]
    got = next(r for r in rows if r["design"] == "combo BLRM")
    base = load_spec(bundled_spec()).designs["combo"]["combo BLRM"]
    model = "none" if choice == "none" else bd.EXNEX(p_exch=0.5)
    fit = base.replace(borrow=None, borrowing=model).fit(bat6021_outcomes())
    lv = int(got["rp2d"])
    assert got["prob_tox_rp2d"] == pytest.approx(float(fit.prob_tox.to_numpy()[lv - 1]), abs=1e-9)
    full = base.fit(bat6021_outcomes())  # the spec's model (full pooling) differs
    assert abs(got["prob_tox_rp2d"] - float(full.prob_tox.to_numpy()[lv - 1])) > 1e-4


def test_borrowing_flag_without_a_borrowing_design_fails():
    from bayes_dose.cli import _with_borrowing

    spec = load_spec(bundled_spec())
    spec.designs["combo"].pop("combo BLRM")
    with pytest.raises(ValueError, match="--borrowing exnex: no design of the spec borrows"):
        _with_borrowing(spec, "exnex")
