"""Arguments of simulations and studies are taken only as what they are.  Before:
``Study(n_trials=0).simulate()`` ran 200 trials, ``Study(seed=1.7)`` ran seed 1, a
Programme under ``opens_when_cleared`` ran ``seed=True`` as seed 1 and ``max_n=True`` as one
patient per trial, ``true_tox=["0.1", ...]`` was read as numbers, and scenarios named ``1``
and ``"1"`` collapsed into one."""

from __future__ import annotations

import pytest

import bayes_dose as bd

PROTO = bd.protocols.bat6021()
MONO = [0.02, 0.04, 0.06, 0.10, 0.16, 0.25, 0.35, 0.50]
COMBO = [0.04, 0.10, 0.25, 0.45, 0.60]


def _study(**kw):
    return bd.Study(PROTO, {"mono": {"boin": bd.BOIN(0.25, 8, max_n=12)}}, **kw)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"seed": 1.7}, r"Study: seed must be a non-negative integer, got 1\.7"),
        ({"seed": True}, r"Study: seed must be a non-negative integer, got True"),
        ({"seed": "5"}, r"Study: seed must be a non-negative integer, got '5'"),
        ({"seed": -3}, r"Study: seed must be a non-negative integer, got -3"),
        ({"n_trials": 0}, r"Study: n_trials must be a whole number >= 1, got 0"),
        ({"n_trials": 10.5}, r"Study: n_trials must be a whole number >= 1, got 10\.5"),
        ({"programme_n_trials": 0}, r"Study: programme_n_trials must be a whole number >= 1"),
        ({"target": "0.3"}, r"Study: target must be a number in \(0, 1\), got '0.3'"),
        ({"target": 7}, r"Study: target must be a number in \(0, 1\), got 7"),
        ({"correlation": True}, r"Study: correlation must be a number in \[-1, 1\], got True"),
    ],
)
def test_study_settings_are_checked(kw, message):
    with pytest.raises(ValueError, match=message):
        _study(**kw)


def test_study_n_trials_given_is_the_number_simulated():
    sims = _study(n_trials=7, seed=2, scenarios={"mono": {"mid": MONO}}).simulate()
    assert sims["mono"].sizes["trial"] == 7


def _programme(opens):
    mono = bd.BOIN(0.25, 8, max_n=12, doses_mg=PROTO.arm("mono").doses_mg)
    combo = bd.BOIN(0.25, 5, max_n=12, doses_mg=PROTO.arm("combo").doses_mg)
    return bd.Programme(arms={"mono": {"boin": mono}, "combo": {"boin": combo}}, opens=opens)


@pytest.mark.parametrize("opens", [bd.opens_after("mono"),
                                   bd.opens_when_cleared("mono", level=3)])  # fmt: skip
@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"seed": True}, r"seed must be a non-negative integer, got True"),
        ({"seed": 1.5}, r"seed must be a non-negative integer, got 1\.5"),
        ({"seed": -1}, r"seed must be a non-negative integer, got -1"),
        ({"max_n": True}, r"Programme.simulate: max_n must be a whole number >= 1, got True"),
        ({"max_n": 6.5}, r"Programme.simulate: max_n must be a whole number >= 1, got 6\.5"),
    ],
)
def test_programme_arguments_are_checked_under_every_opening_rule(opens, kw, message):
    with pytest.raises(ValueError, match=message):
        _programme(opens).simulate({"mono": MONO, "combo": COMBO}, n_trials=4, **kw)


def test_text_probabilities_and_colliding_scenario_names_are_refused():
    d = {"boin": bd.BOIN(0.25, 3)}
    with pytest.raises(ValueError, match=r"true_tox must be numbers, got \['0.1', '0.2', '0.3'\]"):
        bd.simulate(d, true_tox=["0.1", "0.2", "0.3"], n_trials=5)
    with pytest.raises(ValueError, match=r"scenario names 1 and '1' are the same name"):
        bd.simulate(d, scenarios={1: [0.1, 0.2, 0.3], "1": [0.2, 0.3, 0.4]}, n_trials=5)
