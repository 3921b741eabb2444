"""Dose paths: tree of cohort outcomes, exact OCs over the horizon, decision tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import bayes_dose as bd


@pytest.mark.parametrize("case", range(3))
def test_full_horizon_reproduces_exact_three_plus_three(refs, case):
    """dose_paths over the full horizon = the published exact 3+3 enumeration."""
    c = refs["three_plus_three_exact"]["cases"][case]
    design = bd.ThreePlusThree(5, variant=c["variant"])
    oc = bd.dose_paths(design, cohort_sizes=None).probabilities(c["p_true"])
    sel = np.array(c["selection"])
    assert oc.p_no_mtd == pytest.approx(sel[0], abs=1e-4)
    np.testing.assert_allclose(oc.p_select, sel[1:], atol=1e-4)
    assert oc.expected_n == pytest.approx(c["expected_n"], abs=5e-4)  # reference has 3 decimals
    assert oc.expected_dlts == pytest.approx(c["expected_dlts"], abs=5e-4)


def test_full_horizon_equals_exact_enumeration_with_titration():
    d = bd.ThreePlusThree(6, titration_levels=3)
    p = [0.02, 0.05, 0.1, 0.2, 0.35, 0.5]
    a = bd.dose_paths(d, cohort_sizes=None).probabilities(p)
    b = bd.exact_operating_characteristics(d, p)
    np.testing.assert_allclose(a.p_select, b.p_select, atol=1e-12)
    np.testing.assert_allclose(a.expected_n_per_dose, b.expected_n_per_dose, atol=1e-10)
    assert a.p_no_mtd == pytest.approx(b.p_no_mtd, abs=1e-12)
    assert a.p_mad == pytest.approx(b.p_mad, abs=1e-12)
    assert a.expected_dlts == pytest.approx(b.expected_dlts, abs=1e-10)


def test_two_cohorts_tree_and_closed_form():
    paths = bd.dose_paths(bd.ThreePlusThree(5), cohort_sizes=[3, 3])
    df = paths.to_frame()
    # root + 4 outcomes of cohort 1; two of them continue, 4 outcomes each
    assert len(df) == 1 + 4 + 8
    assert list(df.columns[:4]) == ["path_id", "parent_id", "depth", "outcomes"]
    row = df.set_index("outcomes").loc["1NNN 2NNT"]
    assert row["next_dose"] == 2 and not row["stop"]
    assert "expand level 2 to 6" in row["reason"]
    assert df.set_index("outcomes").loc["1NTT", "stop"]
    p = [0.1, 0.2, 0.3, 0.4, 0.5]
    oc = paths.probabilities(p)
    # E[N] = 3 + 3 P(<= 1 DLT of 3 at level 1)
    assert oc.expected_n == pytest.approx(3 + 3 * (0.9**3 + 3 * 0.1 * 0.9**2), abs=1e-12)
    assert oc.p_select.sum() + oc.p_no_mtd == pytest.approx(1.0, abs=1e-12)


def test_start_from_data_and_forced_sizes():
    start = bd.Outcomes.parse("1NNN 2NNN")
    paths = bd.dose_paths(bd.ThreePlusThree(4), cohort_sizes=[3], start=start)
    df = paths.to_frame()
    assert df["outcomes"].iloc[0] == "1NNN 2NNN"
    assert df["next_dose"].iloc[0] == 3
    assert set(df["outcomes"].iloc[1:]) == {"1NNN 2NNN 3NNN", "1NNN 2NNN 3NNT",
                                           "1NNN 2NNN 3NTT", "1NNN 2NNN 3TTT"}  # fmt: skip
    assert (df["n_patients"].iloc[1:] == 9).all()
    with pytest.raises(ValueError, match=r"cohort_sizes\[1\]"):
        bd.dose_paths(bd.ThreePlusThree(4), cohort_sizes=[3, 0])


def test_identical_states_are_decided_once():
    # escalation-only 3+3 ignores the last cohort: "1NNT 1NNN" and "1NNN 1NNT" cannot both occur,
    # but with titration many paths reach the same counts; decisions are cached per state
    paths = bd.dose_paths(bd.ThreePlusThree(8, titration_levels=3), cohort_sizes=None)
    assert paths.n_states < paths.n_nodes


def test_plot_draws_tree():
    ax = bd.dose_paths(bd.ThreePlusThree(5), cohort_sizes=[3, 3]).plot()
    assert len(ax.texts) == 13 + 12  # node labels + edge labels (DLTs/patients)
    with pytest.raises(ValueError, match="max_nodes"):
        bd.dose_paths(bd.ThreePlusThree(5), cohort_sizes=None).plot(max_nodes=10)


def test_decision_table_three_plus_three():
    t = bd.decision_table(
        {"3+3": bd.ThreePlusThree(5), "3+3 esc": bd.ThreePlusThree(5, variant="escalation_only")},
        n_max=6,
    )
    a = t.xs("action", axis=1, level="field")
    assert a.loc[(3, 0)].tolist() == ["E", "E"]
    assert a.loc[(3, 1)].tolist() == ["S", "S"]
    assert a.loc[(3, 2)].tolist() == ["D", "X"]  # de-escalate vs stop with MTD below
    assert a.loc[(6, 1)].tolist() == ["E", "E"]
    assert len(t) == 4 + 7
    with pytest.raises(ValueError, match="no designs"):
        bd.decision_table({})


def test_designs_reading_several_arms_are_refused():
    proto = bd.protocols.bat6021()
    combo = bd.CombinationBLRM(bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300))
    with pytest.raises(ValueError, match="several arms"):
        bd.dose_paths(combo, [3])
    with pytest.raises(ValueError, match="several arms"):
        bd.decision_table({"combo BLRM": combo})


def test_decision_table_states_the_history_it_rests_on():
    doses = (1.0, 3.0, 10.0, 30.0, 100.0)
    t = bd.decision_table({"3+3": bd.ThreePlusThree(5, titration_levels=2, doses_mg=doses),
                           "BOIN": bd.BOIN(0.25, 5, doses_mg=doses)}, up_to_n=6)  # fmt: skip
    assert t.attrs["setting"] == (
        "n = 3, 6 patients treated at the level named for each design below, y of them with DLTs; the last cohort "
        "of min(n, 3) patients holds min(y, 3) of the DLTs",
        "3+3, BOIN: level 2 (3 mg), after level 1 (1 mg) with 3 patients and 0 DLTs",
        "3+3: its accelerated titration (levels 1-2) is switched off",
    )
    t = bd.decision_table({"b": bd.BOIN(0.25, 5), "c": bd.BOIN(0.25, 2)}, up_to_n=5,
                          cohort_size=2, level=None)  # fmt: skip
    assert t.attrs["setting"] == (
        "n = 2, 4 patients treated at the level named for each design below, y of them with DLTs; the last cohort "
        "of min(n, 2) patients holds min(y, 2) of the DLTs",
        "b: level 2, after level 1 with 2 patients and 0 DLTs",
        "c: level 1, no lower level treated",
    )
    t = bd.decision_table({"b": bd.BOIN(0.25, 5)}, up_to_n=3, level=4)
    assert t.attrs["setting"][1] == "b: level 4, after levels 1-3 with 3 patients and 0 DLTs each"


def test_decision_table_history_is_the_one_decided_on():
    # a CRM's decision depends on the whole history: rebuild the stated one and compare
    from bayes_dose.designs.state import DoseData

    crm = bd.CRM(target=0.25, skeleton=(0.05, 0.1, 0.2, 0.3, 0.4))
    t = bd.decision_table({"crm": crm}, up_to_n=6, level=3)
    assert t.attrs["setting"][1] == "crm: level 3, after levels 1-2 with 3 patients and 0 DLTs each"
    for n, y in [(3, 1), (6, 2), (6, 4)]:
        counts = np.array([[3, 3, n, 0, 0]])
        dlts = np.array([[0, 0, y, 0, 0]])
        data = DoseData.from_counts(counts, dlts, np.array([2]), np.array([3]), np.array([min(y, 3)]))
        dec = crm.decide(data)
        want = None if dec.stop[0] else int(dec.next_dose[0]) + 1
        assert t.loc[(n, y), ("crm", "next")] == want, (n, y)
