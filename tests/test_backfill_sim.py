"""Backfill simulation and real data (issue 14 item 2, second test file): cohort and calendar
time for every registered design, and real data with a ``role`` column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.designs.slots.backfill import (
    OpeningAll,
    OpeningAny,
    parse_backfill,
    parse_opening,
    too_toxic,
)
from bayes_dose.dose_data import DoseData
from bayes_dose.testing import registered_designs

P8 = [0.05, 0.1, 0.2, 0.3, 0.45, 0.55, 0.6, 0.7]
TL = bd.Timeline(accrual_per_month=6)


# -- the slot and its text ------------------------------------------------------------------
def test_opening_rules_combine_and_round_trip_through_text():
    rule = bd.OpensWhenCleared() & (bd.AtOrBelowCurrent() | bd.MinResponses(2))
    assert isinstance(rule, OpeningAll) and isinstance(rule.parts[1], OpeningAny)
    assert repr(rule) == "OpensWhenCleared() & (AtOrBelowCurrent() | MinResponses(2))"
    assert parse_opening(repr(rule)) == rule
    bf = bd.Backfill(opening=rule, ratio=0.5, max_per_dose=9, max_total=10, priority="random")
    assert parse_backfill(repr(bf)) == bf
    assert eval(repr(bf), {n: getattr(bd, n) for n in bd.__all__}) == bf
    assert bd.Backfill(opening="BelowCurrent() & OpensWhenCleared(3)").opening == (
        bd.BelowCurrent() & bd.OpensWhenCleared(3)
    )


def test_every_design_accepts_backfill_as_a_base_option_and_text():
    bf = bd.Backfill(max_total=12)
    d = bd.BOIN(target=0.25, n_doses=5, max_n=36, backfill=repr(bf))
    assert d.backfill == bf
    assert d.replace(cohort_size=3) == d
    assert d.spec()["backfill"]["slot"] == "Backfill"
    assert bd.ThreePlusThree(4, backfill=bf).backfill == bf
    assert bd.CRM(skeleton=[0.1, 0.2, 0.3], target=0.25, max_n=30, backfill=bf).backfill == bf


@pytest.mark.parametrize("bad, match", [
    (dict(ratio=0), "ratio must be > 0"),
    (dict(max_per_dose=2.5), "max_per_dose must be a whole number"),
    (dict(max_total=0), "max_total must be a whole number"),
    (dict(priority="middle"), "priority must be one of"),
    (dict(opening="Sometimes()"), "unknown name 'Sometimes'"),
])  # fmt: skip
def test_bad_backfill_arguments_are_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        bd.Backfill(**bad)


def test_boin_closes_a_dose_at_the_deescalation_boundary_and_every_dose_above():
    d = bd.BOIN(target=0.25, n_doses=4, max_n=36, backfill=bd.Backfill())
    _, lam_d = d.lambdas
    # level 1: 2/6 = 0.33 >= lambda_d (0.298), and pooled with level 2 (3/9) too: too
    # toxic, and so are the levels above it; pooled 2/9 < lambda_d keeps it open (BF-BOIN)
    data = DoseData.from_counts([[6, 3, 0, 0], [6, 3, 0, 0], [6, 3, 0, 0]],
                                [[2, 1, 0, 0], [2, 0, 0, 0], [1, 0, 0, 0]],
                                current=[1, 1, 1])  # fmt: skip
    assert 2 / 6 >= lam_d > 2 / 9 and 3 / 9 >= lam_d
    assert too_toxic(d, data).tolist() == [[True] * 4, [False] * 4, [False] * 4]


def test_generic_closing_uses_the_designs_own_rule():
    # 3+3: 2 DLTs in 3 at level 1 de-escalates / stops there: closed
    d = bd.ThreePlusThree(3, backfill=bd.Backfill())
    data = DoseData.from_counts([[3, 3, 0], [3, 3, 0]], [[2, 0, 0], [0, 0, 0]], current=[1, 1])
    assert too_toxic(d, data).tolist() == [[True, True, True], [False, False, False]]


def test_priority_picks_the_highest_lowest_or_a_random_open_dose():
    open_ = np.array([[True, False, True, True], [False] * 4])
    assert bd.Backfill(priority="highest").choose(open_).tolist() == [3, -1]
    assert bd.Backfill(priority="lowest").choose(open_).tolist() == [0, -1]
    r = bd.Backfill(priority="random")
    picks = [int(r.choose(open_, np.array([x, 0.5]))[0]) for x in (0.0, 0.34, 0.67, 0.999)]
    assert picks == [0, 2, 3, 3]


def _bf_data(n, y, bn, current=1):
    return DoseData(np.array([n]), np.array([y]), np.array([current]), np.array([3]),
                    np.array([0]), np.array([0]), backfill_n=np.array([bn]))  # fmt: skip


def test_bf_boin_pools_conflicting_backfill_data():
    """BF-BOIN's conflict rule: level 1 (backfilled) says de-escalate, level 2 (current,
    0/3) says escalate: pool levels 1-2 and decide on the pooled data."""
    d = bd.BOIN(target=0.25, n_doses=4, max_n=36, backfill=bd.Backfill())
    plain = bd.BOIN(target=0.25, n_doses=4, max_n=36)
    lam_e, lam_d = d.lambdas
    # pooled 3/12 = 0.25 between the boundaries: stay at level 2 (BOIN alone escalates)
    data = _bf_data([9, 3, 0, 0], [3, 0, 0, 0], [6, 0, 0, 0])
    assert 3 / 9 >= lam_d and lam_e < 3 / 12 < lam_d
    dec = d.decide(data)
    assert int(dec.next_dose[0]) == 1 and int(plain.decide(data).next_dose[0]) == 2
    assert "backfill data: level 1 disagrees with level 2; levels 1-2 pooled" in d.explain(data, dec)
    # pooled 4/12 >= lambda_d and no cumulative prefix below it: level b* - 1 -> level 1
    data = _bf_data([9, 3, 0, 0], [4, 0, 0, 0], [6, 0, 0, 0])
    assert int(d.decide(data).next_dose[0]) == 0 and int(plain.decide(data).next_dose[0]) == 2
    # pooled 2/12 <= lambda_e: escalate although level 1 alone (2/9) says stay
    data = _bf_data([9, 3, 0, 0], [2, 0, 0, 0], [6, 0, 0, 0])
    assert lam_e < 2 / 9 < lam_d and 2 / 12 <= lam_e
    assert int(d.decide(data).next_dose[0]) == 2
    # other designs read the backfill data with their own rule (3+3: 2 DLTs at level 1)
    c = bd.ThreePlusThree(4, backfill=bd.Backfill())
    data = _bf_data([6, 3, 0, 0], [2, 0, 0, 0], [3, 0, 0, 0])
    dec = c.decide(data)
    assert bool(dec.stop[0]) and "level 1 has 2+ DLTs" in c.explain(data, dec)


# -- simulation ---------------------------------------------------------------------------
def _with_backfill(design, bf):
    params = design.get_params()
    extra = {"max_n": design.max_n or 18} if "max_n" in params else {}
    return design.replace(backfill=bf, **extra)


CASES = registered_designs()


@pytest.mark.parametrize("name", list(CASES))
def test_backfill_simulates_for_every_registered_design(name):
    d = CASES[name].design
    if d.requires_other_arms:
        pytest.skip("decides from another arm's data (simulated by bd.Programme)")
    bf = bd.Backfill(max_total=6)
    db = _with_backfill(d, bf)
    p = np.linspace(0.05, 0.5, d.n_doses)
    kw = {}
    if getattr(d, "tite_window", None) is not None:
        kw["timeline"] = TL
    if getattr(d, "uses_efficacy", False):  # responses too (both cohort and calendar time)
        eff = {"true_tox": np.linspace(0.2, 0.5, d.n_doses)}
        kw = {"efficacy": eff}
        cal = bd.simulate({"b": db}, p, n_trials=30, seed=2, progress=False, timeline=TL,
                          efficacy=eff)  # fmt: skip
        assert (cal.resp.values <= cal.n.values).all() and int(cal.n_backfill.sum()) > 0
    s = bd.simulate({"b": db}, p, n_trials=30, seed=2, progress=False, **kw)
    if "efficacy" in kw:
        assert (s.resp.values <= s.n.values).all()
        assert (s.patient_resp.values.sum(-1) == s.resp.values.sum(-1)).all()
    bn, n = s.backfill_n.values, s.n.values
    assert (bn <= n).all() and (bn.sum(-1) == s.n_backfill.values).all()
    assert (s.n_backfill.values <= 6).all() and s.n_backfill.values.sum() > 0
    assert (n.sum(-1) == s.n_patients.values).all()
    assert ((s.patient_dose.values > 0).sum(-1) == s.n_patients.values).all()
    oc = bd.operating_characteristics(s)
    assert np.allclose(oc.mean_backfill_n.values, bn.mean(axis=2))
    assert np.allclose(oc.mean_n_backfill.values, s.n_backfill.values.mean(axis=2))


@pytest.mark.parametrize("timeline", [None, TL])
def test_backfill_that_never_opens_leaves_every_trial_unchanged(timeline):
    """Escalation patients keep their common random numbers: a backfill slot that never
    opens (ratio 1/100 of 36 patients: no backfill patient in cohort time; in calendar
    time a cap of 1 patient per dose already reached) gives the same trials."""
    base = bd.BOIN(target=0.25, n_doses=8, max_n=36, stay_one_in_three=True)
    bf = bd.Backfill(ratio=0.01) if timeline is None else bd.Backfill(max_per_dose=1)
    s = bd.simulate({"a": base, "b": base.replace(backfill=bf)}, P8, n_trials=400, seed=5,
                    progress=False, timeline=timeline)  # fmt: skip
    a, b = s.sel(design="a"), s.sel(design="b")
    assert int(b.n_backfill.sum()) == 0
    for var in ("selected", "n", "dlt", "stop_reason", "n_patients"):
        assert (a[var].values == b[var].values).all(), var
    if timeline is not None:
        assert np.allclose(a.duration_days.values, b.duration_days.values)


def test_cohort_time_ratio_caps_and_doses_below_escalation():
    bf = bd.Backfill(opening=bd.BelowCurrent() & bd.OpensWhenCleared(), ratio=0.5,
                     max_per_dose=9, max_total=10)  # fmt: skip
    d = bd.BOIN(target=0.25, n_doses=8, max_n=36, backfill=bf)
    s = bd.simulate({"b": d}, P8, n_trials=500, seed=7, progress=False).sel(design="b")
    bn, n = s.backfill_n.values[0], s.n.values[0]
    esc = n - bn
    nb = s.n_backfill.values[0]
    assert (nb <= np.floor(0.5 * esc.sum(-1))).all() and (nb <= 10).all()
    # a backfilled dose lies below the highest escalation dose
    top = np.where(esc > 0, np.arange(8), -1).max(axis=1)
    assert (np.where(bn > 0, np.arange(8), -1).max(axis=1) < np.maximum(top, 0) + (nb == 0)).all()
    # a dose got backfill patients only while it held fewer than max_per_dose patients
    # (escalation may add more later): backfill_n <= 9 everywhere
    assert (bn <= 9).all() and nb.mean() > 5


def test_calendar_backfill_treats_waiting_patients_and_counts_in_duration():
    bf = bd.Backfill(opening=bd.BelowCurrent() & bd.OpensWhenCleared(), ratio=None, max_total=12)
    base = bd.BOIN(target=0.25, n_doses=8, max_n=36, stay_one_in_three=True)
    s = bd.simulate({"boin": base, "bf": base.replace(backfill=bf)}, P8, n_trials=400, seed=3,
                    progress=False, timeline=TL)  # fmt: skip
    a, b = s.sel(design="boin"), s.sel(design="bf")
    # patients who queued for escalation are backfilled instead: fewer queue
    assert float(b.n_queued.mean()) < float(a.n_queued.mean())
    assert 10 < float(b.n_backfill.mean()) <= 12
    # escalation patients: at most 36; all patients: escalation + backfill
    esc = (b.n - b.backfill_n).sum("dose").values
    assert (esc <= 36).all() and (b.n_patients.values == esc + b.n_backfill.values).all()
    # backfill windows count in the duration: never shorter than the last dose + window
    last = np.nanmax(b.patient_dose_day.values, axis=-1) + 21
    first = np.nanmin(b.patient_dose_day.values, axis=-1)
    assert np.allclose(b.duration_days.values, last - first)


# -- real data -------------------------------------------------------------------------------
def _frame(roles):
    rows = [("P1", 1, 0), ("P2", 1, 0), ("P3", 1, 0), ("P4", 2, 0), ("P5", 2, 0), ("P6", 2, 0),
            ("B1", 1, 1), ("B2", 1, 1), ("B3", 1, 0)]  # fmt: skip
    df = pd.DataFrame(rows, columns=["patient_id", "dose_level", "dlt"])
    df["arm"] = "A"
    df["role"] = roles
    return df


def test_fit_counts_backfill_patients_and_says_which_doses_are_open():
    o = bd.Outcomes.from_frame(_frame(["escalation", "", None] + ["escalation"] * 3
                                      + ["backfill"] * 3))  # fmt: skip
    d = bd.BOIN(target=0.25, n_doses=4, max_n=36, backfill=bd.Backfill(max_total=12))
    f = d.fit(o)
    assert f.data.n.tolist() == [[6, 3, 0, 0]] and f.data.backfill_n.tolist() == [[3, 0, 0, 0]]
    assert int(f.data.current[0]) == 1 and int(f.data.last_n[0]) == 3
    assert f.next_dose == 2 and "levels 1-2 pooled" in f.reason  # 2/9 pooled: stay
    # level 1 (2/6) stays open: pooled with level 2 it is 2/9 < lambda_d (BF-BOIN)
    assert f.backfill_open == (1,) and f.backfill_reason.startswith("level 1: open")
    o3 = bd.Outcomes.from_frame(_frame(["escalation"] * 6 + ["backfill"] * 3).assign(
        dlt=[0, 0, 0, 1, 0, 0, 1, 1, 1]))  # fmt: skip
    f3 = d.fit(o3)
    assert f3.backfill_open == () and "level 1: closed: the design's rule" in f3.backfill_reason
    # with no DLT among the backfill patients level 1 stays open
    o2 = bd.Outcomes.from_frame(_frame(["escalation"] * 6 + ["backfill"] * 3).assign(
        dlt=[0] * 9))  # fmt: skip
    f2 = d.fit(o2)
    assert f2.next_dose == 3 and f2.backfill_open == (1,)
    assert f2.backfill_reason.startswith("level 1: open; level 2: not opened")
    assert bd.BOIN(target=0.25, n_doses=4).fit(o2).backfill_open == ()


def test_a_bad_role_names_the_row_and_field():
    with pytest.raises(ValueError, match=r"field 'role': .*'expansion'.* is not a role"):
        bd.Outcomes.from_frame(_frame(["escalation"] * 8 + ["expansion"]))


def test_backfill_table_for_the_memo():
    bf = bd.Backfill(max_total=6)
    s = bd.simulate({"bf": bd.BOIN(target=0.25, n_doses=4, max_n=18, backfill=bf),
                     "boin": bd.BOIN(target=0.25, n_doses=4, max_n=18)},
                    [0.05, 0.15, 0.3, 0.5], n_trials=50, seed=1, progress=False)  # fmt: skip
    t = bd.backfill_table(s)
    assert list(t.columns) == ["design", "scenario", "dose_level", "mean_backfill_n", "mean_n",
                               "mean_n_backfill"]  # fmt: skip
    assert (t.loc[t.design == "boin", "mean_backfill_n"] == 0).all()
    bfrows = t[t.design == "bf"]
    assert np.isclose(bfrows.mean_backfill_n.sum(), bfrows.mean_n_backfill.iloc[0])


def test_toml_backfill_text_parses_through_the_grammar(tmp_path):
    p = tmp_path / "bf.toml"
    p.write_text(
        'protocol = "bat6021"\n[designs.bf]\ntype = "BOIN"\narms = ["mono"]\ntarget = 0.25\n'
        'max_n = 36\nstay_one_in_three = true\n'
        'backfill = "Backfill(opening=BelowCurrent() & OpensWhenCleared(), ratio=None, '
        'max_total=12)"\n', encoding="utf-8")  # fmt: skip
    d = bd.io.load_designs(p)["mono"]["bf"]
    assert d.backfill == bd.Backfill(opening=bd.BelowCurrent() & bd.OpensWhenCleared(),
                                     ratio=None, max_total=12)  # fmt: skip
    with pytest.raises(ValueError, match="unknown opening rule 'Opens'; known: AtOrBelowCurrent"):
        bd.io.design_from_spec({"type": "BOIN", "n_doses": 4, "target": 0.25,
                               "backfill": "Backfill(opening=Opens())"})


def test_checkpoints_keep_the_backfill_variables_and_simulate_oc_has_them(tmp_path):
    d = {"bf": bd.BOIN(target=0.25, n_doses=4, max_n=18, backfill=bd.Backfill(max_total=6))}
    p = [0.05, 0.15, 0.3, 0.5]
    a = bd.simulate(d, p, n_trials=60, seed=4, progress=False, checkpoint_dir=tmp_path)
    b = bd.simulate(d, p, n_trials=60, seed=4, progress=False, checkpoint_dir=tmp_path)  # reloaded
    assert (a.backfill_n.values == b.backfill_n.values).all() and int(b.n_backfill.sum()) > 0
    oc = bd.simulate_oc(d, p, n_trials=60, seed=4, progress=False).oc  # tests/test_backfill_store.py
    assert float(oc.mean_n_backfill.squeeze()) == pytest.approx(float(a.n_backfill.mean()), 1e-12)


def test_protocol_text_describes_the_backfill_rules():
    from bayes_dose.protocol_text import design_rules

    d = bd.BOIN(target=0.25, n_doses=5, max_n=30,
                backfill=bd.Backfill(opening=bd.BelowCurrent() & bd.MinResponses(1), ratio=None))
    text = design_rules(d)[-1]
    assert text.startswith("Backfill: a dose opens when (the dose is below the current "
                           "escalation dose) and (at least 1 response(s) at the dose)")
    assert "pooled (BF-BOIN)" in text and "max_n counts escalation patients" in text


def test_a_backfill_patient_in_the_window_does_not_hold_the_escalation_decision():
    df = _frame(["escalation"] * 6 + ["backfill"] * 3).assign(dlt=[0] * 9)
    df["followup_days"] = [21.0] * 8 + [5.0]  # B3 is 5 days into the 21-day window
    d = bd.BOIN(target=0.25, n_doses=4, max_n=36, backfill=bd.Backfill())
    f = d.fit(bd.Outcomes.from_frame(df))
    assert not f.hold and f.next_dose == 3 and f.pending == ("B3",)
    assert f.data.n.tolist() == [[5, 3, 0, 0]] and f.data.backfill_n.tolist() == [[2, 0, 0, 0]]
    assert "[backfill patient(s) B3 still in the DLT window: not counted yet]" in f.reason
    # an escalation patient in the window still holds
    df.loc[5, "followup_days"] = 3.0
    g = d.fit(bd.Outcomes.from_frame(df))
    assert g.hold and "P6" in g.reason and "B3" not in g.reason.split("[")[0]
