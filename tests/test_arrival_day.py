"""Optional ``arrival_day`` of Outcomes (issue 12, bad input: a first dose before arrival)."""

from __future__ import annotations

import pandas as pd
import pytest

import bayes_dose as bd


def _frame(**extra) -> pd.DataFrame:
    base = {"patient_id": ["p1", "p2", "p3"], "arm": "mono", "dose_level": [1, 1, 1],
            "dlt": [0, 0, 1], "enroll_day": [1, 3, 10], "followup_days": [21, 21, 5]}
    base.update(extra)
    return pd.DataFrame(base)


def test_first_dose_before_arrival_names_the_row_and_field() -> None:
    with pytest.raises(ValueError, match=r"row 1 \(patient_id='p2'\) field 'enroll_day': "
                                         r"day 3 .*before .*arrival_day \(5\)"):
        bd.Outcomes.from_frame(_frame(arrival_day=[0, 5, 9]))


def test_first_dose_before_arrival_in_a_csv_names_the_line(tmp_path) -> None:
    p = tmp_path / "d.csv"
    p.write_text("patient_id,arm,dose_level,dlt,arrival_day,enroll_day\n"
                 "a,mono,1,0,1,2\nb,mono,1,0,9,8\n")
    with pytest.raises(ValueError, match=r"'d.csv' line 3 \(patient_id='b'\) field "
                                         r"'enroll_day': day 8 .*arrival_day \(9\)"):
        bd.Outcomes.read_csv(p)


@pytest.mark.parametrize("value, message", [(-1, "is negative"), ("soon", "")])
def test_bad_arrival_day_values(value, message) -> None:
    with pytest.raises(ValueError, match=rf"row 0 .*field 'arrival_day'.*{message}"):
        bd.Outcomes.from_frame(_frame(arrival_day=[value, 1, 2]))


def test_arrival_day_is_kept_and_round_trips(tmp_path) -> None:
    out = bd.Outcomes.from_frame(_frame(arrival_day=[0, 3, None]))
    f = out.to_frame()
    assert f["arrival_day"].tolist()[:2] == [0.0, 3.0] and pd.isna(f["arrival_day"].iat[2])
    assert out.arm("mono").to_frame()["arrival_day"].tolist()[:2] == [0.0, 3.0]
    p = tmp_path / "x.csv"
    out.to_csv_frame().to_csv(p, index=False)
    assert bd.Outcomes.read_csv(p) == out
    assert bd.Outcomes.from_frame(f) == out


def test_without_the_column_the_table_is_unchanged() -> None:
    f = bd.Outcomes.from_frame(_frame()).to_frame()
    assert "arrival_day" not in f.columns
    assert tuple(f.columns) == bd.outcomes.COLUMNS


def test_arrival_without_enrolment_is_accepted() -> None:
    out = bd.Outcomes.from_frame(_frame(arrival_day=[0, 1, 2], enroll_day=[None, None, None]))
    assert out.to_frame()["arrival_day"].tolist() == [0.0, 1.0, 2.0]


# The other bad inputs, checked by hand and held here (all were already handled).
def _proto_frame(**extra) -> pd.DataFrame:
    arm = bd.protocols.bat6021().arms[0].name
    base = {"patient_id": ["p1", "p2"], "arm": arm, "dose_level": [1, 1], "dlt": [0, 1],
            "enroll_day": [1, 3], "followup_days": [21, 10]}
    base.update(extra)
    return pd.DataFrame(base)


def test_dlt_day_after_the_window_and_negative_follow_up_are_errors() -> None:
    proto = bd.protocols.bat6021()
    with pytest.raises(ValueError, match=r"row 1 \(patient_id='p2'\) field 'dlt_day': 25.0 is "
                                         r"after the 21-day DLT window"):
        bd.Outcomes.from_frame(_proto_frame(dlt_day=[None, 25], followup_days=[21, 30]), proto)
    with pytest.raises(ValueError, match=r"row 0 \(patient_id='p1'\) field 'followup_days': -1 "
                                         r"is negative"):
        bd.Outcomes.from_frame(_proto_frame(followup_days=[-1, 10]), proto)


def test_a_tite_window_other_than_the_protocols_warns() -> None:
    proto = bd.protocols.bat6021()
    out = bd.Outcomes.from_frame(_proto_frame(followup_days=[5, 10]), proto)
    sub = out.arm(proto.arms[0].name)
    n = len(proto.arms[0].doses_mg)
    with pytest.warns(UserWarning, match=r"tite_window=28 days differs from the protocol's DLT "
                                         r"window \(21 days"):
        bd.BOIN(0.25, n, tite_window=28).fit(sub)
    with pytest.warns(UserWarning, match=r"tite_window=28 days but the protocol's DLT window "
                                         r"is 21 days"):
        bd.simulate({"x": bd.BOIN(0.25, 8, max_n=6, tite_window=28)}, [0.05] * 8, n_trials=2,
                    progress=False, timeline=bd.Timeline(accrual_per_month=4), protocol=proto)


def test_arms_with_and_without_arrival_days_combine() -> None:
    """Data of two arms, one with arrival days (as Study pools them: to_frame, concat,
    from_frame): the other arm's arrival days are blank, nothing else changes."""
    a = bd.Outcomes.from_frame(_frame(arrival_day=[0, 2, 9]))
    b = bd.Outcomes.from_frame(_frame(arm="combo", patient_id=["c1", "c2", "c3"]))
    both = bd.Outcomes.from_frame(pd.concat([a.to_frame(), b.to_frame()], ignore_index=True))
    f = both.arm("combo").to_frame()
    assert f["arrival_day"].isna().all()
    assert both.arm("mono").to_frame()["arrival_day"].tolist() == [0.0, 2.0, 9.0]
    pd.testing.assert_frame_equal(f.drop(columns="arrival_day"), b.to_frame())
