"""Issue 11 item 5: names that explain themselves, and protocol rules read by code.

* deprecated aliases warn (``DeprecationWarning``) and give identical results;
* the protocol's MTD rule drives 3+3's selection; the protocol's staggering gives the
  dosing days (checked by hand against the BAT6021 rules: 2nd patient >= 7 days after the
  1st, later ones >= 1 day after the previous, next group after the previous group's
  21-day window).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.protocol import Staggering

# -- staggering --------------------------------------------------------------------------


def test_staggering_dosing_days_by_hand():
    s = bd.protocols.bat6021().staggering
    assert s == Staggering(24.0, 7.0, True)
    # one group of 3 from day 0: sentinel day 0, 2nd >= 7 days later, 3rd >= 1 day later
    assert s.dosing_days(3).tolist() == [0.0, 7.0, 8.0]
    assert s.dosing_days(6, start_day=10.0).tolist() == [10.0, 17.0, 18.0, 19.0, 20.0, 21.0]
    assert s.dosing_days(1).tolist() == [0.0]
    assert s.dosing_days(0).tolist() == []
    # an expansion of a dose group (3 dosed on days 0, 7, 8) opened on day 29: the
    # sentinel gap is behind, so only the 1-day gaps apply
    assert s.dosing_days(3, 29.0, already_dosed=[0.0, 7.0, 8.0]).tolist() == [29.0, 30.0, 31.0]
    # a second patient of a group whose sentinel was dosed 2 days before the start
    assert s.dosing_days(2, 5.0, already_dosed=[3.0]).tolist() == [10.0, 11.0]
    assert [s.gap_days(k) for k in range(4)] == [0.0, 7.0, 1.0, 1.0]


def test_staggering_next_group_after_the_window():
    proto = bd.protocols.bat6021()
    s = proto.staggering
    assert s.next_group_day([0.0, 7.0, 8.0], proto.dlt_window_days) == 29.0
    # titration (1 patient per level), then 3+3 cohorts: by hand
    groups = proto.dosing_days([1, 1, 1, 3, 3])
    assert [g.tolist() for g in groups] == [
        [0.0], [21.0], [42.0], [63.0, 70.0, 71.0], [92.0, 99.0, 100.0]
    ]
    # without waiting for the window: next group 24 hours after the last dose
    free = Staggering(24.0, 7.0, False)
    assert [g.tolist() for g in free.schedule([3, 2], 21)] == [[0.0, 7.0, 8.0], [9.0, 16.0]]
    # hours are hours: 12 hours = half a day
    assert Staggering(12.0, 7.0).dosing_days(3).tolist() == [0.0, 7.0, 7.5]


def test_staggering_every_gap_respected_random():
    rng = np.random.default_rng(3)
    for _ in range(50):
        s = Staggering(float(rng.integers(0, 72)), float(rng.integers(0, 14)), bool(rng.integers(2)))
        sizes = rng.integers(1, 7, size=4).tolist()
        groups = s.schedule(sizes, 21.0, start_day=2.0)
        for g, size in zip(groups, sizes, strict=True):
            assert len(g) == size
            gaps = np.diff(g)
            assert np.allclose(gaps[:1], s.days_after_first_patient)
            assert np.allclose(gaps[1:], s.hours_between_patients / 24)
        for a, b in itertools.pairwise(groups):
            wait = 21.0 if s.complete_window_before_next_group else s.hours_between_patients / 24
            assert b[0] == pytest.approx(a.max() + wait)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hours_between_patients": -1}, "hours_between_patients"),
        ({"days_after_first_patient": float("nan")}, "days_after_first_patient"),
        ({"days_after_first_patient": "7"}, "days_after_first_patient"),
        ({"complete_window_before_next_group": "yes"}, "complete_window"),
    ],
)
def test_staggering_refuses_bad_fields(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Staggering(**kwargs)


def test_staggering_refuses_bad_calls():
    s = Staggering()
    with pytest.raises(ValueError, match="n_patients"):
        s.dosing_days(-1)
    with pytest.raises(ValueError, match="n_patients"):
        s.dosing_days(2.5)
    with pytest.raises(ValueError, match="window_days"):
        s.next_group_day([0.0], 0)
    with pytest.raises(ValueError, match="dosing days"):
        s.next_group_day([], 21)
