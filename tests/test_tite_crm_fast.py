"""Fast TITE-CRM decisions (issue 12, speed): the self-checked quadrature of
:mod:`bayes_dose.inference.crm_tite_fast` against the exact grid engine."""

from __future__ import annotations

import numpy as np
import pytest

import bayes_dose as bd
import bayes_dose.designs.crm as crm_module
from bayes_dose.inference import crm_tite_fast as fast
from bayes_dose.inference.crm_grid import crm_posterior
from bayes_dose.inference.crm_model import CRMModel

SKEL = bd.crm_skeleton(0.25, 0.05, 5, 8)
CURVE = [0.02, 0.04, 0.06, 0.10, 0.15, 0.25, 0.40, 0.55]
TOXIC = [0.05, 0.15, 0.30, 0.45, 0.55, 0.65, 0.75, 0.85]


def _random_states(rng: np.random.Generator, T: int, D: int = 8, P: int = 30) -> bd.DoseData:
    """Random TITE states: 1..P patients, every mix of DLT rates (incl. all DLT and no
    DLT), weights uniform, exactly 1, or extreme (1e-9, 1 - 1e-9, 0)."""
    dose = rng.integers(0, D, (T, P))
    npat = rng.integers(1, P + 1, T)
    dose = np.where(np.arange(P) < npat[:, None], dose, -1)
    kind = rng.integers(0, 4, T)  # 0: mostly DLT, 1-2: 30 %, 3: no DLT
    rate = np.select([kind == 0, kind == 3], [0.9, 0.0], 0.3)[:, None]
    pdlt = (rng.random((T, P)) < rate).astype(np.int64)
    pdlt[rng.random(T) < 0.05] = 1  # all-DLT trials
    u = rng.random((T, P))
    w = np.where(rng.random((T, P)) < 0.4, 1.0, rng.random((T, P)))
    w = np.select([u < 0.08, u < 0.16, u < 0.2], [1e-9, 1 - 1e-9, 0.0], w)
    pdlt = np.where(dose >= 0, pdlt, 0)
    w = np.where(pdlt == 1, 1.0, w)
    valid = dose >= 0
    onehot = (np.where(valid, dose, 0)[..., None] == np.arange(D)) & valid[..., None]
    n = onehot.sum(axis=1)
    y = (onehot & (pdlt == 1)[..., None]).sum(axis=1)
    z = np.zeros(T, dtype=np.int64)
    return bd.DoseData(n, y, z, z, z, z, dose, pdlt, w)


@pytest.mark.parametrize("link", ["empiric", "logistic"])
def test_quadrature_equals_the_grid_on_random_pending_states(link) -> None:
    model = CRMModel(tuple(bd.crm_skeleton(0.25, 0.05, 4, 8, link=link)), link)
    data = _random_states(np.random.default_rng(5 if link == "empiric" else 6), 3000)
    got = fast.crm_decision_estimate(model, data, 0.25)
    ref = crm_posterior(model, data, 0.25)
    assert fast.pending_rows(data).mean() > 0.8
    assert got.stats["quadrature"].mean() > 0.5  # most states by quadrature
    assert np.abs(got.prob_mean - ref.prob_mean).max() < 1e-6
    assert np.abs(got.stats["prob_plugin"] - ref.stats["prob_plugin"]).max() < 1e-6
    assert np.abs(got.stats["beta_mean"] - ref.stats["beta_mean"]).max() < 1e-5
    assert got.prob_lower is None and "p_over" not in got.stats  # decision summaries only


def test_states_from_a_calendar_simulation_equal_the_grid() -> None:
    """Realistic pending states (captured from a TITE-CRM calendar run) both stages."""
    design = bd.CRM(SKEL, 0.25, max_n=24, cohort_size=1, tite_window=21)
    seen = []
    orig = crm_module.crm_decision_estimate

    def spy(model, data, target, interval=0.9):
        seen.append(data)
        return orig(model, data, target, interval)

    crm_module.crm_decision_estimate = spy
    try:
        bd.simulate({"d": design}, CURVE, n_trials=150, seed=4, progress=False,
                    timeline=bd.Timeline(accrual_per_month=6, dlt_onset=("late", 0.7)))
    finally:
        crm_module.crm_decision_estimate = orig
    stages = []
    for data in seen:
        if not fast.pending_rows(data).any():
            continue
        rows = np.flatnonzero(fast.pending_rows(data))
        sub = data.take(rows)
        est, bad, stage = fast._quadrature(design.crm_model, sub, 0.25)
        ref = crm_posterior(design.crm_model, sub, 0.25)
        ok = ~bad
        assert np.abs(est.prob_mean[ok] - ref.prob_mean[ok]).max(initial=0) < 1e-6
        assert np.abs(est.stats["prob_plugin"][ok] - ref.stats["prob_plugin"][ok]).max(
            initial=0) < 1e-6  # fmt: skip
        stages.append(stage)
    stages = np.concatenate(stages)
    assert (stages == 1).any() and (stages == 2).any()  # Gauss-Hermite and its fallback


def test_complete_follow_up_is_the_count_path_exactly() -> None:
    """States without pending patients give the plain CRM's numbers bit for bit, also
    inside a batch with pending states."""
    model = CRMModel(tuple(SKEL))
    data = _random_states(np.random.default_rng(8), 400)
    complete = ~fast.pending_rows(data)
    assert complete.sum() > 20
    got = fast.crm_decision_estimate(model, data, 0.25)
    idx = np.flatnonzero(complete)
    sub = data.take(idx)
    plain = bd.DoseData(sub.n, sub.dlt, sub.current, sub.last_n, sub.last_dlt, sub.grade2)
    ref = crm_posterior(model, plain, 0.25)
    np.testing.assert_array_equal(got.stats["prob_plugin"][idx], ref.stats["prob_plugin"])
    np.testing.assert_array_equal(got.prob_mean[idx], ref.prob_mean)
    assert not got.stats["quadrature"][idx].any()
    # no pending patient anywhere: the exact engine's full Estimate
    only = fast.crm_decision_estimate(model, sub, 0.25)
    np.testing.assert_array_equal(only.stats["prob_plugin"], ref.stats["prob_plugin"])
    assert only.prob_lower is not None


def test_failed_self_check_falls_back_to_the_grid(monkeypatch) -> None:
    model = CRMModel(tuple(SKEL))
    data = _random_states(np.random.default_rng(9), 300)
    monkeypatch.setattr(fast, "TOL", -1.0)  # every self-check fails
    got = fast.crm_decision_estimate(model, data, 0.25)
    ref = crm_posterior(model, data, 0.25)
    assert not got.stats["quadrature"].any()
    pend = fast.pending_rows(data)
    np.testing.assert_array_equal(got.prob_mean[pend], ref.prob_mean[pend])


def _grid_decisions(monkeypatch) -> None:
    """The old path: every TITE decision on the full grid."""
    monkeypatch.setattr(crm_module, "crm_decision_estimate",
                        lambda model, data, target, interval=0.9:
                        crm_posterior(model, data, target, interval))  # fmt: skip


@pytest.mark.parametrize("n_trials", [200, pytest.param(2000, marks=pytest.mark.slow)])
def test_calendar_decisions_equal_the_full_grid_path(monkeypatch, n_trials) -> None:
    design = bd.CRM(SKEL, 0.25, max_n=30, cohort_size=1, tite_window=21)
    kw = dict(n_trials=n_trials, seed=3, progress=False,
              timeline=bd.Timeline(accrual_per_month=4, dlt_onset=("late", 0.7)))
    new = bd.simulate({"d": design}, TOXIC, **kw)
    with monkeypatch.context() as mp:
        _grid_decisions(mp)
        old = bd.simulate({"d": design}, TOXIC, **kw)
    np.testing.assert_array_equal(new.patient_dose.values, old.patient_dose.values)
    np.testing.assert_array_equal(new.selected.values, old.selected.values)


def test_fit_keeps_the_full_grid_summaries() -> None:
    """fit() (one trial) still reports intervals and p_over from the exact engine."""
    crm = bd.CRM(SKEL, 0.25, cohort_size=1, tite_window=21)
    data = _random_states(np.random.default_rng(2), 50)
    est = crm.estimate(data)
    assert est.prob_lower is not None and "p_over" in est.stats
    dec_fast = crm.decide(data)
    dec_grid = crm.decide(data, est)
    np.testing.assert_array_equal(dec_fast.next_dose, dec_grid.next_dose)


BENCH_CURVE = [0.01, 0.01, 0.02, 0.04, 0.10, 0.25, 0.45, 0.60]


@pytest.mark.parametrize("n_trials", [200, pytest.param(10_000, marks=pytest.mark.slow)])
def test_benchmark_trials_decide_as_the_full_grid(monkeypatch, n_trials) -> None:
    """The case of benchmarks/bench_calendar.py (8 doses, N = 30, cohorts of 1, BAT6021
    staggering, 4 patients/month, late onset 0.7): every dose given and every selection
    equal to the path with every decision on the full grid."""
    design = bd.CRM(bd.crm_skeleton(0.25, 0.05, 6, 8), 0.25, max_n=30, cohort_size=1,
                    tite_window=21)  # fmt: skip
    kw = dict(n_trials=n_trials, seed=1, progress=False, protocol=bd.protocols.bat6021(),
              timeline=bd.Timeline(accrual_per_month=4, dlt_onset=("late", 0.7)))
    new = bd.simulate({"d": design}, BENCH_CURVE, **kw)
    with monkeypatch.context() as mp:
        _grid_decisions(mp)
        old = bd.simulate({"d": design}, BENCH_CURVE, **kw)
    np.testing.assert_array_equal(new.patient_dose.values, old.patient_dose.values)
    np.testing.assert_array_equal(new.selected.values, old.selected.values)
    np.testing.assert_array_equal(new.duration_days.values, old.duration_days.values)


@pytest.mark.parametrize("link", ["empiric", "logistic"])
@pytest.mark.parametrize("T", [1, 300, 3000])  # einsum / BLAS blocks, several CHUNKs
def test_selection_curve_is_the_exact_engines_bit_for_bit(link, T) -> None:
    """CRM.select without an estimate (the simulation drivers) computes only the curve:
    the same numbers as crm_posterior, so selections and fingerprints are unchanged."""
    model = CRMModel(tuple(bd.crm_skeleton(0.25, 0.05, 4, 8, link=link)), link)
    rng = np.random.default_rng(T)
    n = rng.integers(0, 6, (T, 8))
    data = bd.DoseData.from_counts(n, rng.binomial(n, 0.3), current=np.zeros(T, int))
    got, ref = fast.crm_curve_estimate(model, data, 0.25), crm_posterior(model, data, 0.25)
    np.testing.assert_array_equal(got.prob_mean, ref.prob_mean)
    for k in fast.DECISION_KEYS:
        np.testing.assert_array_equal(got.stats[k], ref.stats[k])
    crm = bd.CRM(bd.crm_skeleton(0.25, 0.05, 4, 8, link=link), 0.25, link=link)
    np.testing.assert_array_equal(crm.select(data).dose, crm.select(data, crm.estimate(data)).dose)


@pytest.mark.parametrize("link", ["empiric", "logistic"])
def test_crm_posterior_of_a_row_does_not_depend_on_the_batch(link) -> None:
    """A trial's posterior summaries are the same bits whatever the other rows of its batch
    (how many, in what order): BLAS matrix products round differently at the edge tiles of
    a block on some CPUs (AVX-512 OpenBLAS kernels), which made results depend on chunking."""
    model = CRMModel(tuple(bd.crm_skeleton(0.25, 0.05, 4, 8, link=link)), link)
    rng = np.random.default_rng(5)
    n = rng.integers(0, 6, (700, 8))
    y = rng.binomial(n, 0.3)
    full = crm_posterior(model, bd.DoseData.from_counts(n, y, current=np.zeros(700, int)), 0.25)
    for rows in (slice(0, 37), slice(100, 101), slice(250, 300), slice(50, 650)):
        k = len(range(700)[rows])
        part = crm_posterior(model, bd.DoseData.from_counts(n[rows], y[rows],
                                                            current=np.zeros(k, int)), 0.25)  # fmt: skip
        np.testing.assert_array_equal(part.prob_mean, full.prob_mean[rows])
        np.testing.assert_array_equal(part.stats["beta_mean"], full.stats["beta_mean"][rows])
