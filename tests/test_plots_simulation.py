"""Simulation plots draw what the OC tables say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.plots import (
    plot_concordance,
    plot_patients,
    plot_selection,
    plot_selection_grid,
)


@pytest.fixture(scope="module")
def sims():
    lib = bd.scenarios.library("combo")
    designs = {"3+3": bd.ThreePlusThree(5), "esc": bd.ThreePlusThree(5, variant="escalation_only")}
    scen = {k: lib[k] for k in ("mtd_middle", "first_toxic")}
    return bd.simulate(designs, scenarios=scen, n_trials=200, seed=1, progress=False)


def test_selection_bars_heights_and_mtd_mark(sims) -> None:
    oc = bd.operating_characteristics(sims)
    ax = plot_selection(oc, "mtd_middle")
    heights = [p.get_height() for p in ax.patches if p.get_width() < 0.5]
    expect = np.r_[oc.p_none.sel(design="3+3", scenario="mtd_middle").item(),
                   oc.p_select.sel(design="3+3", scenario="mtd_middle").to_numpy()]  # fmt: skip
    np.testing.assert_allclose(heights[: len(expect)], expect)
    assert any(t.get_text() == "true MTD" for t in ax.texts)
    ax = plot_patients(oc, "first_toxic")
    assert any(t.get_text() == "correct: none" for t in ax.texts)
    fig = plot_selection_grid(oc)
    assert sum(a.get_visible() for a in fig.axes) == 2
    with pytest.raises(ValueError, match="scenario"):
        plot_selection(oc)


def test_concordance_heatmap(sims) -> None:
    conc = bd.concordance(sims)
    ax = plot_concordance(conc, "mtd_middle", measure="kappa")
    img = ax.images[0].get_array()
    np.testing.assert_allclose(np.diag(img), 1.0)
    with pytest.raises(ValueError, match="measure"):
        plot_concordance(conc, "mtd_middle", measure="accuracy")
