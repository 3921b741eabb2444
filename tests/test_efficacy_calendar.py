"""Efficacy in calendar time: responses drawn on the cohort-time copula, known to the
design on the assessment day (``Timeline.response_day``, default the end of the DLT window).

Invariants: BOIN12 waits for complete data (every DLT window and every response
assessment), so with arrivals so slow that every window completes before the next patient
arrives -- and also with queued Poisson arrivals -- its selections, allocations, DLTs and
responses equal cohort time trial by trial.  Designs that ignore response are unchanged by
``efficacy=`` in calendar time too.
"""

from __future__ import annotations

import numpy as np
import pytest

import bayes_dose as bd

CURVE = [0.02, 0.05, 0.08, 0.12, 0.20, 0.30, 0.42, 0.55]
RESP = [0.05, 0.10, 0.20, 0.35, 0.45, 0.50, 0.50, 0.50]
COHORT_VARS = ("selected", "is_mad", "n", "dlt", "resp", "stop_reason", "n_patients",
               "n_cohorts")  # fmt: skip


def _boin12() -> bd.Design:
    return bd.BOIN12(target=0.30, n_doses=8, phi_e=0.25, max_n=36)


def _same(cal, coh, per_patient=("patient_dose", "patient_dlt", "patient_resp")) -> None:
    for v in COHORT_VARS:
        np.testing.assert_array_equal(cal[v].values, coh[v].values, err_msg=v)
    P = coh.sizes["patient"]
    for v in per_patient:
        np.testing.assert_array_equal(cal[v].values[..., :P], coh[v].values, err_msg=v)
        assert not cal[v].values[..., P:].any()


@pytest.mark.parametrize("rho", [0.0, 0.5])
def test_boin12_slow_arrivals_equal_cohort_time_trial_by_trial(rho) -> None:
    """Every window (21 days) completes before the next arrival (every 40 days)."""
    d = {"BOIN12": _boin12()}
    kw = {"n_trials": 150, "seed": 5, "progress": False, "efficacy": {"true_tox": RESP},
          "correlation": rho}  # fmt: skip
    coh = bd.simulate(d, CURVE, **kw)
    cal = bd.simulate(d, CURVE, timeline=bd.Timeline(interarrival_days=40.0), **kw)
    _same(cal, coh)
    # non-trivial: the trials spread over doses and responses were seen
    assert len(np.unique(coh.selected.values)) >= 3 and coh.resp.values.sum() > 100
    # each patient waited 0 days and was dosed on arrival (every 40 days)
    treated = cal.patient_dose.values[0, 0] > 0
    gaps = np.diff(np.where(treated, cal.patient_dose_day.values[0, 0], np.nan), axis=1)
    assert np.nanmin(gaps) >= 40.0 - 1e-9


def test_boin12_queued_arrivals_wait_for_assessment_and_equal_cohort_time() -> None:
    """With Poisson arrivals (queued) BOIN12 still waits for every response: the same
    trials; a later assessment day (35 > 21) only makes the trials longer."""
    d = {"BOIN12": _boin12()}
    kw = {"n_trials": 100, "seed": 8, "progress": False, "efficacy": {"true_tox": RESP}}
    coh = bd.simulate(d, CURVE, **kw)
    early = bd.simulate(d, CURVE, timeline=bd.Timeline(accrual_per_month=6.0), **kw)
    late = bd.simulate(d, CURVE, timeline=bd.Timeline(accrual_per_month=6.0, response_day=35),
                       **kw)  # fmt: skip
    _same(early, coh)
    _same(late, coh)
    assert (late.duration_days.values >= early.duration_days.values - 1e-9).all()
    assert late.duration_days.values.mean() > early.duration_days.values.mean() + 14
    # each group opens no earlier than the previous patients' assessments (dose day + 35)
    dose_day = late.patient_dose_day.values[0, 0]
    coh_id = late.patient_cohort.values[0, 0]
    for t in range(dose_day.shape[0]):
        for c in range(1, coh_id[t].max() + 1):
            first = dose_day[t][coh_id[t] == c].min()
            assert first >= np.nanmax(dose_day[t][coh_id[t] < c]) + 35 - 1e-9


def test_toxicity_designs_unchanged_by_efficacy_in_calendar_time() -> None:
    designs = {"BOIN": bd.BOIN(target=0.3, n_doses=8, max_n=36),
               "TITE-BOIN": bd.BOIN(target=0.3, n_doses=8, max_n=36, tite_window=21)}  # fmt: skip
    tl = bd.Timeline(accrual_per_month=8.0, dlt_onset=("late", 0.7))
    kw = {"n_trials": 60, "seed": 3, "progress": False, "timeline": tl}
    plain = bd.simulate(designs, CURVE, **kw)
    eff = bd.simulate(designs, CURVE, efficacy={"true_tox": RESP}, correlation=0.3, **kw)
    for v in plain.data_vars:
        if v in ("true_resp",):
            continue
        np.testing.assert_array_equal(plain[v].values, eff[v].values, err_msg=v)
    # the responses are those of cohort time, patient by patient (the k-th treated patient)
    from bayes_dose.crn import latent_uniforms
    from bayes_dose.efficacy import response_latent, response_uniforms

    P = eff.sizes["patient"]
    u = latent_uniforms(3, np.arange(60), P)
    w = response_latent(u, response_uniforms(3, np.arange(60), P), 0.3)
    pd_ = eff.patient_dose.values
    expect = (pd_ > 0) & (w[None, None] < np.asarray(RESP)[np.maximum(pd_, 1) - 1])
    np.testing.assert_array_equal(eff.patient_resp.values, expect.astype(np.int8))
    D = len(CURVE)
    per_dose = ((pd_[..., None] == np.arange(1, D + 1)) & expect[..., None]).sum(axis=-2)
    np.testing.assert_array_equal(eff.resp.values, per_dose)


def test_response_day_validation_and_spec() -> None:
    with pytest.raises(ValueError, match="response_day"):
        bd.Timeline(interarrival_days=5, response_day=-1)
    with pytest.raises(ValueError, match="response_day"):
        bd.Timeline(interarrival_days=5, response_day="week 6")
    assert "response_day" not in bd.Timeline(interarrival_days=5).spec()  # keys unchanged
    assert bd.Timeline(interarrival_days=5, response_day=42).spec()["response_day"] == 42.0


def test_toml_timeline_with_response_day_and_efficacy(tmp_path) -> None:
    from bayes_dose.io import load_spec
    from bayes_dose.workflows import simulate_spec

    text = """protocol = "bat6021"
seed = 11
[designs.BOIN12]
type = "BOIN12"
target = 0.25
phi_e = 0.2
max_n = 18
[simulation]
n_trials = 30
target = 0.25
[simulation.scenarios.mono]
"plateau" = [0.01, 0.02, 0.04, 0.10, 0.25, 0.45, 0.60, 0.70]
[simulation.efficacy.mono]
"plateau" = [0.05, 0.1, 0.2, 0.3, 0.35, 0.35, 0.35, 0.35]
[simulation.timeline]
accrual_per_month = 4
response_day = 42
"""
    p = tmp_path / "spec.toml"
    p.write_text(text)
    spec = load_spec(p)
    assert spec.timeline == bd.Timeline(accrual_per_month=4, response_day=42)
    res = simulate_spec(spec, seed=11)
    sims = res["mono"] if isinstance(res, dict) else res
    sims = getattr(sims, "sims", sims)
    assert "resp" in sims and "duration_days" in sims
    p.write_text(text.replace("response_day = 42", "response_day = -1"))
    with pytest.raises(ValueError, match=r"\[simulation.timeline\].*response_day"):
        load_spec(p)
