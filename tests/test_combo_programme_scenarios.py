"""The combination BLRM's engines on programme states of four scenarios (issue 13 item 5).

``reference_data/combo_programme_scenarios.json`` holds count states captured from
simulated two-arm programmes (Part I BLRM on the eight BAT6021 levels, reference 300 mg;
Part II ``CombinationBLRM``, full borrowing, N <= 30 per arm; 12 programmes per
scenario): a mid scenario, a safe combination, a combination toxic from its first level,
and a prior-data conflict (monotherapy safe to 900 mg, combination toxic at 30 mg).

* ``first_decisions``: every state of the capture without combination patients (Part II's
  starting decision on a finished Part I), with exact summaries from
  ``combo_exact_first_decision.py`` (the interval cut in closed form; no posterior frame).
* ``states``: states with combination patients, chosen where the two engines disagree on
  whether they can certify a result (the grid leaves unflagged what the quadrature flags,
  and states of the toxic and conflict scenarios only the quadrature certifies), with
  references from ``combo_engine_reference.py`` on a box of +-9 posterior SDs.  On its
  default box (+-6) that reference cut off the heavy ``log beta`` tail of one first
  decision (0.9 % of the mass in its outer layer) and erred by 3.6e-2, where both engines
  were right: the JSON's description says how these references were checked.

The requirement is the one of ``test_combo_programme_states.py``: 1e-3 on every interval
probability of every dose wherever an engine does not flag.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bayes_dose.inference.blrm_grid import GridEngine
from bayes_dose.inference.combo_quadrature import ComboQuadrature
from combo_exact_first_decision import first_decision
from combo_states import KEYS, counts, errors, programme_design

DATA = json.loads(
    (Path(__file__).parent / "reference_data" / "combo_programme_scenarios.json").read_text()
)
TOL = 1e-3


@pytest.fixture(scope="module")
def model():
    return programme_design().model


@pytest.fixture(scope="module")
def grid(model):
    return GridEngine(model, (25, 25, 31, 45))


def test_states_cover_the_four_scenarios():
    assert {s["scenario"] for s in DATA["states"]} == {"mid", "safe", "toxic", "conflict"}
    # the mid, safe and toxic scenarios share their Part I trials (same curve and seed)
    assert {s["scenario"] for s in DATA["first_decisions"]} == {"mid", "conflict"}
    assert all(sum(s["combo_n"]) == 0 for s in DATA["first_decisions"])
    assert all(sum(s["combo_n"]) > 0 for s in DATA["states"])


@pytest.mark.parametrize("i", [0, 9])
def test_first_decision_references_recomputed(model, i):
    """The stored exact summaries (cut in closed form along ``eta``) recomputed with the
    cut in closed form along the partner instead, on a coarser grid: within 3e-5."""
    s = DATA["first_decisions"][i]
    got = first_decision(model, s["mono_n"], s["mono_dlt"], n=500, n_other=101, exact="partner")
    assert got["edge"] < 1e-12
    for k in KEYS:
        np.testing.assert_allclose(got[k], s[k], atol=3e-5, rtol=0)


@pytest.mark.parametrize("part", ["first_decisions", "states"])
def test_default_grid_within_1e3_where_unflagged(grid, part):
    states = DATA[part]
    est = grid.estimate(counts(states))
    err = errors(est, states)
    flag = np.asarray(est.stats["grid_flag"])
    assert (~flag).sum() >= 5
    assert (err[~flag] <= TOL).all(), (err[~flag].max(), np.flatnonzero(~flag & (err > TOL)))


@pytest.mark.parametrize("part", ["first_decisions", "states"])
def test_quadrature_within_1e3_where_unflagged(model, part):
    states = DATA[part]
    est = ComboQuadrature(model).estimate(counts(states))
    err = errors(est, states)
    flag = np.asarray(est.stats["grid_flag"])
    assert (~flag).sum() >= 5
    assert (err[~flag] <= TOL).all(), (err[~flag].max(), np.flatnonzero(~flag & (err > TOL)))
