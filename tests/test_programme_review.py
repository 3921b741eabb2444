"""Fresh-eyes review of bd.Programme under opens_when_cleared (cohort and calendar time):
what a user meets on awkward inputs -- a level the first arm does not have is refused
before Part I is simulated, the stop reasons say what happened, and the programme OCs say
how often Part II opened (and when), with a note when it did not open in every programme."""

import json

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.arm_dataset import DAYS_PER_MONTH
from bayes_dose.programme import SCHEDULE_REASONS

PROTO = bd.protocols.bat6021()
MONO_MG = [1, 3, 10, 30, 100, 300, 600, 900]
COMBO_MG = [30, 100, 300, 600, 900]
TL = bd.Timeline(accrual_per_month=4.0)
MONO_CURVE = [0.01, 0.02, 0.04, 0.08, 0.15, 0.25, 0.40, 0.55]
COMBO_CURVE = [0.08, 0.15, 0.28, 0.42, 0.6]
#: DLT wall at mono level 4 (30 mg): levels 1-3 never have a DLT, level 4 always.
WALL4 = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]


def _prog(opens, combo=None):
    combo = combo or {"BOIN": bd.BOIN(0.25, n_doses=5, max_n=12, doses_mg=COMBO_MG)}
    mono = {"BOIN": bd.BOIN(0.25, n_doses=8, max_n=18, doses_mg=MONO_MG)}
    return bd.Programme(arms={"mono": mono, "combo": combo}, opens=opens)


def test_level_beyond_the_first_arm_is_refused_before_part_one_runs():
    """level 9 of an 8-level first arm: refused when the programme is built (it used to be
    found only after the whole of Part I had been simulated)."""
    for opens in (bd.opens_when_cleared("mono", level=9),
                  bd.opens_after("mono") | bd.opens_when_cleared("mono", level=9)):  # fmt: skip
        with pytest.raises(ValueError, match=r"level 9 but 'mono' design 'BOIN' has 8 levels"):
            _prog(opens)
    _prog(bd.opens_when_cleared("mono", level=8))  # the top level is fine


def test_no_dose_cleared_reason_says_what_happened():
    """DLT wall at 30 mg, Part II opened once 10 mg is cleared: 10 mg is below every
    combination dose, so Part II waits and then stops with 0 patients.  Its reason must
    say that no combination level is at or below the highest monotherapy dose cleared (the
    old text, "no monotherapy dose cleared at or below a combination level", was false
    here: 10 mg was cleared and is below every combination level)."""
    prog = _prog(bd.opens_when_cleared("mono", level=3))
    for kw in ({}, {"timeline": TL, "protocol": PROTO}):
        ds = prog.simulate({"mono": WALL4, "combo": COMBO_CURVE}, n_trials=4, seed=5, **kw)
        m = bd.arm_view(ds, "mono").sel(design="BOIN", scenario="true_tox")
        n, y = m["n"].to_numpy(), m["dlt"].to_numpy()
        cleared = (n >= 3) & (6 * y <= n)
        top = np.array([max(np.asarray(MONO_MG)[c], default=0) for c in cleared])
        assert (top == 10).all()  # the highest mono dose cleared: 10 mg < 30 mg
        c = bd.arm_view(ds, "combo").sel(design="BOIN", scenario="true_tox")
        assert (c["n_patients"].to_numpy() == 0).all()
        reasons = json.loads(c.attrs["reasons"])["BOIN"]
        why = {reasons[int(k)] for k in c["stop_reason"].to_numpy()}
        assert why == {SCHEDULE_REASONS[1]}
    assert SCHEDULE_REASONS[1] == (
        "Part II stopped: no combination level at or below the highest monotherapy dose "
        "cleared when Part I ended")


def one(x):
    """The value of design BOIN (one scenario)."""
    return float(x.sel(design="BOIN").squeeze())


def _opened_by_reason(ds, g):
    c = bd.arm_view(ds, "combo").sel(design=g)
    code = json.loads(c.attrs["reasons"])[g].index(SCHEDULE_REASONS[0])
    return c["stop_reason"].to_numpy() != code


def test_p_opened_and_open_day_in_the_programme_ocs():
    """Calendar time: programme_p_opened = the share of programmes with an opening day
    (independent: programme_open_day finite; also: the stop reason is not "not opened"),
    programme_mean_open_months = mean (opening day - Part I's first dose) / 30.4375 over
    those programmes, with MC SEs; a note says in how many programmes Part II did not open."""
    prog = _prog(bd.opens_when_cleared("mono", level=6))
    ds = prog.simulate({"mono": MONO_CURVE, "combo": COMBO_CURVE}, n_trials=80, seed=3,
                       timeline=TL, protocol=PROTO)  # fmt: skip
    o = ds["programme_open_day"].sel(design="BOIN").to_numpy()  # (scenario, trial)
    opened = np.isfinite(o)
    assert 0 < opened.sum() < opened.size  # level 6 (300 mg) cleared in some programmes
    np.testing.assert_array_equal(opened, _opened_by_reason(ds, "BOIN"))
    oc = bd.operating_characteristics(ds)
    p = opened.mean(axis=-1)
    np.testing.assert_allclose(oc["programme_p_opened"].sel(design="BOIN").to_numpy(), p,
                               rtol=0, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(oc["programme_p_opened_se"].sel(design="BOIN").to_numpy(),
                               np.sqrt(p * (1 - p) / 80), rtol=0, atol=1e-12)  # fmt: skip
    first_dose = np.nanmin(bd.arm_view(ds, "mono").sel(design="BOIN")["patient_dose_day"]
                           .to_numpy()[0], axis=-1)  # from Part I's first dose, as the duration
    assert (first_dose > 0).all()
    months = (o[0] - first_dose)[opened[0]] / DAYS_PER_MONTH
    np.testing.assert_allclose(one(oc["programme_mean_open_months"]),
                               months.mean(), rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(one(oc["programme_mean_open_months_se"]),
                               months.std(ddof=1) / np.sqrt(months.size), rtol=1e-12)  # fmt: skip
    k = int((~opened).sum())
    assert f"did not open in {k} of 80" in oc.attrs["note"]


@pytest.mark.parametrize("calendar", [False, True])
def test_part_two_never_opened_is_flagged(calendar):
    """min_patients larger than Part I's sample size: Part II can never open.  The OCs of
    the combination arm then describe no patients at all (pcs 0, mean duration 0), so the
    programme OCs must say so: programme_p_opened = 0 and a note."""
    prog = _prog(bd.opens_when_cleared("mono", level=4, min_patients=100))
    kw = {"timeline": TL, "protocol": PROTO} if calendar else {}
    ds = prog.simulate({"mono": MONO_CURVE, "combo": COMBO_CURVE}, n_trials=10, seed=1, **kw)
    assert not _opened_by_reason(ds, "BOIN").any()
    oc = bd.operating_characteristics(ds)
    assert one(oc["programme_p_opened"]) == 0.0
    assert "did not open in 10 of 10" in oc.attrs["note"]
    pc = bd.programme_characteristics(ds)
    assert "did not open in 10 of 10" in pc.attrs["note"]
    if calendar:
        assert np.isnan(one(pc["programme_mean_open_months"]))


def test_opens_after_programme_ocs_unchanged():
    """A plain opens_after programme always opens Part II: no new variable, no note."""
    ds = _prog(bd.opens_after("mono")).simulate({"mono": MONO_CURVE, "combo": COMBO_CURVE},
                                               n_trials=5, seed=1)  # fmt: skip
    pc = bd.programme_characteristics(ds)
    assert "programme_p_opened" not in pc and "note" not in pc.attrs
    # opens_after | ...: Part II opens in every programme (at the latest when Part I ends)
    ds = _prog(bd.opens_after("mono") | bd.opens_when_cleared("mono", level=8)).simulate(
        {"mono": MONO_CURVE, "combo": COMBO_CURVE}, n_trials=5, seed=1, timeline=TL,
        protocol=PROTO)  # fmt: skip
    pc = bd.programme_characteristics(ds)
    assert one(pc["programme_p_opened"]) == 1.0
    assert "did not open" not in pc.attrs.get("note", "")


def test_programme_table_shows_the_opening():
    """The memo's programme table: how often and when Part II opened; "never opened"
    where it did not (not "no target")."""
    from bayes_dose.report import programme_table

    prog = _prog(bd.opens_when_cleared("mono", level=6))
    ds = prog.simulate({"a": {"mono": MONO_CURVE, "combo": COMBO_CURVE},
                        "b": {"mono": WALL4, "combo": COMBO_CURVE}}, n_trials=40, seed=3,
                       timeline=TL, protocol=PROTO)  # fmt: skip
    pc = bd.programme_characteristics(ds)
    tab = programme_table(ds).set_index("Scenario")
    p, se = (100 * float(pc[v].sel(design="BOIN", scenario="a")) for v in
             ("programme_p_opened", "programme_p_opened_se"))  # fmt: skip
    assert tab.loc["a", "Part II opened (% ± SE)"] == f"{p:.1f} ± {se:.1f}"
    assert tab.loc["b", "Part II opened (% ± SE)"] == "0.0 ± 0.0"
    assert tab.loc["b", "Months to Part II opening, if opened (mean ± SE)"] == (
        "not computed (never opened)")
    assert "Months, Part I start to the later arm's end (mean ± SE)" in tab


def test_backfill_opening_rule_is_not_taken_for_a_programme_rule():
    """bd.OpensWhenCleared is the *backfill* opening rule (bd.Backfill(opening=...)); given
    to Programme(opens=) the error must say so instead of "got OpensWhenCleared"."""
    with pytest.raises(ValueError, match=r"bd\.opens_when_cleared.*got OpensWhenCleared \(a backfill opening rule"):
        _prog(bd.OpensWhenCleared())
    with pytest.raises(ValueError, match=r"got str"):
        _prog("mono")


def test_p_correct_both_and_totals_in_calendar_time_from_the_arms():
    """Calendar time, opens_when_cleared: P(correct in both arms) and the total N / DLTs
    recomputed from each arm's own selections and counts (independent of the programme
    code), and never above either arm's pcs."""
    ds = _prog(bd.opens_when_cleared("mono", level=4)).simulate(
        {"mono": MONO_CURVE, "combo": COMBO_CURVE}, n_trials=60, seed=9, timeline=TL,
        protocol=PROTO)  # fmt: skip
    m = bd.arm_view(ds, "mono").sel(design="BOIN", scenario="true_tox")
    c = bd.arm_view(ds, "combo").sel(design="BOIN", scenario="true_tox")
    mtd_m, mtd_c = (bd.scenarios.true_mtd(x, 0.25) for x in (MONO_CURVE, COMBO_CURVE))
    both = (m["selected"].to_numpy() == mtd_m) & (c["selected"].to_numpy() == mtd_c)
    oc = bd.operating_characteristics(ds)
    np.testing.assert_allclose(one(oc["programme_p_correct_both"]), both.mean(), rtol=0, atol=1e-12)
    for a in ("mono", "combo"):
        assert one(oc["programme_p_correct_both"]) <= float(oc["pcs"].sel(arm=a, design="BOIN")
                                                            .squeeze()) + 1e-12  # fmt: skip
    tot_n = m["n_patients"].to_numpy().astype(int) + c["n_patients"].to_numpy().astype(int)
    tot_y = m["dlt"].to_numpy().sum(-1) + c["dlt"].to_numpy().sum(-1)
    np.testing.assert_allclose(one(oc["programme_mean_total_n"]), tot_n.mean(), rtol=1e-12)
    np.testing.assert_allclose(one(oc["programme_mean_total_dlt"]), tot_y.mean(), rtol=1e-12)
