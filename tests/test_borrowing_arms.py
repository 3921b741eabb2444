"""Borrowing from the monotherapy arm is never dropped silently (issue 10 item 3).

On the bundled BAT6021 example the combination BLRM of the bundled spec (grid
13 x 13 x 25 x 41) recommends level 2 (100 mg) with posterior mean P(DLT) 0.0860 when it
borrows the monotherapy data and 0.0999 without them; ``fit(out.arm("combo"))`` and
``bayes-dose recommend --arm combo`` used to give the latter while claiming to borrow.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.cli import _bundled_spec, main, simulate_spec
from bayes_dose.compare import reads_all_arms
from bayes_dose.io import load_spec

WITH, WITHOUT = 0.0860, 0.0999  # P(DLT) at the RP2D (100 mg), with / without borrowing


@pytest.fixture(scope="module")
def spec():
    return load_spec(_bundled_spec())


@pytest.fixture(scope="module")
def out():
    return bd.examples.bat6021_outcomes()


def _p_rp2d(fit) -> float:
    level, _ = bd.recommend_rp2d(fit, "combo")
    assert level == 2
    return float(fit.prob_tox.to_numpy()[level - 1])


def test_combo_arm_alone_is_an_error_not_a_fit_without_borrowing(spec, out):
    combo = spec.designs["combo"]["combo BLRM"]
    assert combo.borrow
    with pytest.raises(ValueError, match=r"needs the monotherapy arm's data.*\('combo',\)"):
        combo.fit(out.arm("combo"))
    with pytest.raises(ValueError, match="needs the monotherapy arm's data"):
        combo.fit({"combo": out.arm("combo"), "mono": bd.Outcomes.parse("", arm="mono")})


def test_borrowing_reads_the_mono_arm_of_the_same_data(spec, out):
    combo = spec.designs["combo"]["combo BLRM"]
    both = combo.fit(out)
    assert _p_rp2d(both) == pytest.approx(WITH, abs=1e-3)
    alone = combo.replace(borrow=False).fit(out.arm("combo"))
    assert _p_rp2d(alone) == pytest.approx(WITHOUT, abs=1e-3)
    # borrow=False ignores a mono arm it is given
    np.testing.assert_allclose(
        combo.replace(borrow=False).fit(out).prob_tox, alone.prob_tox, rtol=0, atol=0
    )
    # stored mono data stand in when the data given hold only the combination arm
    stored = combo.replace(mono_data=out)
    np.testing.assert_allclose(
        stored.fit(out.arm("combo")).prob_tox, both.prob_tox, rtol=0, atol=1e-12
    )


def test_recommend_arm_combo_borrows_from_the_data_file(out, capsys):
    assert main(["recommend", "--arm", "combo", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["recommendations"]
    row = next(r for r in rows if r["design"] == "combo BLRM")
    assert row["arm"] == "combo" and row["rp2d"] == 2
    assert row["prob_tox_rp2d"] == pytest.approx(WITH, abs=1e-3)
    assert {r["arm"] for r in rows} == {"combo"}
    # the same number as the run on every arm
    assert main(["recommend", "--format", "json"]) == 0
    full = json.loads(capsys.readouterr().out)["recommendations"]
    same = next(r for r in full if r["design"] == "combo BLRM")
    assert same["prob_tox_rp2d"] == row["prob_tox_rp2d"]


def test_recommend_on_a_file_without_the_mono_arm_is_a_clear_error(out, tmp_path, capsys):
    f = out.arm("combo").to_frame().drop(columns=["grade2"])
    path = tmp_path / "combo_only.csv"
    f.to_csv(path, index=False)
    assert main(["recommend", "--arm", "combo", "--data", str(path)]) == 2
    err = capsys.readouterr().err
    assert "design 'combo BLRM'" in err and "needs the monotherapy arm's data" in err


def test_compare_gives_a_borrowing_design_every_arm(spec, out):
    cmp = bd.compare({"combo": {"combo BLRM": spec.designs["combo"]["combo BLRM"]}}, out)
    assert set(cmp.outcomes) == {"mono", "combo"}  # the mono data it read are kept
    assert cmp.table()["prob_tox_rp2d"].iat[0] == pytest.approx(WITH, abs=1e-3)
    assert len(cmp.shadow()) == 5  # replays the combination cohorts with the mono data


def test_one_predicate_for_reading_and_requiring_other_arms(spec, out):
    """``compare`` routes every arm to a design exactly when it borrows; simulation and
    paths refuse it exactly when it borrows without stored data."""
    base = spec.designs["combo"]["combo BLRM"]
    cases = {
        "borrow": base,
        "alone": base.replace(borrow=False),
        "stored": base.replace(mono_data=out),
    }
    expect = {"borrow": (True, True), "alone": (False, False), "stored": (True, False)}
    for name, d in cases.items():
        assert (reads_all_arms(d), d.requires_other_arms) == expect[name], name
        assert d.borrows_from == (("mono",) if d.borrow else ())
    for d in spec.designs["mono"].values():
        assert not reads_all_arms(d) and not d.requires_other_arms and d.borrows_from == ()
    # simulation (CLI): a design simulate() can run is simulated; a borrowing one without
    # data is left out (it was left out whenever its fit accepted a mapping)
    small = base.replace(borrow=False, grid=(5, 5, 9, 13), max_n=6)
    spec2 = dataclasses.replace(spec, designs={"combo": {"alone": small, "b": base}})
    sims = simulate_spec(spec2, seed=1, n_trials=2)
    assert list(sims["combo"].design.to_numpy()) == ["alone"]
