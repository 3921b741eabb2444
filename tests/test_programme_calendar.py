"""bd.Programme in calendar time with opens_when_cleared (and ``opens_after | ...``): Part II
opens on the first day Part I's known information clears the level, then both arms run
concurrently; every Part II decision sees the Part I counts known that day (resolved
patients only) and never goes above the highest monotherapy dose they clear.

Every expectation is recomputed here, patient by patient, from Part I's patient-level days
in the output (``patient_dose_day``, ``patient_dlt_day``, the 21-day window): a Part I
patient's outcome is known from ``min(DLT day, dose day + 21)``.  Part II's days count
from its opening day ``programme_open_day`` (on Part I's clock), so a Part I patient
resolved on day ``r`` is known to the Part II decision of Part II day ``s`` iff
``r - open_day <= s`` (the same arithmetic as the simulator, so ties agree)."""

import hashlib
import json
import math

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.programme import SCHEDULE_REASONS

PROTO = bd.protocols.bat6021()
WINDOW = float(PROTO.dlt_window_days)
TL = bd.Timeline(accrual_per_month=4.0)
MONO_MG = [1, 3, 10, 30, 100, 300, 600, 900]
COMBO_MG = [30, 100, 300, 600, 900]
MONO_CURVE = [0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.6]
COMBO_CURVE = [0.05, 0.1, 0.2, 0.3, 0.5]
#: DLT wall at mono level 5: levels 1-4 never have a DLT, level 5 always.
WALL = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


def _mono():
    return bd.ThreePlusThree(8, doses_mg=MONO_MG)


def _combo(mg=COMBO_MG):
    return {"BOIN": bd.BOIN(0.25, n_doses=5, max_n=12, doses_mg=mg),
            "3+3": bd.ThreePlusThree(5, doses_mg=mg),
            "TITE-BOIN": bd.BOIN(0.25, n_doses=5, max_n=12, doses_mg=mg, tite_window=WINDOW)}  # fmt: skip


def _run(opens, mono_curve=MONO_CURVE, combo=None, n_trials=60, seed=3, **kw):
    combo = _combo() if combo is None else combo
    prog = bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": combo}, opens=opens)
    return prog.simulate({"mono": mono_curve, "combo": COMBO_CURVE}, n_trials=n_trials,
                         seed=seed, timeline=TL, protocol=PROTO, **kw)  # fmt: skip


class PartOne:
    """Part I's patients of one trial, from the output, and what was known when."""

    def __init__(self, m, t):
        self.dose = m["patient_dose"].to_numpy()[t].astype(int)
        self.day = m["patient_dose_day"].to_numpy()[t]
        self.dlt_day = m["patient_dlt_day"].to_numpy()[t]
        self.resolved = []  # (day, level 0-based, dlt)
        for k in np.flatnonzero(self.dose > 0):
            tox = not math.isnan(self.dlt_day[k])
            r = min(self.dlt_day[k], self.day[k] + WINDOW) if tox else self.day[k] + WINDOW
            self.resolved.append((float(r), int(self.dose[k]) - 1, tox))
        self.end = max(self.day[k] + WINDOW for k in np.flatnonzero(self.dose > 0))

    def counts(self, known):
        n, y = np.zeros(8, int), np.zeros(8, int)
        for r, lv, tox in self.resolved:
            if known(r):
                n[lv] += 1
                y[lv] += tox
        return n, y

    def clearing_day(self, level):
        """First day on which ``level`` (1-based) is cleared by the outcomes known (inf)."""
        for r in sorted({r for r, _, _ in self.resolved}):
            n, y = self.counts(lambda x, r=r: x <= r)
            if n[level - 1] >= 3 and 6 * y[level - 1] <= n[level - 1]:
                return r
        return math.inf

    def at(self, open_day, s):
        """Counts known on Part II day ``s`` (Part II opened on ``open_day``)."""
        return self.counts(lambda r: r - open_day <= s)

    def ceiling(self, open_day, s):
        """Highest combination level (1-based, 0: none) allowed on Part II day ``s``."""
        return _allowed(*self.at(open_day, s))

    def ever(self, open_day, s):
        """Highest combination level allowed on some day up to Part II day ``s``."""
        days = [r - open_day for r, _, _ in self.resolved if r - open_day <= s]
        return max([self.ceiling(open_day, d) for d in days] + [self.ceiling(open_day, s)])


def _allowed(n, y):
    ok = np.flatnonzero((n >= 3) & (6 * y <= n))
    if not ok.size:
        return 0
    top = MONO_MG[int(ok[-1])]
    return sum(mg <= top for mg in COMBO_MG)


def _groups(c, t):
    """Part II groups of trial ``t``: (first dose day, level, patient columns)."""
    coh = c["patient_cohort"].to_numpy()[t]
    day = c["patient_dose_day"].to_numpy()[t]
    dose = c["patient_dose"].to_numpy()[t]
    out = []
    for k in range(int(coh.max(initial=-1)) + 1):
        cols = np.flatnonzero(coh == k)
        assert len(set(dose[cols].tolist())) == 1
        out.append((float(day[cols].min()), int(dose[cols[0]]), cols))
    return out


def test_opens_on_the_clearing_day_and_never_above_the_ceiling():
    """(a) Part II opens on the first day Part I's known outcomes clear level 4 (never
    before: no Part II patient is dosed earlier); not cleared -> not opened, no patients.
    (b) every Part II group is at or below the ceiling of the counts known on the day it
    is decided (its first patient's dosing day), so every Part II dose is at or below the
    highest monotherapy dose cleared by its dosing day (cleared on some day up to then: a
    group is not split when a Part I DLT lowers the ceiling between its dosing days, as a
    cohort is not in cohort time -- 10 of the 1,737 patients here); the ceiling does bind
    (waits and stops with the schedule's reasons), the arms do overlap, and the programme
    lasts from Part I's first dose to the later arm's end."""
    ds = _run(bd.opens_when_cleared("mono", level=4), n_trials=80)
    m = bd.arm_view(ds, "mono").sel(design="3+3", scenario="true_tox")
    reasons = json.loads(bd.arm_view(ds, "combo").attrs["reasons"])
    overlap = bound = late = total = 0
    for g in _combo():
        c = bd.arm_view(ds, "combo").sel(design=g, scenario="true_tox")
        o = ds["programme_open_day"].sel(design=g, scenario="true_tox").to_numpy()
        dur = ds["programme_duration_days"].sel(design=g, scenario="true_tox").to_numpy()
        for t in range(80):
            one = PartOne(m, t)
            day0 = one.clearing_day(4)
            groups = _groups(c, t)
            why = reasons[g][int(c["stop_reason"][t])]
            if math.isinf(day0):  # (a) never cleared: never opened
                assert np.isnan(o[t]) and not groups and why == SCHEDULE_REASONS[0]
                assert dur[t] == m["duration_days"].to_numpy()[t]
                continue
            assert o[t] == day0  # (a) the opening day, recomputed
            pdd = c["patient_dose_day"].to_numpy()[t]
            assert np.nanmin(pdd, initial=np.inf) >= 0  # nobody before the opening day
            overlap += o[t] < one.end
            for s, level, cols in groups:  # (b) the ceiling on each decision day
                assert level <= one.ceiling(o[t], s), (g, t, s, level)
                for d in pdd[cols]:  # every dose: at most the highest cleared by its day
                    assert level <= one.ever(o[t], float(d))
                    # a later patient of a group dosed after a Part I DLT lowered the
                    # ceiling (between the group's dosing days): counted, the group goes on
                    late += level > one.ceiling(o[t], float(d))
                    total += 1
            bound += why in SCHEDULE_REASONS[1:]
            sel = int(c["selected"][t])
            assert sel <= one.ever(o[t], math.inf)  # capped (at its last decision day's)
            if groups:  # programme duration: first Part I dose to the later arm's end
                end2 = o[t] + max(pdd[cols].max() for _, _, cols in groups) + WINDOW
                first = np.nanmin(m["patient_dose_day"].to_numpy()[t])
                assert dur[t] == pytest.approx(max(one.end, end2) - first, abs=1e-9)
    assert overlap > 100 and bound > 10
    print(f"patients dosed above the ceiling of their own dosing day: {late} of {total}")


def test_non_borrowing_designs_shift_in_time_only():
    """(c) Mono levels 1-4 never have a DLT and the combination doses are at most 10 mg:
    once level 4 (30 mg) is cleared the ceiling allows every combination level for good.
    Then Part II under opens_when_cleared is exactly Part II under opens_after (its days
    count from its own opening day): same patients, DLTs, days, decisions, selections;
    only the opening day moves earlier (Part II overlaps Part I)."""
    mg = [1, 2, 3, 5, 10]
    curve = [0.0, 0.0, 0.0, 0.0, 0.3, 0.5, 0.7, 0.9]
    a = _run(bd.opens_after("mono"), curve, _combo(mg), n_trials=40, seed=5)
    w = _run(bd.opens_when_cleared("mono", level=4), curve, _combo(mg), n_trials=40, seed=5)
    ca, cw = bd.arm_view(a, "combo"), bd.arm_view(w, "combo")
    assert sorted(ca.data_vars) == sorted(cw.data_vars)
    for v in ca.data_vars:
        np.testing.assert_array_equal(ca[v].to_numpy(), cw[v].to_numpy(), err_msg=v)
    m = bd.arm_view(w, "mono").sel(design="3+3", scenario="true_tox")
    end = np.array([PartOne(m, t).end for t in range(40)])
    o = w["programme_open_day"].sel(scenario="true_tox").to_numpy()
    assert (o < end).all()  # every trial opened while Part I still ran
    assert (w["programme_duration_days"] <= a["programme_duration_days"]).all()
    assert (w["programme_duration_days"] < a["programme_duration_days"]).mean() > 0.9



def test_non_borrowing_designs_equal_opens_after_until_the_ceiling_binds():
    """(c, in general) With a binding ceiling, a non-borrowing Part II trial under
    opens_when_cleared repeats the opens_after trial group by group (same days from its
    opening, levels, patients, DLTs) up to the first group the ceiling held back: there
    the opens_after group's level is above the ceiling of the Part I counts known on its
    decision day; after it the trial was delayed (a wait) or stopped."""
    a = _run(bd.opens_after("mono"), n_trials=60, seed=12)
    w = _run(bd.opens_when_cleared("mono", level=4), n_trials=60, seed=12)
    m = bd.arm_view(w, "mono").sel(design="3+3", scenario="true_tox")
    same = held = 0
    for g in _combo():
        ca, cw = (bd.arm_view(x, "combo").sel(design=g, scenario="true_tox") for x in (a, w))
        o = w["programme_open_day"].sel(design=g, scenario="true_tox").to_numpy()

        def rows(c, t):
            dlt = c["patient_dlt"].to_numpy()[t]
            day = c["patient_dose_day"].to_numpy()[t]
            return [(s, lv, day[cols].tolist(), dlt[cols].tolist()) for s, lv, cols in _groups(c, t)]

        for t in range(60):
            if np.isnan(o[t]):
                continue
            ga, gw = rows(ca, t), rows(cw, t)
            k = next((j for j in range(len(ga)) if j >= len(gw) or ga[j] != gw[j]), len(ga))
            if k == len(ga):  # never held back: the same trial
                assert gw == ga
                same += 1
                continue
            s, level = ga[k][0], ga[k][1]
            assert level > PartOne(m, t).ceiling(o[t], s), (g, t, k)
            held += 1
    assert same > 20 and held > 20


def test_never_cleared_not_opened_and_or_opens_at_the_end():
    """(d) DLT wall at mono level 5: level 5 is never cleared, Part II never opens (its
    reason), the programme lasts as long as Part I; (e) with ``opens_after | ...`` it
    opens on the day Part I's last window completes, capped at 30 mg (level 1)."""
    never = _run(bd.opens_when_cleared("mono", level=5), WALL, n_trials=5, seed=4)
    either = _run(bd.opens_after("mono") | bd.opens_when_cleared("mono", level=5), WALL,
                  n_trials=5, seed=4)  # fmt: skip
    m = bd.arm_view(never, "mono").sel(design="3+3", scenario="true_tox")
    assert (m["n"].to_numpy() == [3, 3, 3, 6, 3, 0, 0, 0]).all()
    c = bd.arm_view(never, "combo")
    reasons = json.loads(c.attrs["reasons"])
    for g in _combo():
        assert (c["n_patients"].sel(design=g) == 0).all()
        assert (c["selected"].sel(design=g) == 0).all()
        assert {reasons[g][int(k)] for k in c["stop_reason"].sel(design=g).values.ravel()} == {
            SCHEDULE_REASONS[0]}
    assert never["programme_open_day"].isnull().all()
    np.testing.assert_array_equal(never["programme_duration_days"].sel(design="BOIN").to_numpy(),
                                  m["duration_days"].to_numpy()[None])  # fmt: skip
    ends = [PartOne(m, t).end for t in range(5)]
    np.testing.assert_array_equal(either["programme_open_day"].sel(design="BOIN").to_numpy()[0], ends)
    ce = bd.arm_view(either, "combo")
    assert (ce["patient_dose"].to_numpy() <= 1).all() and (ce["n_patients"] > 0).all()
    assert (ce["selected"].to_numpy() <= 1).all()


def test_or_picks_the_earlier_day():
    """(e) ``opens_after | opens_when_cleared``: per trial the opening day is the earlier
    of the clearing day and Part I's end; where the level is cleared, Part II is exactly
    the one of the plain opens_when_cleared programme."""
    curve = [0.02, 0.05, 0.1, 0.3, 0.4, 0.5, 0.6, 0.7]  # level 4 cleared in some trials only
    w = _run(bd.opens_when_cleared("mono", level=4), curve, n_trials=60, seed=7)
    e = _run(bd.opens_after("mono") | bd.opens_when_cleared("mono", level=4), curve,
             n_trials=60, seed=7)  # fmt: skip
    m = bd.arm_view(w, "mono").sel(design="3+3", scenario="true_tox")
    parts = [PartOne(m, t) for t in range(60)]
    cleared = np.array([p.clearing_day(4) for p in parts])
    ends = np.array([p.end for p in parts])
    assert 5 < np.isfinite(cleared).sum() < 55
    for g in _combo():
        oe = e["programme_open_day"].sel(design=g, scenario="true_tox").to_numpy()
        np.testing.assert_array_equal(oe, np.fmin(cleared, ends))
        ok = np.isfinite(cleared)
        cw, ce = (bd.arm_view(x, "combo").sel(design=g, scenario="true_tox") for x in (w, e))
        for v in ("patient_dose", "patient_dlt", "patient_dose_day", "selected", "stop_reason"):
            np.testing.assert_array_equal(cw[v].to_numpy()[ok], ce[v].to_numpy()[ok], err_msg=v)


def test_bit_identical_across_jobs_and_chunks():
    """(f) n_jobs and chunk_size do not change a calendar-time scheduled programme."""
    rule = bd.opens_after("mono") | bd.opens_when_cleared("mono", level=4)
    a = _run(rule, n_trials=30, seed=8)
    b = _run(rule, n_trials=30, seed=8, n_jobs=2, chunk_size=7)
    c = _run(rule, n_trials=30, seed=8, chunk_size=1)
    assert sorted(a.data_vars) == sorted(b.data_vars) == sorted(c.data_vars)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].to_numpy(), b[v].to_numpy(), err_msg=v)
        np.testing.assert_array_equal(a[v].to_numpy(), c[v].to_numpy(), err_msg=v)


def test_opens_after_unchanged_bit_for_bit():
    """opens_after with a timeline keeps the previous code's results: the digest of every
    variable of both arms and the programme totals was computed by the code before this
    change (commit b573ae8, which ran a borrowing design one trial at a time with fixed
    counts); ``n_flagged_decisions`` is new in the combination arm (that path dropped the
    borrowing design's grid flags) and not part of the digest."""
    mono = bd.BLRM(PROTO.arm("mono").doses_mg, reference_dose=300, max_n=12)
    combo = bd.CombinationBLRM(mono=mono, doses=PROTO.arm("combo").doses_mg, borrowing="full",
                               grid=(9, 9, 25, 41), max_n=9, method="grid")  # fmt: skip
    prog = bd.Programme(arms={"mono": {"BLRM": mono, "3+3": bd.ThreePlusThree(8)},
                              "combo": {"BLRM": combo, "BOIN": bd.BOIN(0.25, 5, max_n=12)}},
                        opens=bd.opens_after("mono"))  # fmt: skip
    res = prog.simulate({"mono": [0.02, 0.04, 0.06, 0.1, 0.2, 0.3, 0.45, 0.6],
                         "combo": [0.1, 0.2, 0.3, 0.45, 0.6]}, n_trials=6, seed=11,
                        timeline=TL, protocol=PROTO, chunk_size=4)  # fmt: skip
    h = hashlib.sha256()
    for arm in ("mono", "combo"):
        ds = bd.arm_view(res, arm)
        for v in sorted(ds.data_vars):
            if v == "n_flagged_decisions":
                continue
            a = np.ascontiguousarray(ds[v].values)
            h.update(f"{arm}/{v}/{a.dtype.str}/{a.shape}".encode())
            h.update(a.tobytes())
    for v in ("programme_total_n", "programme_total_dlt", "programme_duration_days"):
        a = np.ascontiguousarray(res[v].values)
        h.update(f"{v}/{a.dtype.str}/{a.shape}".encode())
        h.update(a.tobytes())
    assert h.hexdigest() == "51ce5ee82acaf2d9601509942513463197b37a131357436a9e2aa6b2b7ba5956"
    assert "programme_open_day" not in res


def test_borrowing_design_sees_the_counts_known_on_each_decision_day():
    """(g) The combination BLRM (full borrowing) under opens_when_cleared: the source counts
    of every estimate equal Part I's counts known on that decision day, recomputed from
    the patient-level days -- exactly for the decisions that dosed a group (decided on
    its first dosing day), and a known-information snapshot no older than the last group
    for waits and the final decision/selection; vectorised chunks give the same trials."""
    mono_blrm = bd.BLRM(PROTO.arm("mono").doses_mg, reference_dose=300)
    combo = bd.CombinationBLRM(mono=mono_blrm, doses=PROTO.arm("combo").doses_mg,
                               borrowing="full", grid=(9, 9, 25, 41), max_n=9, method="grid")  # fmt: skip
    inner, inner_select, calls = combo.estimate, combo.select, []

    def recording(data, *a, **k):
        calls.append((data.n.sum(axis=1).copy(), data.source_n.copy(), data.source_dlt.copy()))
        return inner(data, *a, **k)

    def selecting(data, *a, **k):
        out = inner_select(data, *a, **k)
        calls.append(None)  # a trial's end (chunk_size=1: one trial per chunk)
        return out

    combo.estimate = recording  # type: ignore[method-assign]
    combo.select = selecting  # type: ignore[method-assign]
    mono = bd.ThreePlusThree(8, doses_mg=PROTO.arm("mono").doses_mg)
    prog = bd.Programme(arms={"mono": {"c": mono}, "combo": {"c": combo}},
                        opens=bd.opens_when_cleared("mono", level=3))  # fmt: skip
    scen = {"mono": MONO_CURVE, "combo": COMBO_CURVE}
    T = 6
    ds = prog.simulate(scen, n_trials=T, seed=21, timeline=TL, protocol=PROTO, chunk_size=1)
    trials, cur = [], []
    for x in calls:
        if x is None:
            trials.append(cur[:-1])  # the decisions (the last estimate is the selection's)
            cur = []
        else:
            cur.append(x)
    assert len(trials) == T and not cur
    m = bd.arm_view(ds, "mono").sel(design="c", scenario="true_tox")
    c = bd.arm_view(ds, "combo").sel(design="c", scenario="true_tox")
    o = ds["programme_open_day"].sel(design="c", scenario="true_tox").to_numpy()
    checked = waits = 0
    for t, mine in enumerate(trials):
        if np.isnan(o[t]):
            continue
        one = PartOne(m, t)
        groups = _groups(c, t)
        dosed = [k for k in range(len(mine) - 1) if mine[k + 1][0][0] > mine[k][0][0]]
        assert len(dosed) == len(groups) and mine[-1][0][0] == c["n_patients"][t]
        days = sorted({r - o[t] for r, _, _ in one.resolved})
        snaps = [one.at(o[t], s) for s in days]
        last = -1
        for k, (_, sn, sy) in enumerate(mine):
            if k in dosed:  # decided on the group's first dosing day
                s = groups[dosed.index(k)][0]
                n, y = one.at(o[t], s)
                assert sn[0].tolist() == n.tolist() and sy[0].tolist() == y.tolist()
                checked += 1
                last = max([j for j, d in enumerate(days) if d <= s], default=-1)
            else:  # a wait or the last decision: a snapshot no older than the last group's
                hit = [j for j, (n, y) in enumerate(snaps)
                       if n.tolist() == sn[0].tolist() and y.tolist() == sy[0].tolist()]
                assert hit and max(hit) >= last
                waits += k < len(mine) - 1
        assert sum(mine[0][1][0]) >= 3  # opened once level 3 was cleared: >= 3 known
    assert checked >= 2 * T
    print("checked", checked, "waits", waits)
    calls.clear()
    vec = prog.simulate(scen, n_trials=T, seed=21, timeline=TL, protocol=PROTO, n_jobs=2)
    for v in ds.data_vars:
        np.testing.assert_array_equal(ds[v].to_numpy(), vec[v].to_numpy(), err_msg=v)


def test_backfill_in_a_programme_is_refused():
    """Nothing silent: the programme's drivers do not simulate backfill in the second arm
    (it used to be dropped without a word) nor in the first arm under a schedule."""
    bf = bd.BOIN(0.25, n_doses=5, max_n=12, doses_mg=COMBO_MG, backfill=bd.Backfill())
    for opens in (bd.opens_after("mono"), bd.opens_when_cleared("mono", level=4)):
        with pytest.raises(ValueError, match="backfill"):
            bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": {"bf": bf}}, opens=opens)
    mono_bf = bd.BOIN(0.25, n_doses=8, max_n=12, doses_mg=MONO_MG, backfill=bd.Backfill())
    with pytest.raises(ValueError, match="backfill"):
        bd.Programme(arms={"mono": {"bf": mono_bf}, "combo": _combo()},
                     opens=bd.opens_after("mono") | bd.opens_when_cleared("mono", level=4))
    # opens_after: the first arm is bd.simulate's, backfill included
    bd.Programme(arms={"mono": {"bf": mono_bf}, "combo": _combo()}, opens=bd.opens_after("mono"))
