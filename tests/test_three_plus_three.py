"""The protocol's design: accelerated titration + 3+3, both variants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bayes_dose as bd

AT33 = bd.ThreePlusThree(n_doses=8, titration_levels=3)


def fit(design, s):
    return design.fit(bd.Outcomes.parse(s))


@pytest.mark.parametrize(
    ("data", "next_dose", "size", "stop", "mtd", "label"),
    [
        ("", 1, 1, False, None, "none"),
        ("1N", 2, 1, False, 1, "MAD"),
        ("1N 2N", 3, 1, False, 2, "MAD"),
        ("1N 2N 3N", 4, 3, False, 3, "MAD"),  # titration ends after level 3: 3+3 at 30 mg
        ("1N 2T", 2, 2, False, 1, "MAD"),  # first DLT: expand that level to 3
        ("1N 2TNN", 2, 3, False, 1, "MAD"),  # 1/3: expand to 6
        ("1N 2TNN 2NNN", 3, 3, False, 2, "MAD"),  # 1/6: escalate, cohorts of 3 now
        ("1N 2TNN 2NTN", 1, 3, False, None, "none"),  # 2/6: de-escalate, expand level 1 to 4
        ("1T", 1, 2, False, None, "none"),
        ("1TTN", None, None, True, None, "none"),  # 2+ DLTs at level 1: no MTD
        ("1N 2N 3N 4NNN", 5, 3, False, 4, "MAD"),
        ("1N 2N 3N 4NNN 5NTT", 4, 3, False, None, "none"),  # de-escalate, expand 4 to 6
        ("1N 2N 3N 4NNN 5NTT 4NNT", None, None, True, 4, "MTD"),
        ("1N 2N 3N 4NNN 5NTT 4TNT", 3, 3, False, None, "none"),  # cascade down
        ("1N 2N 3N 4NNN 5NNN 6NNN 7NNN 8NNN", None, None, True, 8, "MAD"),
        ("1N 2N 3N 4NNN 5NNN 6NNN 7NNN 8NTN", 8, 3, False, 7, "MAD"),
        ("1N 2N 3N 4NNN 5NNN 6NNN 7NNN 8NTN 8NNN", None, None, True, 8, "MAD"),
    ],
)
def test_titration_and_3plus3_deescalation(data, next_dose, size, stop, mtd, label):
    f = fit(AT33, data)
    assert (f.next_dose, f.cohort_size, f.stop, f.mtd, f.mtd_label) == (
        next_dose, size, stop, mtd, label,
    )  # fmt: skip
    assert f.reason  # every decision says which rule fired


def test_escalation_only_variant_stops_at_two_dlts():
    d = bd.ThreePlusThree(5, variant="escalation_only")
    f = fit(d, "1NNN 2NTN 2NNN 3NTT")
    assert f.stop and f.mtd == 2 and f.mtd_label == "MTD"
    assert "next lower" in f.reason
    f = fit(d, "1NTT")
    assert f.stop and f.mtd is None


def test_deescalation_stops_when_lower_dose_already_has_six():
    f = fit(bd.ThreePlusThree(5), "1NNN 2NTN 2NNN 3NTT")
    assert f.stop and f.mtd == 2 and f.mtd_label == "MTD"


def test_titration_grade2_trigger():
    d = bd.ThreePlusThree(8, titration_levels=3, titration_grade2=True)
    df = bd.Outcomes.parse("1N 2N").to_frame()[["patient_id", "arm", "dose_level", "dlt"]]
    df["grade2"] = [1, 1]
    f = d.fit(bd.Outcomes.from_frame(df))
    assert (f.next_dose, f.cohort_size) == (2, 2)  # titration ended: level 2 completed to 3
    f = bd.ThreePlusThree(8, titration_levels=3).fit(bd.Outcomes.from_frame(df))
    assert (f.next_dose, f.cohort_size) == (3, 1)  # trigger not used: titration goes on


def test_bundled_example_decisions():
    out = bd.examples.bat6021_outcomes()
    mono = AT33.fit(out.arm("mono"))
    assert mono.stop and mono.mtd == 6 and mono.mtd_label == "MTD"  # 300 mg
    combo = bd.ThreePlusThree(5).fit(out.arm("combo"))
    assert combo.stop and combo.mtd == 2  # 100 mg with tislelizumab


def test_bad_parameters_and_data():
    with pytest.raises(ValueError, match="variant"):
        bd.ThreePlusThree(5, variant="4+4")
    with pytest.raises(ValueError, match="titration_levels"):
        bd.ThreePlusThree(3, titration_levels=5)
    with pytest.raises(ValueError, match="level 7 is above the design's 5 levels"):
        bd.ThreePlusThree(5).fit(bd.Outcomes.parse("7N"))
    with pytest.raises(ValueError, match="one arm at a time"):
        AT33.fit(bd.examples.bat6021_outcomes())


def test_spec_is_json_and_replace_keeps_immutability():
    d = bd.ThreePlusThree(8, titration_levels=3)
    spec = d.spec()
    assert spec["design"] == "ThreePlusThree" and spec["titration_levels"] == 3
    e = d.replace(variant="escalation_only")
    assert d.variant == "deescalation" and e.variant == "escalation_only"
    assert d == bd.ThreePlusThree(8, titration_levels=3) and d != e


# -- invariants over random trials ---------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    p=st.lists(st.floats(0, 1), min_size=6, max_size=6),
    seed=st.integers(0, 2**32 - 1),
    titration=st.sampled_from([0, 3]),
    variant=st.sampled_from(["deescalation", "escalation_only"]),
)
def test_random_trials_respect_the_rules(p, seed, titration, variant):
    """Run whole trials and check: no skipping, never at/above a level with 2+ DLTs,
    vectorised decisions equal one-trial decisions, selection obeys the MTD rule."""
    d = bd.ThreePlusThree(6, titration_levels=titration, variant=variant)
    rng = np.random.default_rng(seed)
    data = bd.DoseData.empty(1, 6)
    history = []
    for _ in range(40):
        dec = d.decide(data)
        if dec.stop[0]:
            break
        nxt, size = int(dec.next_dose[0]), int(dec.cohort_size[0])
        assert nxt <= data.highest_tried[0] + 1  # no skip
        toxic = np.flatnonzero(data.dlt[0] >= 2)
        if toxic.size:
            assert nxt < toxic[0]
        assert data.n[0, nxt] + size <= 6 or titration  # never more than 6 at a dose
        k = int((rng.random(size) < p[nxt]).sum())
        history.append(data)
        data = data.after_cohort(np.array([nxt]), np.array([size]), np.array([k]))
    else:
        pytest.fail("3+3 did not stop")
    sel = d.select(data)
    level = int(sel.dose[0])
    if level >= 0 and not sel.is_mad[0] and variant == "deescalation":
        assert data.n[0, level] >= 6 and data.dlt[0, level] <= 1
    # all states of the trial at once give the same decisions as one by one
    if history:
        stacked = bd.DoseData(
            *(np.concatenate([getattr(h, f) for h in history]) for f in
              ("n", "dlt", "current", "last_n", "last_dlt", "grade2"))
        )  # fmt: skip
        together = d.decide(stacked)
        for i, h in enumerate(history):
            one = d.decide(h)
            assert together.next_dose[i] == one.next_dose[0]
            assert together.reason[i] == one.reason[0]


@pytest.mark.parametrize(
    "data, variant, next_dose, stop, mtd",
    [
        # level 6 was given after 2/3 at level 5 (a protocol deviation in real data): the
        # trial is above the MTD, not "at the top level" (there are 8 levels).
        # De-escalation: back to level 4 (3 patients) and expand it to 6.
        ("1N 2N 3N 4NNN 5TTN 6NNN", "deescalation", 4, False, None),
        # escalation only: stop, MTD = level 4 (just below the lowest level with 2+ DLTs)
        ("1N 2N 3N 4NNN 5TTN 6NNN", "escalation_only", None, True, 4),
        # one patient at level 6 after 2/2 at level 5: never complete a cohort above it
        ("1N 2N 3N 4NNN 5TT 6N", "deescalation", 4, False, None),
        ("1N 2N 3N 4NNN 5TT 6N", "escalation_only", None, True, 4),
    ],
)
def test_data_above_a_level_with_two_dlts_is_above_the_mtd(data, variant, next_dose, stop, mtd):
    d = bd.ThreePlusThree(n_doses=8, titration_levels=3, variant=variant)
    fit = d.fit(bd.Outcomes.parse(data))
    assert (fit.next_dose, fit.stop, fit.mtd) == (next_dose, stop, mtd)
    assert "top level" not in fit.reason
    if stop:  # level 6 is above the MTD, but the MTD is level 4, not level 5
        assert "below the lowest level with 2+ DLTs" in fit.reason


@pytest.mark.parametrize("variant", ["deescalation", "escalation_only"])
def test_data_above_a_toxic_lowest_level_stop_without_mtd(variant):
    # 2/2 at level 1, then (a deviation) one patient at level 2: no MTD, stop
    d = bd.ThreePlusThree(n_doses=5, variant=variant)
    fit = d.fit(bd.Outcomes.parse("1TT 2N"))
    assert (fit.next_dose, fit.stop, fit.mtd) == (None, True, None)
    assert "level 1 has 2+ DLTs" in fit.reason
