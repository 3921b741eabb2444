"""TITE designs with pending patients (issue 12): TITE-BOIN rules, TITE = plain design with
complete follow-up, TITE never above a dose the plain design closes, slow arrivals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import bayes_dose as bd
from bayes_dose.designs import tite_boin

CURVE = [0.02, 0.04, 0.06, 0.10, 0.15, 0.25, 0.40, 0.55]
TOXIC = [0.05, 0.15, 0.30, 0.45, 0.55, 0.65, 0.75, 0.85]
SKEL = bd.crm_skeleton(0.25, 0.05, 5, 8)


def _lambdas(phi: float) -> tuple[float, float]:  # Liu & Yuan (2015), independently
    p1, p2 = 0.6 * phi, 1.4 * phi
    le = math.log((1 - p1) / (1 - phi)) / math.log(phi * (1 - p1) / (p1 * (1 - phi)))
    ld = math.log((1 - phi) / (1 - p2)) / math.log(p2 * (1 - phi) / (phi * (1 - p2)))
    return le, ld


def _state(doses, dlts, weights, D=8) -> bd.DoseData:
    """One trial: patients at 0-based ``doses`` with DLT flags and follow-up weights; the
    current dose is the last patient's."""
    doses = np.asarray(doses)
    n = np.bincount(doses, minlength=D)[None, :]
    y = np.bincount(doses, weights=dlts, minlength=D).astype(np.int64)[None, :]
    return bd.DoseData(n, y, np.array([doses[-1]]), np.array([3]), np.array([0]),
                       np.array([0]), doses[None, :], np.asarray(dlts)[None, :],
                       np.asarray(weights, dtype=float)[None, :])  # fmt: skip


def test_tite_boin_imputation_by_hand() -> None:
    phi = 0.25
    le, ld = _lambdas(phi)
    tb = bd.BOIN(phi, 8, max_n=30, tite_window=21)
    assert tb.lambdas == pytest.approx((le, ld), abs=1e-12)
    # 6 patients at level 2 (index 1): 1 DLT, 3 pending followed 2.1 of 21 days each
    data = _state([0, 0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 0, 0, 0, 0, 0],
                  [1, 1, 1, 1, 1, 1, 0.1, 0.1, 0.1])  # fmt: skip
    c, stft = tite_boin.pending_at_current(data)
    assert (int(c[0]), float(stft[0])) == (3, pytest.approx(0.3))
    pt = (1 + phi / 2) / (6 - 3 + 1)  # Beta(phi/2, 1 - phi/2) prior, 3 complete patients
    est = (1 + pt / (1 - pt) * (3 - 0.3)) / 6
    assert est >= ld  # the imputed rate is above lambda_d, but 1/6 seen is below the
    # target: stay (Yuan et al. 2018, Table 1 / S1; tests/test_tite_boin_published.py)
    assert tb.decide(data).next_dose[0] == 1
    assert bd.BOIN(phi, 8, max_n=30).decide(data).next_dose[0] == 2  # plain BOIN: 1/6 up
    # same patients, pending ones followed 20 of 21 days: imputed rate below lambda_e
    late = _state([0, 0, 0, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 0, 0, 0, 0, 0],
                  [1, 1, 1, 1, 1, 1, 20 / 21, 20 / 21, 20 / 21])  # fmt: skip
    est2 = (1 + pt / (1 - pt) * (3 - 60 / 21)) / 6
    assert est2 <= le and tb.decide(late).next_dose[0] == 2


def test_tite_boin_with_complete_followup_is_boin() -> None:
    """Random states with every weight 1 (some DLT patients): identical decisions."""
    rng = np.random.default_rng(1)
    T, P, D = 3000, 18, 8
    dose = np.sort(rng.integers(0, D, (T, P)), axis=1)
    dlt = (rng.random((T, P)) < 0.3).astype(np.int64)
    n = (dose[..., None] == np.arange(D)).sum(axis=1)
    y = ((dose[..., None] == np.arange(D)) & (dlt[..., None] == 1)).sum(axis=1)
    cur = dose[:, -1]
    data = bd.DoseData(n, y, cur, np.full(T, 3), np.zeros(T, np.int64), np.zeros(T, np.int64),
                       dose, dlt, np.ones((T, P)))  # fmt: skip
    for kw in ({}, {"titration_levels": 3}, {"extrasafe": True}, {"n_earlystop": 9}):
        a = bd.BOIN(0.25, D, max_n=30, **kw).decide(data)
        b = bd.BOIN(0.25, D, max_n=30, tite_window=21, **kw).decide(data)
        for f in ("next_dose", "cohort_size", "stop", "reason"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f"{kw} {f}")
    assert not bd.BOIN(0.25, D, tite_window=21).suspends_accrual(data).any()


def test_tite_boin_escalation_monotone_in_followup() -> None:
    """More follow-up of the pending patients never makes TITE-BOIN less willing to escalate."""
    order = {0: -1, 1: 0, 2: 1}  # de-escalate < stay < escalate (next - current + 1)
    tb = bd.BOIN(0.25, 8, max_n=30, tite_window=21)
    for y in range(0, 3):
        prev = -2
        for w in np.linspace(0.0, 0.95, 20):
            dl = [0] * 3 + [1] * y + [0] * (6 - y)
            data = _state([0, 0, 0] + [1] * 6, dl, [1] * (3 + y) + [1] * (3 - y) + [w] * 3)
            move = order[int(tb.decide(data).next_dose[0]) - 1 + 1]
            assert move >= prev
            prev = move


def test_tite_boin_accrual_suspension() -> None:
    tb = bd.BOIN(0.25, 8, max_n=30, tite_window=21)
    two = _state([0, 0, 0, 1, 1, 1], [0] * 6, [1, 1, 1, 1, 0.3, 0.2])  # 2 of 3 pending
    one = _state([0, 0, 0, 1, 1, 1], [0] * 6, [1, 1, 1, 1, 1, 0.2])  # 1 of 3 pending
    assert tb.suspends_accrual(two).tolist() == [True]
    assert tb.suspends_accrual(one).tolist() == [False]
    # 1 DLT seen in 6 (de-escalate from 2 at n = 6), 4 pending: wait for them
    some = _state([0, 0, 0] + [1] * 6, [0, 0, 0, 1, 0, 0, 0, 0, 0], [1] * 5 + [0.3, 0.2, 0.1, 0.5])
    assert tb.suspends_accrual(some).tolist() == [True]
    # 1 DLT seen in 3 at target 0.25 already de-escalates (BOIN: DLTs >= 1 at n = 3)
    assert int(tb.boundaries(3).loc[3, "deescalate"]) == 1
    toxic = _state([0, 0, 0, 1, 1, 1], [0, 0, 0, 1, 0, 0], [1, 1, 1, 1, 0.3, 0.2])
    assert tb.suspends_accrual(toxic).tolist() == [False]
    assert not bd.BOIN(0.25, 8).suspends_accrual(two).any()


def test_tite_boin_fit_on_pending_data() -> None:
    """Real data with follow-up: TITE-BOIN decides and names the pending patients; plain BOIN
    holds."""
    f = pd.DataFrame({"patient_id": [f"P{i}" for i in range(6)], "arm": "mono",
                      "dose_level": [1] * 3 + [2] * 3,
                      "dlt": [0] * 6, "cohort": [1, 1, 1, 2, 2, 2],
                      "followup_days": [21, 21, 21, 21, 21, 5]})  # fmt: skip
    out = bd.Outcomes.from_frame(f)
    fit = bd.BOIN(0.25, 8, tite_window=21).fit(out)
    assert not fit.hold and fit.next_dose == 3 and fit.pending == ("P5",)
    assert "TITE" in fit.reason
    held = bd.BOIN(0.25, 8).fit(out)
    assert held.hold and held.next_dose is None


def _data_before(x, t: int, k: int, D: int = 8) -> bd.DoseData:
    """The evidence of simulated trial ``t`` when patient ``k``'s dose was decided."""
    dose = x.patient_dose.values[t, :k].astype(np.int64) - 1
    day = x.patient_dose_day.values[t, :k]
    dlt_day = x.patient_dlt_day.values[t, :k]
    now = x.patient_dose_day.values[t, k]
    seen = (~np.isnan(dlt_day)) & (dlt_day <= now)
    n = np.bincount(dose, minlength=D)[None, :]
    y = np.bincount(dose, weights=seen, minlength=D).astype(np.int64)[None, :]
    pending = ~seen & (now < day + 21.0)  # resolved on day + window (as the driver)
    w = np.where(pending, np.clip((now - day) / 21.0, 0, 1), 1.0)
    return bd.DoseData(n, y, np.array([dose[-1]]), np.array([0]), np.array([0]), np.array([0]),
                       dose[None, :], seen.astype(np.int64)[None, :], w[None, :])  # fmt: skip


@pytest.mark.parametrize("curve", [CURVE, TOXIC])
def test_tite_boin_never_above_a_dose_boin_closes(curve) -> None:
    """At every decision of a simulated TITE-BOIN trial, the dose given is below every dose
    that BOIN eliminates on the same data (DLTs seen so far), and accrual never opened while
    TITE-BOIN's suspension held."""
    tb = bd.BOIN(0.25, 8, max_n=30, tite_window=21)
    sims = bd.simulate({"TB": tb}, curve, n_trials=80, seed=5, progress=False,
                       timeline=bd.Timeline(accrual_per_month=12, dlt_onset=("late", 0.7)))
    x = sims.isel(design=0, scenario=0)
    plain = bd.BOIN(0.25, 8, max_n=30)
    checked = 0
    for t in range(80):
        coh = x.patient_cohort.values[t]
        for k in range(1, int(x.n_patients.values[t])):
            if coh[k] == coh[k - 1]:
                continue  # within a group the dose was decided at its first patient
            data = _data_before(x, t, k)
            elim = plain.eliminated(data)[0]
            first = int(np.argmax(elim)) if elim.any() else 8
            assert x.patient_dose.values[t, k] - 1 < first
            assert not tb.suspends_accrual(data)[0]
            checked += 1
    assert checked > 200
    assert (x.max_pending.values > 0).any()


def test_tite_designs_with_slow_arrivals_equal_plain_trial_by_trial() -> None:
    """Every window completes before the next patient arrives (30 days apart): TITE-BOIN =
    BOIN and TITE-CRM = CRM, selections and allocations trial by trial."""
    designs = {
        "BOIN": bd.BOIN(0.25, 8, max_n=24), "TITE-BOIN": bd.BOIN(0.25, 8, max_n=24, tite_window=21),
        "CRM": bd.CRM(SKEL, 0.25, max_n=15, cohort_size=1),
        "TITE-CRM": bd.CRM(SKEL, 0.25, max_n=15, cohort_size=1, tite_window=21),
    }  # fmt: skip
    sims = bd.simulate(designs, CURVE, n_trials=40, seed=8, progress=False,
                       timeline=bd.Timeline(interarrival_days=30.0))
    coh = bd.simulate({k: designs[k] for k in ("BOIN", "CRM")}, CURVE, n_trials=40, seed=8,
                      progress=False)  # fmt: skip
    for plain, tite in (("BOIN", "TITE-BOIN"), ("CRM", "TITE-CRM")):
        for v in ("selected", "n", "dlt", "patient_dose", "patient_dlt", "n_patients"):
            a, b = sims[v].sel(design=plain).values, sims[v].sel(design=tite).values
            np.testing.assert_array_equal(a, b, err_msg=f"{tite} {v}")
        np.testing.assert_array_equal(sims.selected.sel(design=plain).values,
                                      coh.selected.sel(design=plain).values)  # fmt: skip
        assert (sims.patient_pending.sel(design=tite).values == 0).all()


def test_tite_crm_decides_with_pending_patients_and_is_faster() -> None:
    designs = {"CRM": bd.CRM(SKEL, 0.25, max_n=15, cohort_size=1),
               "TITE-CRM": bd.CRM(SKEL, 0.25, max_n=15, cohort_size=1, tite_window=21)}
    sims = bd.simulate(designs, CURVE, n_trials=60, seed=2, progress=False,
                       timeline=bd.Timeline(accrual_per_month=8))
    oc = bd.operating_characteristics(sims)
    d = oc.mean_duration_months.sel(scenario="true_tox")
    assert float(d.sel(design="TITE-CRM")) < 0.7 * float(d.sel(design="CRM"))
    assert (sims.max_pending.sel(design="TITE-CRM").values > 0).all()
    assert (sims.patient_pending.sel(design="CRM").values == 0).all()
    x = sims.sel(design="TITE-CRM", scenario="true_tox")  # the 24-hour rule between patients
    gaps = np.diff(x.patient_dose_day.values, axis=1)
    assert np.nanmin(gaps) >= 1 - 1e-9


def test_tite_window_differing_from_the_protocol_warns() -> None:
    proto = bd.protocols.bat6021()  # 21-day window
    f = pd.DataFrame({"patient_id": ["P1", "P2", "P3"], "arm": "mono", "dose_level": [1, 1, 1],
                      "dlt": [0, 0, 0], "cohort": [1, 1, 1], "followup_days": [21, 21, 4]})
    out = bd.Outcomes.from_frame(f, protocol=proto)
    with pytest.warns(UserWarning, match=r"tite_window=28 days differs from the protocol's DLT"):
        bd.BOIN(0.25, 8, tite_window=28).fit(out)
    with pytest.warns(UserWarning, match="tite_window=28"):
        bd.CRM(SKEL, 0.25, tite_window=28).fit(out)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = bd.BOIN(0.25, 8, tite_window=21).fit(out)
    assert fit.pending == ("P3",) and not fit.hold


@pytest.mark.parametrize("model", ["empiric", "logistic"])
def test_tite_crm_likelihood_split_equals_patient_sum(model) -> None:
    """Counts of complete patients + terms of the pending ones = the per-patient TITE sum."""
    from bayes_dose.inference.crm_grid import _loglik_tite, grid_nodes

    crm = bd.CRM(SKEL, 0.25, model=model, tite_window=21)
    rng = np.random.default_rng(4)
    T, P = 300, 20
    dose = rng.integers(-1, 8, (T, P))
    dlt = (rng.random((T, P)) < 0.2).astype(np.int64)
    w = np.where(rng.random((T, P)) < 0.3, rng.random((T, P)), 1.0)
    nodes = np.asarray(grid_nodes(crm.crm_model))
    ref = crm.crm_model.loglik_weighted(nodes, dose, dlt, w)
    np.testing.assert_allclose(_loglik_tite(crm.crm_model, nodes, dose, dlt, w), ref,
                               rtol=1e-12, atol=1e-9)  # fmt: skip


def test_tite_boin_reason_names_the_imputation() -> None:
    f = pd.DataFrame({"patient_id": [f"P{i}" for i in range(9)], "arm": "mono",
                      "dose_level": [1] * 3 + [2] * 6, "dlt": [0, 0, 0, 1, 0, 0, 0, 0, 0],
                      "cohort": [1, 1, 1, 2, 2, 2, 3, 3, 3],
                      "followup_days": [21] * 6 + [2.1, 2.1, 2.1]})  # fmt: skip
    fit = bd.BOIN(0.25, 8, tite_window=21).fit(bd.Outcomes.from_frame(f))
    # 1/6 seen (below the target), 3 pending 2.1 of 21 days: stay (Yuan et al. 2018 Table 1)
    assert fit.next_dose == 2
    assert "TITE-BOIN: 3 of 6 patients at level 2 pending (STFT 0.30)" in fit.reason
    assert "below the target" in fit.reason
    assert bd.BOIN(0.25, 8).fit(bd.Outcomes.from_frame(f)).hold


@pytest.mark.parametrize("design", [
    bd.BOIN(0.25, 8, max_n=30, tite_window=21),
    bd.CRM(SKEL, 0.25, max_n=20, cohort_size=2, coherent=False, tite_window=21),
], ids=["TITE-BOIN", "TITE-CRM"])  # fmt: skip
def test_driver_decisions_equal_an_independent_replay(design) -> None:
    """Each group's dose equals the design's decision on the evidence rebuilt independently
    from the patients' days (DLTs seen by then, follow-up weights)."""
    sims = bd.simulate({"d": design}, TOXIC, n_trials=40, seed=12, progress=False,
                       timeline=bd.Timeline(accrual_per_month=10, dlt_onset=("late", 0.5)))
    x = sims.isel(design=0, scenario=0)
    n_groups = 0
    for t in range(40):
        coh = x.patient_cohort.values[t]
        for k in range(1, int(x.n_patients.values[t])):
            if coh[k] == coh[k - 1]:
                continue
            dec = design.decide(_data_before(x, t, k))
            assert not dec.stop[0]
            assert dec.next_dose[0] == x.patient_dose.values[t, k] - 1
            n_groups += 1
    assert n_groups > 100
