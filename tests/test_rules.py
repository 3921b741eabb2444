"""Stopping rules: boolean algebra over trials, independent of the order written."""

from __future__ import annotations

import numpy as np

import bayes_dose as bd
from bayes_dose.designs.state import Decision

R = bd.rules


def _state():
    # three trials: N = 6, 12, 18; next dose has 3, 9, 9 patients
    n = np.array([[3, 3, 0], [3, 9, 0], [9, 9, 0]])
    data = bd.DoseData.from_counts(n, np.zeros_like(n), current=[1, 1, 1])
    dec = Decision(np.array([0, 1, 1]), np.full(3, 3), np.zeros(3, bool), np.zeros(3, int))
    return data, dec


def test_single_rules():
    data, dec = _state()
    np.testing.assert_array_equal(R.MaxPatients(12)(data, dec), [False, True, True])
    np.testing.assert_array_equal(R.PatientsAtDose(9)(data, dec), [False, True, True])


def test_and_or_are_order_free_and_flatten():
    data, dec = _state()
    a, b, c = R.MaxPatients(18), R.PatientsAtDose(9), R.MinPatients(12)
    np.testing.assert_array_equal((a | (b & c))(data, dec), [False, True, True])
    np.testing.assert_array_equal(((c & b) | a)(data, dec), (a | (b & c))(data, dec))
    assert len((a | b | c).rules) == 3
    assert str(a & b) == "(N >= 18) and (>= 9 patients at the next dose)"
    assert (a | b).spec()["rule"] == "AnyOf"


class StayDesign(bd.Design):
    """A minimal design: always treat the next cohort at the current dose."""

    own_reasons = ("stay at level {dose}",)

    def _rule(self, data, estimate):
        cur = np.maximum(data.current, 0)
        return Decision(
            cur,
            np.full(data.n_trials, self.cohort_size),
            np.zeros(data.n_trials, bool),
            np.full(data.n_trials, self._code(0)),
        )

    def select(self, data, estimate=None):
        return bd.Selection(data.current.copy(), np.zeros(data.n_trials, bool))


def test_rule_in_a_design_stops_with_its_reason():
    data = bd.DoseData.from_counts([[3, 6, 0], [3, 3, 0]], [[0, 0, 0], [0, 0, 0]], current=[1, 1])
    d = StayDesign(3, stopping=R.PatientsAtDose(6) | R.MaxPatients(30))
    dec = d.decide(data)
    np.testing.assert_array_equal(dec.stop, [True, False])
    assert dec.next_dose.tolist() == [-1, 1] and dec.cohort_size.tolist() == [0, 3]
    assert d.explain(data, dec, 0) == (
        "stopping rule met: (>= 6 patients at the next dose) or (N >= 30)"
    )
    assert d.explain(data, dec, 1) == "stay at level 2"
    # max_n truncates the last cohort and then stops
    d = StayDesign(3, max_n=10)
    dec = d.decide(data)
    assert dec.stop.tolist() == [False, False] and dec.cohort_size.tolist() == [1, 3]
    assert StayDesign(3, max_n=9).decide(data).stop.tolist() == [True, False]
