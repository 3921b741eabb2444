"""Outcomes: parsing, validation (row and field named), counts; hypothesis fuzzing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bayes_dose as bd

PROTO = bd.protocols.bat6021()


def test_parse_counts_and_cohorts():
    out = bd.Outcomes.parse("1N 2N 3N 4NNN 4NTN")
    c = out.counts()
    assert c["n"].tolist() == [1, 1, 1, 6] and c["dlt"].tolist() == [0, 0, 0, 1]
    f = out.to_frame()
    assert f["cohort"].tolist() == [1, 2, 3, 4, 4, 4, 5, 5, 5]
    assert f["dlt"].sum() == 1
    assert [len(x) for x in out.cohorts()] == [1, 2, 3, 6, 9]


def test_parse_with_protocol_fills_mg():
    out = bd.Outcomes.parse("4NNN 5T", protocol=PROTO)
    assert out.to_frame()["dose_mg"].tolist() == [30, 30, 30, 100]
    with pytest.raises(ValueError, match="unknown level 9"):
        bd.Outcomes.parse("9N", protocol=PROTO)


@pytest.mark.parametrize("bad", ["1X", "N", "1", "a1N", "1N 2"])
def test_parse_rejects_malformed_tokens(bad):
    with pytest.raises(ValueError, match="token"):
        bd.Outcomes.parse(bad)


def test_from_counts():
    out = bd.Outcomes.from_counts(n=[3, 6, 0, 2], dlt=[0, 1, 0, 2])
    c = out.counts()
    assert c["n"].tolist() == [3, 6, 0, 2] and c["dlt"].tolist() == [0, 1, 0, 2]
    with pytest.raises(ValueError, match="level 2 field 'dlt'"):
        bd.Outcomes.from_counts(n=[3, 1], dlt=[0, 2])


def _frame(**over):
    base = {
        "patient_id": ["a", "b", "c"], "arm": ["mono"] * 3, "dose_level": [1, 2, 2],
        "dlt": [0, 0, 1],
    }  # fmt: skip
    base.update(over)
    return pd.DataFrame(base)


@pytest.mark.parametrize(
    ("over", "row", "field"),
    [
        ({"dose_level": [1, 9, 2]}, 1, "dose_level"),
        ({"dose_level": [1, 0, 2]}, 1, "dose_level"),
        ({"dose_level": [1, 2.5, 2]}, 1, "dose_level"),
        ({"dlt": [0, 2, 1]}, 1, "dlt"),
        ({"dlt": [0, "maybe", 1]}, 1, "dlt"),  # yes/no codes are read (interface A)
        ({"patient_id": ["a", "b", "a"]}, 2, "patient_id"),
        ({"arm": ["mono", "triple", "mono"]}, 1, "arm"),
        ({"followup_days": [21, -1, 3]}, 1, "followup_days"),
        ({"enroll_day": [1, 2, -5]}, 2, "enroll_day"),
    ],
)
def test_bad_rows_name_row_and_field(over, row, field):
    with pytest.raises(ValueError, match=rf"row {row} .*field '{field}'"):
        bd.Outcomes.from_frame(_frame(**over), protocol=PROTO)


def test_missing_and_unknown_columns():
    with pytest.raises(ValueError, match="missing column"):
        bd.Outcomes.from_frame(_frame().drop(columns="dlt"))
    with pytest.raises(ValueError, match="unknown column"):
        bd.Outcomes.from_frame(_frame(colour=["r", "g", "b"]))


def test_dose_mg_maps_to_levels_and_must_agree():
    df = _frame().drop(columns="dose_level").assign(dose_mg=[1.0, 3.0, 3.0])
    out = bd.Outcomes.from_frame(df, protocol=PROTO)
    assert out.to_frame()["dose_level"].tolist() == [1, 2, 2]
    with pytest.raises(ValueError, match=r"row 2 .*field 'dose_mg'"):
        bd.Outcomes.from_frame(_frame(dose_mg=[1.0, 3.0, 10.0]), protocol=PROTO)
    with pytest.raises(ValueError, match="no dose 7"):
        bd.Outcomes.from_frame(df.assign(dose_mg=[1.0, 7.0, 3.0]), protocol=PROTO)


def test_immutability():
    out = bd.Outcomes.parse("1NNT")
    f = out.to_frame()
    f.loc[0, "dlt"] = 1
    assert out.counts()["dlt"].tolist() == [1]


def test_multiple_arms():
    out = bd.examples.bat6021_outcomes()
    assert out.arms == ("mono", "combo")
    with pytest.raises(ValueError, match="pass arm="):
        out.counts()
    assert out.counts(arm="combo")["n"].tolist() == [3, 6, 6, 0, 0]


# -- fuzzing ------------------------------------------------------------------------------
cells = st.one_of(
    st.integers(-3, 12), st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=3), st.none(), st.booleans(),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "patient_id": cells,
                "arm": st.one_of(st.sampled_from(["mono", "combo"]), cells),
                "dose_level": cells,
                "dlt": cells,
                "followup_days": cells,
            }
        ),
        max_size=8,
    )
)
def test_fuzz_never_crashes_or_miscounts(rows):
    df = pd.DataFrame(rows, columns=["patient_id", "arm", "dose_level", "dlt", "followup_days"])
    try:
        out = bd.Outcomes.from_frame(df, protocol=PROTO)
    except ValueError:
        return
    f = out.to_frame()
    assert len(f) == len(df)  # nothing dropped
    for arm in out.arms:
        sub = df[df["arm"].map(lambda v: v.strip() if isinstance(v, str) else v) == arm]
        c = out.counts(arm=arm)
        # the counts equal a direct tally of the valid input
        levels = sub["dose_level"].astype(float).astype(int).to_numpy()
        assert c["n"].sum() == len(sub)
        # dlt codes: 0/1, booleans, yes/no, y/n, true/false (interface A)
        yes = {"1", "yes", "y", "true"}
        assert c["dlt"].sum() == int(
            sum(bool(v) if not isinstance(v, str) else v.strip().lower() in yes
                for v in sub["dlt"])
        )  # fmt: skip
        np.testing.assert_array_equal(c["n"].to_numpy(), np.bincount(levels - 1, minlength=len(c)))


def test_rows_sorted_by_dose_keep_the_chronological_last_cohort():
    # The same trial listed by dose level (as a listing sorted by dose group would be):
    # cohort 5 (3 patients, 2 DLTs at level 3) is the last cohort, not cohort 4 at level 4.
    chrono = bd.Outcomes.parse("1NNN 2NNN 3NNN 4NNN 3TTN")
    f = chrono.to_frame().sort_values(["dose_level", "cohort"], kind="stable")
    by_dose = bd.Outcomes.from_frame(f[["patient_id", "arm", "dose_level", "dlt", "cohort"]])
    for out in (chrono, by_dose):
        data = bd.DoseData.from_outcomes(out, 5)
        assert (data.current[0], data.last_n[0], data.last_dlt[0]) == (2, 3, 2)
    # CRM (dfcrm's coherence restriction): 2/3 in the last cohort >= target, so no
    # escalation above level 3, whatever the row order.
    crm = bd.CRM(skeleton=[0.02, 0.04, 0.08, 0.13, 0.2], target=0.25)
    assert crm.fit(by_dose).next_dose == crm.fit(chrono).next_dose == 3
    # replay follows the cohort numbers
    replay = [len(o) for o in by_dose.cohorts()]
    assert replay == [3, 6, 9, 12, 15]
    assert bd.DoseData.from_outcomes(list(by_dose.cohorts())[3], 5).current[0] == 3
