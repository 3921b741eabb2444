"""bd.opens_when_cleared and | between opening rules: Part II opens once Part I has cleared
a level, each Part II decision sees the Part I counts accrued by then (the arms take
turns), never above the highest monotherapy dose cleared."""

import json

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.crn import latent_uniforms
from bayes_dose.dose_data import DoseData
from bayes_dose.programme import arm_seed

MONO_MG = [1, 3, 10, 30, 100, 300, 600, 900]
COMBO_MG = [30, 100, 300, 600, 900]
#: Part I 3+3 meets a DLT wall at level 5: cohorts at levels 1, 2, 3, 4 (0/3 each), 5 (3/3),
#: then level 4 expanded (0/3): K = 6 cohorts.
WALL = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


def _mono():
    return bd.ThreePlusThree(8, doses_mg=MONO_MG)


def _combo_blrm():
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    return bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, grid=(7, 7, 15, 25),
                              max_n=9)  # fmt: skip


def test_rules_or_and_errors():
    r = bd.opens_after("mono") | bd.opens_when_cleared("mono", level=4)
    assert [type(x).__name__ for x in r.rules] == ["OpensAfter", "OpensWhenCleared"]
    with pytest.raises(ValueError, match="whole number"):
        bd.opens_when_cleared("mono", level=0)
    with pytest.raises(ValueError, match="different arms"):
        bd.Programme(arms={"mono": {"a": _mono()}, "combo": {"a": bd.ThreePlusThree(5)}},
                     opens=bd.opens_when_cleared("mono", 4) | bd.opens_after("x"))  # fmt: skip
    with pytest.raises(ValueError, match="doses_mg"):  # the ceiling compares mg
        bd.Programme(arms={"mono": {"a": _mono()}, "combo": {"a": bd.ThreePlusThree(5)}},
                     opens=bd.opens_when_cleared("mono", 4))  # fmt: skip
    prog = bd.Programme(arms={"mono": {"a": _mono()},
                              "combo": {"a": bd.ThreePlusThree(5, doses_mg=COMBO_MG)}},
                        opens=bd.opens_when_cleared("mono", 4))  # fmt: skip
    # calendar time too (tests/test_programme_calendar.py): Part II's opening day is kept
    cal = prog.simulate({"mono": WALL, "combo": [0.1] * 5}, n_trials=2,
                        timeline=bd.Timeline(accrual_per_month=4.0))  # fmt: skip
    assert cal["programme_open_day"].notnull().all()


def test_ceiling_waits_then_stops_and_selection_capped():
    """DLT wall at mono level 5: Part II opens after mono cohort 4 (30 mg cleared, 0/3);
    the highest mono dose cleared stays 30 mg = combination level 1, so a safe-combination
    3+3 treats one cohort at level 1, waits one turn (Part I still runs), then stops once
    Part I has ended; its selection is capped at level 1."""
    combo = bd.ThreePlusThree(5, doses_mg=COMBO_MG)
    prog = bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": {"3+3": combo}},
                        opens=bd.opens_when_cleared("mono", level=4))  # fmt: skip
    res = prog.simulate({"mono": WALL, "combo": [0.0] * 5}, n_trials=5, seed=4)
    m = bd.arm_view(res, "mono").isel(design=0, scenario=0)
    assert m["n"].to_numpy()[0].tolist() == [3, 3, 3, 6, 3, 0, 0, 0]
    c = bd.arm_view(res, "combo").isel(design=0, scenario=0)
    assert (c["n"].to_numpy() == [3, 0, 0, 0, 0]).all()
    assert (c["selected"].to_numpy() <= 1).all()
    reasons = json.loads(bd.arm_view(res, "combo").attrs["reasons"])["3+3"]
    assert {reasons[k] for k in c["stop_reason"].to_numpy()} == {
        "Part II stopped: the next combination level is above the highest monotherapy dose "
        "cleared when Part I ended"}
    # level 5 (100 mg) is never cleared: Part II never opens; with "| opens_after" it opens
    # at the end, capped at 30 mg as well
    never = bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": {"3+3": combo}},
                         opens=bd.opens_when_cleared("mono", level=5))  # fmt: skip
    c2 = bd.arm_view(never.simulate({"mono": WALL, "combo": [0.0] * 5}, n_trials=3, seed=4),
                     "combo").isel(design=0, scenario=0)  # fmt: skip
    assert int(c2["n_patients"].sum()) == 0 and (c2["selected"] == 0).all()
    either = bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": {"3+3": combo}},
                          opens=bd.opens_after("mono") | bd.opens_when_cleared("mono", level=5))
    c3 = bd.arm_view(either.simulate({"mono": WALL, "combo": [0.0] * 5}, n_trials=3, seed=4),
                     "combo").isel(design=0, scenario=0)  # fmt: skip
    assert (c3["n"].to_numpy() == [3, 0, 0, 0, 0]).all()


def test_never_above_highest_mono_dose_cleared():
    """Random arms: no combination patient or selection is above the highest monotherapy
    dose cleared at any point of Part I (an upper bound of every ceiling the decisions
    met), and the combination arm does escalate."""
    combo = bd.ThreePlusThree(5, doses_mg=COMBO_MG)
    prog = bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": {"3+3": combo}},
                        opens=bd.opens_after("mono") | bd.opens_when_cleared("mono", level=4))
    mono_curve = [0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.6]
    res = prog.simulate({"mono": mono_curve, "combo": [0.05, 0.1, 0.2, 0.3, 0.5]},
                        n_trials=200, seed=9)  # fmt: skip
    m = bd.arm_view(res, "mono").isel(design=0, scenario=0)
    c = bd.arm_view(res, "combo").isel(design=0, scenario=0)
    pdose, pdlt = m["patient_dose"].to_numpy(), m["patient_dlt"].to_numpy()
    ever = np.zeros((pdose.shape[0], 8), dtype=bool)
    for t in range(pdose.shape[0]):
        cn, cy = np.zeros(8, int), np.zeros(8, int)
        for k in range(pdose.shape[1]):
            if pdose[t, k]:
                cn[pdose[t, k] - 1] += 1
                cy[pdose[t, k] - 1] += pdlt[t, k]
                ever[t] |= (cn >= 3) & (6 * cy <= cn)
    top_mg = np.array([max([MONO_MG[i] for i in np.flatnonzero(e)], default=0) for e in ever])
    mg_of = np.asarray([0, *COMBO_MG])
    assert (mg_of[c["patient_dose"].to_numpy()].max(axis=1) <= top_mg).all()
    assert (mg_of[c["selected"].to_numpy()] <= top_mg).all()
    assert c["n_patients"].to_numpy().max() > 3  # the combination arm escalates


def test_combination_blrm_sees_mono_data_accrued_by_then():
    """opens_when_cleared(level=4) on the DLT wall: the combination BLRM's first decision sees
    12 monotherapy patients (cohorts 1-4), not the final 18; the programme's combination
    trial equals a hand-built trial: decision k sees Part I after cohort min(4 + k, 6)."""
    combo = _combo_blrm()
    prog = bd.Programme(arms={"mono": {"c": _mono()}, "combo": {"c": combo}},
                        opens=bd.opens_when_cleared("mono", level=4))  # fmt: skip
    curve = [0.05, 0.1, 0.2, 0.35, 0.5]
    res = prog.simulate({"mono": WALL, "combo": curve}, n_trials=3, seed=5)
    c = bd.arm_view(res, "combo").isel(design=0, scenario=0)
    after = {  # Part I counts after c cohorts (3+3 on the wall)
        4: ([3, 3, 3, 3, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]),
        5: ([3, 3, 3, 3, 3, 0, 0, 0], [0, 0, 0, 0, 3, 0, 0, 0]),
        6: ([3, 3, 3, 6, 3, 0, 0, 0], [0, 0, 0, 0, 3, 0, 0, 0]),
    }
    seed = arm_seed(5, 1)
    for t in range(3):
        u = latent_uniforms(seed, np.array([t]), 60)[0]
        n, y = np.zeros(5, int), np.zeros(5, int)
        cur, last_n, last_y, tot, turn, doses = -1, 0, 0, 0, 0, []
        while True:
            sn, sy = after[min(4 + turn, 6)]
            data = DoseData(n[None].copy(), y[None].copy(), np.array([cur]), np.array([last_n]),
                            np.array([last_y]), np.array([0]), source_n=np.array([sn]),
                            source_dlt=np.array([sy]))  # fmt: skip
            dec = combo.decide(data)
            if dec.stop[0] or tot >= 9:
                break
            nxt, size = int(dec.next_dose[0]), int(min(dec.cohort_size[0], 9 - tot))
            if nxt > 0:  # the ceiling: 30 mg is the highest mono dose cleared throughout
                if 4 + turn < 6:
                    turn += 1
                    continue
                break
            k = int((u[tot:tot + size] < curve[nxt]).sum())
            st = data.after_cohort(np.array([nxt]), np.array([size]), np.array([k]))
            n, y = st.n[0], st.dlt[0]
            cur, last_n, last_y = int(st.current[0]), int(st.last_n[0]), int(st.last_dlt[0])
            doses += [nxt + 1] * size
            tot += size
            turn += 1
        got = c["patient_dose"].to_numpy()[t]
        assert got[got > 0].tolist() == doses
        assert c["n"].to_numpy()[t].tolist() == n.tolist()
    assert sum(after[4][0]) == 12 and sum(after[6][0]) == 18


def test_scheduled_bit_identical_across_chunks_and_jobs():
    combo = {"3+3": bd.ThreePlusThree(5, doses_mg=COMBO_MG),
             "BOIN": bd.BOIN(0.25, n_doses=5, max_n=12, doses_mg=COMBO_MG)}  # fmt: skip
    prog = bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": combo},
                        opens=bd.opens_after("mono") | bd.opens_when_cleared("mono", level=4))
    scen = {"mono": [0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.6],
            "combo": [0.05, 0.1, 0.2, 0.3, 0.5]}  # fmt: skip
    a = prog.simulate(scen, n_trials=40, seed=8)
    b = prog.simulate(scen, n_trials=40, seed=8, n_jobs=2, chunk_size=7)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].to_numpy(), b[v].to_numpy(), err_msg=v)
    # the mono arm of the scheduled programme is bd.simulate's
    ref = bd.simulate({"3+3": _mono()}, scen["mono"], n_trials=40, seed=8, progress=False)
    m = bd.arm_view(a, "mono")
    for v in ("n", "dlt", "selected", "stop_reason", "n_patients", "patient_dose"):
        np.testing.assert_array_equal(m[v].to_numpy(), ref[v].to_numpy(), err_msg=v)


def test_opens_after_bit_identical_to_the_previous_programme():
    """opens_after keeps the programme of the previous session bit for bit: this digest of
    both arms' trial variables was computed by that code (commit ff5cfb5, where
    Programme.simulate returned ProgrammeSimulation) and equals today's arm views."""
    import hashlib

    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300, max_n=9)
    combo = bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg,
                               grid=(7, 7, 15, 25), max_n=9, method="grid")  # fmt: skip
    prog = bd.Programme(arms={"mono": {"BLRM": mono, "3+3": bd.ThreePlusThree(8)},
                              "combo": {"BLRM": combo, "BOIN": bd.BOIN(0.25, n_doses=5, max_n=9)}},
                        opens=bd.opens_after("mono"))  # fmt: skip
    res = prog.simulate({"mono": [0.02, 0.05, 0.1, 0.15, 0.25, 0.35, 0.45, 0.55],
                         "combo": [0.05, 0.1, 0.2, 0.35, 0.5]}, n_trials=4, seed=13)  # fmt: skip
    h = hashlib.sha256()
    for arm in ("mono", "combo"):
        ds = bd.arm_view(res, arm)
        for v in ("n", "dlt", "selected", "is_mad", "stop_reason", "n_patients", "n_cohorts",
                  "patient_dose", "patient_dlt"):  # fmt: skip
            a = np.ascontiguousarray(ds[v].values)
            h.update(f"{arm}/{v}/{a.dtype.str}/{a.shape}".encode())
            h.update(a.tobytes())
    assert h.hexdigest() == "a66b1160fcfb5699bd5375d9d15835ab3b7c32df543543bb82298028508da71b"


def test_opening_below_every_combination_dose_waits_for_part_one():
    """Part II opened when mono level 3 (10 mg) is cleared, below the lowest combination
    dose (30 mg): no combination level is allowed yet, so Part II waits while Part I runs
    (it used to stop at once, with 0 patients in every trial).  Safe mono curve: Part I
    clears 30 mg two cohorts later, and Part II then treats its first cohort at level 1."""
    combo = bd.ThreePlusThree(5, doses_mg=COMBO_MG)
    prog = bd.Programme(arms={"mono": {"3+3": _mono()}, "combo": {"3+3": combo}},
                        opens=bd.opens_when_cleared("mono", level=3))  # fmt: skip
    res = prog.simulate({"mono": [0.0] * 8, "combo": [0.0] * 5}, n_trials=3, seed=2)
    c = bd.arm_view(res, "combo").isel(design=0, scenario=0)
    assert (c["n_patients"].to_numpy() > 0).all()
    assert (c["patient_dose"].to_numpy()[:, :3] == 1).all()
