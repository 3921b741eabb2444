"""A true curve with two levels equally close to the target: the correct selection is a
convention (the lower level), so the operating characteristics say so (audit finding 7)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.scenarios import tied_mtd_levels, true_mtd


def test_tied_levels_closed_form() -> None:
    assert tied_mtd_levels([0.10, 0.25, 0.25, 0.50, 0.60], 0.25) == [2, 3]
    # |0.15 - 0.25| = |0.35 - 0.25| in decimal: a tie
    assert tied_mtd_levels([0.05, 0.15, 0.35, 0.5], 0.25) == [2, 3]
    assert tied_mtd_levels([0.05, 0.10, 0.25, 0.40], 0.25) == [3]
    assert tied_mtd_levels([0.5, 0.6], 0.25) == []  # no acceptable dose
    assert true_mtd([0.10, 0.25, 0.25, 0.50, 0.60], 0.25) == 2


def test_tied_truth_is_noted_and_warned() -> None:
    curve = [0.10, 0.25, 0.25, 0.50, 0.60]
    sims = bd.simulate({"boin": bd.BOIN(target=0.25, n_doses=5, max_n=12)},
                       scenarios={"plateau": curve}, n_trials=50, seed=3)  # fmt: skip
    with pytest.warns(UserWarning, match=r"levels \[2, 3\] are equally close"):
        oc = bd.operating_characteristics(sims)
    assert "plateau" in oc.attrs["note"] and "level 2 counts" in oc.attrs["note"]
    # the numbers are unchanged: PCS is the share of trials selecting level 2
    sel = sims["selected"].sel(design="boin", scenario="plateau").to_numpy()
    assert float(oc["pcs"].sel(design="boin", scenario="plateau")) == pytest.approx(
        np.mean(sel == 2))


def test_untied_truth_has_no_note() -> None:
    sims = bd.simulate({"boin": bd.BOIN(target=0.25, n_doses=4, max_n=12)},
                       scenarios={"mid": [0.05, 0.10, 0.25, 0.40]}, n_trials=20, seed=3)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        oc = bd.operating_characteristics(sims)
    assert "note" not in oc.attrs
