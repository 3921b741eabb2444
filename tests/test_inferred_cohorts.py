"""Cohorts inferred from the enrolment order (no cohort column): patients of another arm,
or backfill patients, enrolled in between do not split an escalation cohort (audit
finding 2: CRM's coherence hold used to depend on where they sat in the file)."""

from __future__ import annotations

import pandas as pd

import bayes_dose as bd

SKEL = bd.crm_skeleton(target=0.25, halfwidth=0.05, mtd_guess=5, n_doses=6)


def frame(rows):
    return pd.DataFrame([dict(patient_id=f"P{i:02d}", arm=a, dose_level=lv, dlt=y, role=r,
                              enroll_day=i + 1) for i, (a, lv, y, r) in enumerate(rows)])  # fmt: skip


ESC = [("mono", 1, 0, "escalation")] * 3 + [("mono", 2, 0, "escalation")] * 3 + [
    ("mono", 3, 1, "escalation"), ("mono", 3, 0, "escalation"), ("mono", 3, 0, "escalation")]


def cohorts(df):
    out = bd.Outcomes.from_frame(df).to_frame()
    return out[out.arm == "mono"].sort_values("enroll_day")["cohort"].tolist()


def test_other_arm_between_patients_does_not_split_a_cohort() -> None:
    combo = ("combo", 1, 0, "escalation")
    rows = [*ESC[:7], combo, ESC[7], combo, ESC[8]]
    c = cohorts(frame(rows))
    assert c[:3] == [c[0]] * 3 and c[3:6] == [c[3]] * 3 and c[6:] == [c[6]] * 3
    assert len({c[0], c[3], c[6]}) == 3
    mono = frame(rows)
    fit_all = bd.CRM(SKEL, 0.25).fit(bd.Outcomes.from_frame(mono).arm("mono"))
    fit_mono = bd.CRM(SKEL, 0.25).fit(bd.Outcomes.from_frame(mono[mono.arm == "mono"]))
    assert fit_all.next_dose == fit_mono.next_dose == 3  # coherence: 1/3 in the last cohort


def test_backfill_patient_joins_the_cohort_being_treated() -> None:
    rows = [*ESC[:7], ("mono", 2, 0, "backfill"), *ESC[7:]]
    df = frame(rows)
    c = cohorts(df)
    assert c[6:] == [c[6]] * 4  # the backfill patient has the cohort of the level-3 run
    explicit = df.assign(cohort=[1, 1, 1, 2, 2, 2, 3, 3, 3, 3])
    f_inf = bd.CRM(SKEL, 0.25).fit(bd.Outcomes.from_frame(df))
    f_exp = bd.CRM(SKEL, 0.25).fit(bd.Outcomes.from_frame(explicit))
    assert f_inf.next_dose == f_exp.next_dose == 3


def test_runs_without_interleaving_are_unchanged() -> None:
    assert cohorts(frame(ESC)) == [1, 1, 1, 2, 2, 2, 3, 3, 3]
