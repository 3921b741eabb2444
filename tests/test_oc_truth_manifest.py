"""Operating characteristics of a saved simulation whose true curve was edited: refused,
since the manifest records the curve the trials were simulated under (audit finding 10)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import bayes_dose as bd

CURVE = [0.05, 0.10, 0.25, 0.40]


def test_edited_true_tox_is_refused(tmp_path) -> None:
    sims = bd.simulate({"BOIN": bd.BOIN(0.25, 4, max_n=12)}, true_tox=CURVE, n_trials=60,
                       seed=1, progress=False)  # fmt: skip
    path = tmp_path / "s.nc"
    sims.to_netcdf(path)
    with xr.open_dataset(path) as ds:
        ds = ds.load()
    oc = bd.operating_characteristics(ds)  # unedited: reads back
    assert int(oc["true_mtd"].item()) == 3
    edited = ds.copy()
    edited["true_tox"] = edited["true_tox"] * 0 + np.array([0.05, 0.25, 0.30, 0.40])
    with pytest.raises(ValueError, match=r"in the Dataset but .* in its manifest"):
        bd.operating_characteristics(edited)


def test_programme_arm_views_still_reduce() -> None:
    proto = bd.protocols.bat6021()
    mono = bd.ThreePlusThree(8, doses_mg=proto.arm("mono").doses_mg)
    combo = bd.ThreePlusThree(5, doses_mg=proto.arm("combo").doses_mg)
    prog = bd.Programme(arms={"mono": {"3+3": mono}, "combo": {"3+3": combo}},
                        opens=bd.opens_after("mono"))  # fmt: skip
    curves = {"mono": [0.02, 0.04, 0.06, 0.10, 0.16, 0.25, 0.35, 0.50],
              "combo": [0.04, 0.10, 0.25, 0.45, 0.60]}
    res = prog.simulate(curves, n_trials=20, seed=2)
    for arm, curve in curves.items():
        oc = bd.operating_characteristics(bd.arm_view(res, arm), target=0.25)
        np.testing.assert_allclose(oc["true_tox"].to_numpy().ravel(), curve)
