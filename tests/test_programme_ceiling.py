"""``Programme(ceiling=True)``: the monotherapy ceiling under ``opens_after`` (issue 13)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import bayes_dose as bd

MONO = [0.02, 0.04, 0.06, 0.10, 0.16, 0.25, 0.35, 0.50]
COMBO = [0.04, 0.10, 0.25, 0.45, 0.60]


def _boin(arm: str) -> bd.BOIN:
    mg = bd.protocols.bat6021().arm(arm).doses_mg
    return bd.BOIN(target=0.25, n_doses=len(mg), max_n=24, cohort_size=3, doses_mg=mg)


def _programme(ceiling: bool) -> bd.Programme:
    return bd.Programme(arms={"mono": {"boin": _boin("mono")}, "combo": {"boin": _boin("combo")}},
                        opens=bd.opens_after("mono"), ceiling=ceiling)  # fmt: skip


@pytest.fixture(scope="module")
def runs():
    return {c: _programme(c).simulate({"mono": MONO, "combo": COMBO}, n_trials=200, seed=3)
            for c in (False, True)}  # fmt: skip


def _highest_cleared_mg(mono: Any) -> np.ndarray:
    """Per trial, recomputed from the final Part I counts: the highest monotherapy dose
    (mg) with >= 3 patients and DLTs in at most 1/6 of them (0: none)."""
    n = mono["n"].isel(design=0, scenario=0).values
    y = mono["dlt"].isel(design=0, scenario=0).values
    mg = np.asarray(bd.protocols.bat6021().arm("mono").doses_mg)
    ok = (n >= 3) & (6 * y <= n)
    return np.where(ok.any(axis=1), mg[np.where(ok, np.arange(mg.size), -1).max(axis=1)], 0.0)


def test_ceiling_caps_every_combination_dose_and_selection(runs):
    ds = runs[True]
    top = _highest_cleared_mg(bd.arm_view(ds, "mono"))
    combo = bd.arm_view(ds, "combo")
    mg = np.asarray(bd.protocols.bat6021().arm("combo").doses_mg)
    dose = combo["patient_dose"].isel(design=0, scenario=0).values  # level 1..5, 0 / NaN: none
    lvl = np.nan_to_num(np.asarray(dose, dtype=float), nan=0.0).astype(int)
    given = np.where(lvl > 0, mg[np.clip(lvl - 1, 0, None)], 0.0)
    assert (given <= top[:, None] * (1 + 1e-12)).all()
    sel = combo["selected"].isel(design=0, scenario=0).values
    assert (np.where(sel > 0, mg[np.clip(sel - 1, 0, None)], 0.0) <= top * (1 + 1e-12)).all()
    assert (lvl > 0).any()


def test_without_ceiling_opens_after_is_unchanged_and_exceeds_it(runs):
    """The default keeps opens_after as before (the second arm = bd.simulate with the
    second arm's seed, for a design that does not borrow), which does go above the
    ceiling in this scenario: the option changes something."""
    from bayes_dose.programme import arm_seed

    ds = runs[False]
    alone = bd.simulate({"boin": _boin("combo")}, COMBO, n_trials=200, seed=arm_seed(3, 1),
                        progress=False)  # fmt: skip
    combo = bd.arm_view(ds, "combo")
    np.testing.assert_array_equal(combo["selected"].values.ravel(), alone["selected"].values.ravel())
    top = _highest_cleared_mg(bd.arm_view(ds, "mono"))
    mg = np.asarray(bd.protocols.bat6021().arm("combo").doses_mg)
    sel = combo["selected"].isel(design=0, scenario=0).values
    assert (np.where(sel > 0, mg[np.clip(sel - 1, 0, None)], 0.0) > top).any()


def test_ceiling_must_be_a_bool():
    with pytest.raises(ValueError, match="ceiling must be True or False"):
        bd.Programme(arms={"mono": {"boin": _boin("mono")}, "combo": {"boin": _boin("combo")}},
                     opens=bd.opens_after("mono"), ceiling="yes")  # fmt: skip
