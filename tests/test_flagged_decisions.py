"""simulate() counts the decisions resting on flagged grid results (Estimate.grid_flags):
per-trial ``n_flagged_decisions`` and the OCs ``p_flagged`` / ``mean_flagged_decisions``."""

import numpy as np

import bayes_dose as bd
from bayes_dose.dose_data import DoseData


def _combo():
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    mono_data = bd.Outcomes.parse("4NNN 5NNN 6TNN 6NNN", arm="mono")
    return bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, grid=(5, 5, 7, 9),
                              max_n=9, method="grid", mono_data=mono_data)  # fmt: skip


def test_flagged_decisions_counted_as_a_replay_finds_them():
    """Each trial's count equals the flags of its decisions replayed one by one from the
    simulated patients (design.estimate -> stats["grid_flag"]), and the OCs follow."""
    combo = _combo()
    curve = [0.3, 0.5, 0.6, 0.7, 0.8]
    sims = bd.simulate({"c": combo}, curve, n_trials=4, seed=3, progress=False)
    got = sims["n_flagged_decisions"].isel(design=0, scenario=0).to_numpy()
    pdose = sims["patient_dose"].isel(design=0, scenario=0).to_numpy()
    pdlt = sims["patient_dlt"].isel(design=0, scenario=0).to_numpy()
    want = []
    for t in range(4):
        data = DoseData(np.zeros((1, 5), int), np.zeros((1, 5), int), np.array([-1]),
                        np.array([0]), np.array([0]), np.array([0]))  # fmt: skip
        k, flagged = 0, 0
        while True:
            est = combo.estimate(data)
            flagged += int(np.asarray(est.stats.get("grid_flag", [False]))[0])
            dec = combo.decide(data, est)
            if dec.stop[0]:
                break
            size = int(dec.cohort_size[0])
            assert (pdose[t, k:k + size] == dec.next_dose[0] + 1).all()
            data = data.after_cohort(dec.next_dose, np.array([size]),
                                     np.array([int(pdlt[t, k:k + size].sum())]))  # fmt: skip
            k += size
        want.append(flagged)
    assert got.tolist() == want and sum(want) > 0
    oc = bd.operating_characteristics(sims, target=0.3)
    f = np.asarray(want, dtype=float)
    np.testing.assert_allclose(oc["mean_flagged_decisions"].item(), f.mean())
    np.testing.assert_allclose(oc["mean_flagged_decisions_se"].item(), f.std(ddof=1) / 2)
    np.testing.assert_allclose(oc["p_flagged"].item(), (f > 0).mean())


def test_no_flags_no_variable():
    sims = bd.simulate({"3+3": bd.ThreePlusThree(4)}, [0.1, 0.2, 0.3, 0.5], n_trials=20,
                       seed=1, progress=False)  # fmt: skip
    assert "n_flagged_decisions" not in sims
    assert "p_flagged" not in bd.operating_characteristics(sims, target=0.3)


def test_memo_sentence_when_flagged():
    from bayes_dose.flagged import flagged_notes

    sims = bd.simulate({"c": _combo()}, [0.3, 0.5, 0.6, 0.7, 0.8], n_trials=4, seed=3,
                       progress=False)  # fmt: skip
    (line,) = flagged_notes({"combo": sims})
    p = float((sims["n_flagged_decisions"] > 0).mean())
    assert line.startswith(f"Simulation of c (arm combo): {p:.1%} of the 4 simulated trials")
    assert "flagged as unverified" in line


def test_backfill_drivers_count_flagged_decisions_too():
    """A design with backfill= runs in its own drivers (cohort and calendar time); they
    count flagged decisions as the plain drivers do (the variable was missing before)."""
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    mono_data = bd.Outcomes.parse("4NNN 5NNN 6TNN 6NNN", arm="mono")
    combo = bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, grid=(5, 5, 7, 9),
                               max_n=9, method="grid", mono_data=mono_data,
                               backfill=bd.Backfill(max_total=3))  # fmt: skip
    curve = [0.3, 0.5, 0.6, 0.7, 0.8]
    sims = bd.simulate({"c": combo}, curve, n_trials=4, seed=3, progress=False)
    got = sims["n_flagged_decisions"].isel(design=0, scenario=0).to_numpy()
    assert got.shape == (4,) and got.sum() > 0
    assert (got <= sims["n_cohorts"].isel(design=0, scenario=0).to_numpy() + 1).all()
