"""Operating characteristics and concordance against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd


@pytest.fixture
def tiny() -> xr.Dataset:
    """2 designs x 1 scenario x 4 trials x 3 doses, true tox (0.1, 0.3, 0.5), target 0.3."""
    sel = np.array([[[1, 2, 0, 2]], [[1, 3, 0, 1]]], dtype=np.int8)
    n = np.array([
        [[[3, 3, 0], [3, 6, 0], [3, 0, 0], [3, 3, 3]]],
        [[[3, 3, 3], [3, 3, 6], [3, 0, 0], [1, 1, 8]]],
    ], dtype=np.int16)  # fmt: skip
    dlt = np.array([
        [[[0, 1, 0], [0, 1, 0], [2, 0, 0], [0, 0, 2]]],
        [[[0, 0, 1], [0, 1, 2], [2, 0, 0], [0, 0, 3]]],
    ], dtype=np.int16)  # fmt: skip
    dims = ("design", "scenario", "trial")
    return xr.Dataset(
        {
            "selected": (dims, sel),
            "is_mad": (dims, np.array([[[False, False, False, True]], [[False] * 4]])),
            "n": ((*dims, "dose"), n),
            "dlt": ((*dims, "dose"), dlt),
            "stop_reason": (dims, np.array([[[5, 6, 6, 5]], [[5, 5, 5, 5]]], dtype=np.int16)),
            "n_patients": (dims, n.sum(-1)),
            "true_tox": (("scenario", "dose"), np.array([[0.1, 0.3, 0.5]])),
            "target": (("scenario",), np.array([0.3])),
        },
        coords={"design": ["A", "B"], "scenario": ["s"], "trial": np.arange(4),
                "dose_level": ("dose", [1, 2, 3]), "dose_mg": ("dose", [10.0, 20.0, 40.0])},
        attrs={"manifest": json.dumps({"designs": {"A": {}, "B": {}}}),
               "reasons": json.dumps({"A": list("abcdefg"), "B": list("abcdef")})},
    )  # fmt: skip


def test_operating_characteristics_by_hand(tiny: xr.Dataset) -> None:
    oc = bd.operating_characteristics(tiny)
    a = oc.sel(design="A", scenario="s")
    b = oc.sel(design="B", scenario="s")
    np.testing.assert_allclose(a.p_select, [0.25, 0.5, 0.0])
    np.testing.assert_allclose(a.p_select_se, [np.sqrt(0.25 * 0.75 / 4), 0.25, 0.0])
    assert float(a.p_none) == 0.25 and float(a.p_mad) == 0.25
    assert int(a.true_mtd) == 2 and float(a.pcs) == 0.5 and float(a.pcs_se) == 0.25
    assert float(b.pcs) == 0.0
    np.testing.assert_allclose(a.mean_n, [3, 3, 0.75])
    np.testing.assert_allclose(
        a.mean_n_se, [0, np.std([3, 6, 0, 3], ddof=1) / 2, np.std([0, 0, 0, 3], ddof=1) / 2]
    )
    np.testing.assert_allclose(a.mean_dlt, [0.5, 0.5, 0.5])
    assert float(a.mean_total_n) == 6.75
    np.testing.assert_allclose(float(a.mean_total_n_se), np.std([6, 9, 3, 9], ddof=1) / 2)
    np.testing.assert_allclose(float(a.frac_patients_above_mtd), (3 / 9) / 4)
    np.testing.assert_allclose(float(b.frac_patients_above_mtd), (3 / 9 + 6 / 12 + 0.8) / 4)
    assert float(a.p_overdose_60) == 0 and float(b.p_overdose_60) == 0.25
    assert float(b.p_overdose_80) == 0.25
    np.testing.assert_allclose(a.p_stop_reason.sel(reason=[5, 6]), [0.5, 0.5])
    assert str(oc.reason_text.sel(design="A", reason=6).item()) == "g"
    assert str(oc.reason_text.sel(design="B", reason=6).item()) == ""
    # target override: 0.5 makes level 3 the MTD
    assert int(bd.operating_characteristics(tiny, target=0.5).true_mtd.sel(design="A").item()) == 3
    # tidy tables
    df = oc[["p_select", "p_select_se"]].to_dataframe()
    assert list(df.index.names) == ["design", "scenario", "dose_level"] and len(df) == 6


def test_concordance_by_hand(tiny: xr.Dataset) -> None:
    c = bd.concordance(tiny).sel(scenario="s")
    ab = c.sel(design_a="A", design_b="B")
    assert float(ab.p_identical) == 0.5 and float(ab.p_within_one) == 1.0
    np.testing.assert_allclose(float(ab.kappa), 5 / 13)
    assert float(ab.confusion.sel(selected_a=2, selected_b=3)) == 0.25
    assert float(ab.confusion.sum()) == pytest.approx(1.0)
    for g in ("A", "B"):
        self_ = c.sel(design_a=g, design_b=g)
        assert float(self_.p_identical) == 1.0 and float(self_.kappa) == 1.0
    np.testing.assert_allclose(c.kappa.sel(design_a="B", design_b="A"), 5 / 13)


def test_pcs_and_true_mtd_from_the_scenario_library() -> None:
    lib = bd.scenarios.library("mono")
    assert {k: v.mtd for k, v in lib.items()} == {
        "mtd_low": 2, "mtd_middle": 4, "mtd_high": 6, "mtd_top": 8, "all_safe": 8,
        "first_toxic": 0, "flat_then_steep": 6,
    }  # fmt: skip
    assert all(len(v) == 8 for v in lib.values())
    assert all(len(v) == 5 for v in bd.scenarios.library("combo").values())
    pub = bd.scenarios.library("published")
    assert pub["boin_get_oc"] == [0.05, 0.15, 0.3, 0.45, 0.6] and pub["boin_get_oc"].target == 0.3
    with pytest.raises(ValueError, match="arm"):
        bd.scenarios.library("triple")
    sims = bd.simulate({"AT": bd.ThreePlusThree(8, titration_levels=3)},
                       scenarios={k: lib[k] for k in ("first_toxic", "mtd_middle")},
                       n_trials=400, seed=1, progress=False)  # fmt: skip
    oc = bd.operating_characteristics(sims)
    # first_toxic: no acceptable dose; correct = select none; every patient is overdosed
    ft = oc.sel(design="AT", scenario="first_toxic")
    assert float(ft.pcs) == float(ft.p_none)
    assert float(ft.frac_patients_above_mtd) == 1.0 and float(ft.p_overdose_80) == 1.0
    mm = oc.sel(design="AT", scenario="mtd_middle")
    assert float(mm.pcs) == float(mm.p_select.sel(dose_level=4))
    np.testing.assert_allclose(oc.p_select.sum("dose_level") + oc.p_none, 1.0)
    np.testing.assert_allclose(oc.p_stop_reason.sum("reason"), 1.0)


@pytest.mark.parametrize(
    "true_tox, target, level",
    [
        # exact ties in decimal: the documented rule gives the LOWER level, although
        # |0.15 - 0.25| and |0.35 - 0.25| differ in binary floating point
        ([0.15, 0.35], 0.25, 1),
        ([0.1, 0.3], 0.2, 1),
        ([0.05, 0.15, 0.25], 0.2, 2),
        ([0.25, 0.35], 0.3, 1),
        ([0.05, 0.26, 0.34], 0.3, 2),
        ([0.05, 0.25, 0.32], 0.3, 3),  # not a tie: 0.02 < 0.05
        # lowest level exactly target + 0.1 is still acceptable (0.35 + 0.1 < 0.45 in binary)
        ([0.45, 0.6], 0.35, 1),
        ([0.46, 0.6], 0.35, 0),
    ],
)
def test_true_mtd_ties_go_to_the_lower_level(true_tox, target, level) -> None:
    from bayes_dose.scenarios import true_mtd

    assert true_mtd(true_tox, target) == level
