"""Calendar time (issue 12): Timeline draws, the calendar driver's invariants, OCs in time."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.timeline import DAYS_PER_MONTH

CURVE = [0.02, 0.04, 0.06, 0.10, 0.15, 0.25, 0.40, 0.55]
SKEL = bd.crm_skeleton(0.25, 0.05, 5, 8)
COHORT_VARS = ("selected", "is_mad", "n", "dlt", "stop_reason", "n_patients", "n_cohorts")


def _waiting_designs() -> dict[str, bd.Design]:
    return {
        "3+3": bd.ThreePlusThree(8, titration_levels=3),
        "BOIN": bd.BOIN(0.25, 8, max_n=24),
        "CRM": bd.CRM(SKEL, 0.25, max_n=18),
        "BLRM": bd.BLRM(doses=(1, 3, 10, 30, 100, 300, 600, 900), reference_dose=300,
                        target_interval=(0.16, 0.33), ewoc=0.25, max_n=12),
    }  # fmt: skip


def _same_as_cohort_time(cal, coh) -> None:
    for v in COHORT_VARS:
        np.testing.assert_array_equal(cal[v].values, coh[v].values, err_msg=v)
    P = coh.sizes["patient"]
    for v in ("patient_dose", "patient_dlt"):
        np.testing.assert_array_equal(cal[v].values[..., :P], coh[v].values, err_msg=v)
        assert not cal[v].values[..., P:].any()


# ----------------------------------------------------------------------------- Timeline
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "exactly one"),
        ({"accrual_per_month": 2, "interarrival_days": 3}, "exactly one"),
        ({"accrual_per_month": 0}, "> 0"),
        ({"accrual_per_month": True}, "number"),
        ({"interarrival_days": -1}, ">= 0"),
        ({"accrual_per_month": 2, "dlt_onset": "late"}, "dlt_onset"),
        ({"accrual_per_month": 2, "dlt_onset": ("late", 1.5)}, r"\[0, 1\]"),
        ({"accrual_per_month": 2, "dlt_onset": ("weibull", 0)}, "shape"),
        ({"accrual_per_month": 2, "waiting": "wait"}, "waiting"),
        ({"accrual_per_month": 2, "waiting": "turn_away", "max_wait_days": 3}, "queue"),
        ({"accrual_per_month": 2, "max_wait_days": -2}, ">= 0"),
        ({"accrual_per_month": math.inf, "waiting": "turn_away"}, "day 0"),
        ({"interarrival_days": 0, "max_wait_days": 5}, "day 0"),
    ],
)
def test_timeline_bad_input(kwargs, match) -> None:
    with pytest.raises(ValueError, match=match):
        bd.Timeline(**kwargs)


def test_arrivals_are_pure_functions_of_seed_trial_patient() -> None:
    tl = bd.Timeline(accrual_per_month=3)
    a = tl.arrivals(5, np.arange(0, 50), 40)
    np.testing.assert_array_equal(tl.arrivals(5, np.arange(20, 30), 12), a[20:30, :12])
    assert not np.array_equal(tl.arrivals(6, np.arange(0, 50), 40), a)
    assert (np.diff(a, axis=1) >= 0).all()
    # Poisson process: mean gap DAYS_PER_MONTH / rate; 2000 gaps, tolerance 4 SE (sd = mean)
    gaps = np.diff(a, axis=1, prepend=0).ravel()
    mean = DAYS_PER_MONTH / 3
    assert abs(gaps.mean() - mean) < 4 * mean / math.sqrt(gaps.size)
    np.testing.assert_array_equal(bd.Timeline(interarrival_days=2.5).arrivals(0, [3], 3),
                                  [[0.0, 2.5, 5.0]])  # fmt: skip
    assert not bd.Timeline(accrual_per_month=math.inf).arrivals(0, [1, 2], 4).any()


def test_onset_distributions() -> None:
    v = np.linspace(1e-9, 1, 100_001)
    for spec in ("uniform", ("weibull", 0.5), ("weibull", 3.0), ("late", 0.7), ("late", 0.0),
                 ("late", 1.0)):  # fmt: skip
        q = bd.Timeline(accrual_per_month=1, dlt_onset=spec).onset_quantile(v)
        top = 0.5 if spec == ("late", 0.0) else 1.0  # no late DLTs: all in the first half
        assert (np.diff(q) >= 0).all() and q[0] > 0 and q[-1] == pytest.approx(top)
    late = bd.Timeline(accrual_per_month=1, dlt_onset=("late", 0.7))
    f = late.onset_fraction(1, np.arange(200), 50).ravel()
    share = (f > 0.5).mean()  # 10,000 draws, tolerance 4 SE
    assert abs(share - 0.7) < 4 * math.sqrt(0.7 * 0.3 / f.size)
    # the Weibull (scale = window, truncated) CDF at half the window, shape 2
    w = bd.Timeline(accrual_per_month=1, dlt_onset=("weibull", 2.0)).onset_fraction(
        2, np.arange(200), 50).ravel()  # fmt: skip
    cdf = (1 - math.exp(-0.25)) / (1 - math.exp(-1))
    assert abs((w <= 0.5).mean() - cdf) < 4 * math.sqrt(cdf * (1 - cdf) / w.size)


# ----------------------------------------------------------------------------- invariants
@pytest.mark.parametrize("timeline", [bd.Timeline(interarrival_days=40.0),
                                      bd.Timeline(accrual_per_month=6.0)])  # fmt: skip
def test_waiting_designs_equal_cohort_time_trial_by_trial(timeline) -> None:
    """Designs that need complete data hold until every window completes, so with slow (and
    even fast, queued) arrivals their selections and allocations are the cohort-time ones."""
    designs = _waiting_designs()
    coh = bd.simulate(designs, CURVE, n_trials=40, seed=11, progress=False)
    cal = bd.simulate(designs, CURVE, n_trials=40, seed=11, progress=False, timeline=timeline)
    _same_as_cohort_time(cal, coh)


def test_at33_all_safe_unlimited_arrivals_duration_by_hand() -> None:
    """Accelerated titration over levels 1-3 (one patient each) then 3+3 at levels 4-8,
    nobody with a DLT, everyone available on day 0."""
    st = bd.Staggering()
    window, gap, second = 21.0, st.hours_between_patients / 24, st.days_after_first_patient
    titration = 3 * window  # each titration patient: the next one waits for the window
    group = second + gap + window  # 2nd patient +7 days, 3rd +1 day, then 21 days
    expected = titration + 5 * group
    assert expected == 208.0  # 3 x 21 + 5 x 29
    days = [0.0, 21.0, 42.0]
    t = 63.0
    for _ in range(5):
        days += [t, t + second, t + second + gap]
        t += group
    sims = bd.simulate({"AT+3+3": bd.ThreePlusThree(8, titration_levels=3)}, [0.0] * 8,
                       n_trials=7, seed=2, progress=False,
                       timeline=bd.Timeline(accrual_per_month=math.inf))  # fmt: skip
    np.testing.assert_array_equal(sims.duration_days.values, expected)
    np.testing.assert_array_equal(sims.patient_dose_day.values[0, 0], np.tile(days, (7, 1)))
    # suspended: after each titration patient and after each group's last patient the
    # next opening waits for the window beyond the 24-hour gap
    susp = 3 * (window - gap) + 4 * (window - gap)
    np.testing.assert_allclose(sims.suspended_days.values, susp)
    assert (sims.n_turned_away.values == 0).all() and (sims.mean_wait_days.values > 0).all()


def _check_holds(sims, design: str, window: float = 21.0) -> None:
    """No patient is dosed while the design holds: a patient opening a new group is dosed
    only when every earlier patient is resolved (waiting design); within a group the 2nd
    patient >= 7 days after the 1st, later ones >= 1 day after the previous."""
    x = sims.sel(design=design)
    dose = x.patient_dose.values
    day = x.patient_dose_day.values
    dlt_day = x.patient_dlt_day.values
    coh = x.patient_cohort.values
    res = np.where(np.isnan(dlt_day), day + window, dlt_day)
    for s in range(dose.shape[0]):
        for t in range(dose.shape[1]):
            k_n = int((dose[s, t] > 0).sum())
            for k in range(1, k_n):
                if coh[s, t, k] != coh[s, t, k - 1]:
                    assert day[s, t, k] >= res[s, t, :k].max() - 1e-9
                    assert day[s, t, k] >= day[s, t, k - 1] + 1 - 1e-9
                else:
                    first = int(np.argmax(coh[s, t] == coh[s, t, k]))
                    need = 7.0 if k == first + 1 else 1.0
                    assert day[s, t, k] >= day[s, t, k - 1] + need - 1e-9


def test_no_patient_dosed_while_the_design_holds() -> None:
    designs = {k: v for k, v in _waiting_designs().items() if k != "BLRM"}
    sims = bd.simulate(designs, CURVE, n_trials=60, seed=4, progress=False,
                       timeline=bd.Timeline(accrual_per_month=10, dlt_onset=("late", 0.6)))
    for g in designs:
        _check_holds(sims, g)
        assert (sims.sel(design=g).patient_pending.values == 0).all()


def test_crn_same_arrivals_across_designs_and_waiting_rules() -> None:
    designs = {k: v for k, v in _waiting_designs().items() if k != "BLRM"}
    tl = bd.Timeline(accrual_per_month=5)
    sims = bd.simulate(designs, CURVE, n_trials=30, seed=9, progress=False, timeline=tl)
    arr = tl.arrivals(9, np.arange(30), 200)
    a = sims.patient_arrival_day.values[:, 0]  # (design, trial, patient)
    treated = sims.patient_dose.values[:, 0] > 0
    for g in range(a.shape[0]):  # queue, no limit: the k-th treated is arrival k
        k = treated[g].sum(axis=1)
        for t in range(30):
            np.testing.assert_array_equal(a[g, t, :k[t]], arr[t, :k[t]])
    away = bd.simulate(designs, CURVE, n_trials=30, seed=9, progress=False,
                       timeline=bd.Timeline(accrual_per_month=5, waiting="turn_away"))
    w = away.patient_dose_day.values - away.patient_arrival_day.values
    assert np.nanmax(w) == 0 and (away.n_turned_away.values > 0).any()
    for t in range(30):  # every treated patient is one of the trial's arrivals
        got = away.patient_arrival_day.values[:, 0, t]
        got = got[~np.isnan(got)]
        assert np.isin(got, arr[t]).all()
    _same_as_cohort_time(away, bd.simulate(designs, CURVE, n_trials=30, seed=9, progress=False))
    capped = bd.simulate(designs, CURVE, n_trials=30, seed=9, progress=False,
                         timeline=bd.Timeline(accrual_per_month=8, max_wait_days=10))
    assert np.nanmax(capped.patient_dose_day.values - capped.patient_arrival_day.values) <= 10


def test_bit_identical_for_any_chunking_and_n_jobs() -> None:
    designs = {"BOIN": bd.BOIN(0.25, 8, max_n=24),
               "TITE-BOIN": bd.BOIN(0.25, 8, max_n=24, tite_window=21)}  # fmt: skip
    tl = bd.Timeline(accrual_per_month=6, dlt_onset=("weibull", 2.0))
    a = bd.simulate(designs, CURVE, n_trials=45, seed=3, progress=False, timeline=tl)
    b = bd.simulate(designs, CURVE, n_trials=45, seed=3, progress=False, timeline=tl,
                    chunk_size=7, n_jobs=2)  # fmt: skip
    assert set(a.data_vars) == set(b.data_vars)
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)


# ----------------------------------------------------------------------------- OCs, input
def test_operating_characteristics_in_time() -> None:
    designs = {"3+3": bd.ThreePlusThree(8, titration_levels=3), "BOIN": bd.BOIN(0.25, 8, max_n=24)}
    sims = bd.simulate(designs, CURVE, n_trials=200, seed=1, progress=False,
                       timeline=bd.Timeline(accrual_per_month=3))
    oc = bd.operating_characteristics(sims)
    months = sims.duration_days.values / DAYS_PER_MONTH
    np.testing.assert_allclose(oc.mean_duration_months.values, months.mean(axis=-1))
    np.testing.assert_allclose(oc.mean_duration_months_se.values,
                               months.std(axis=-1, ddof=1) / math.sqrt(200))  # fmt: skip
    np.testing.assert_allclose(oc.duration_months_q.sel(quantile=0.5).values,
                               np.median(months, axis=-1))  # fmt: skip
    np.testing.assert_allclose(oc.mean_turned_away.values, sims.n_turned_away.mean("trial"))
    assert (oc.duration_months_q_se.values > 0).all()
    plain = bd.operating_characteristics(bd.simulate(designs, CURVE, n_trials=200, seed=1,
                                                     progress=False))  # fmt: skip
    assert "mean_duration_months" not in plain
    for v in plain.data_vars:  # cohort-time OCs unchanged by calendar time (waiting designs)
        np.testing.assert_array_equal(plain[v].values, oc[v].values, err_msg=v)


def test_simulate_timeline_errors_and_warnings() -> None:
    tite = bd.CRM(SKEL, 0.25, max_n=12, cohort_size=1, tite_window=21)
    with pytest.raises(ValueError, match=r"timeline=bd\.Timeline"):
        bd.simulate({"T": tite}, CURVE, n_trials=3, progress=False)
    tl = bd.Timeline(accrual_per_month=2)  # store= works with a timeline: test_timeline_store.py
    with pytest.raises(ValueError, match="protocol= is read only with timeline"):
        bd.simulate({"B": bd.BOIN(0.25, 8, max_n=9)}, CURVE, n_trials=3, progress=False,
                    protocol=bd.protocols.bat6021())  # fmt: skip
    with pytest.raises(ValueError, match="Timeline"):
        bd.simulate({"B": bd.BOIN(0.25, 8, max_n=9)}, CURVE, n_trials=3, progress=False,
                    timeline={"accrual_per_month": 2})  # fmt: skip
    with pytest.warns(UserWarning, match="tite_window=28 days but the protocol's DLT window"):
        bd.simulate({"T": tite.replace(tite_window=28)}, CURVE, n_trials=3, progress=False,
                    timeline=tl, protocol=bd.protocols.bat6021())  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sims = bd.simulate({"T": tite}, CURVE, n_trials=3, progress=False, timeline=tl,
                           protocol=bd.protocols.bat6021())  # fmt: skip
    man = bd.simulate.__globals__["manifest"](sims)
    assert man["timeline"]["dlt_window_days"] == 21.0
    assert man["timeline"]["staggering"]["days_after_first_patient"] == 7.0


def test_calendar_swimmer_plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bayes_dose.plots import plot_calendar_trial

    sims = bd.simulate({"TB": bd.BOIN(0.25, 8, max_n=12, tite_window=21)}, CURVE, n_trials=2,
                       seed=2, progress=False, timeline=bd.Timeline(accrual_per_month=6))
    ax = plot_calendar_trial(sims, "TB", trial=1, as_of=30)
    k = int(sims.n_patients.values[0, 0, 1])
    assert len([p for p in ax.patches if p.get_hatch() is None]) == k  # one window per patient
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="no timeline"):
        plot_calendar_trial(bd.simulate({"B": bd.BOIN(0.25, 8, max_n=6)}, CURVE, n_trials=1,
                                        progress=False), "B")  # fmt: skip


@pytest.mark.slow
def test_bit_identical_on_dask() -> None:
    pytest.importorskip("dask.distributed")
    designs = {"TITE-BOIN": bd.BOIN(0.25, 8, max_n=18, tite_window=21),
               "3+3": bd.ThreePlusThree(8, titration_levels=3)}  # fmt: skip
    tl = bd.Timeline(accrual_per_month=5, dlt_onset=("late", 0.5), waiting="turn_away")
    a = bd.simulate(designs, CURVE, n_trials=30, seed=4, progress=False, timeline=tl)
    b = bd.simulate(designs, CURVE, n_trials=30, seed=4, progress=False, timeline=tl,
                    backend="dask", n_jobs=2, chunk_size=8)  # fmt: skip
    for v in a.data_vars:
        np.testing.assert_array_equal(a[v].values, b[v].values, err_msg=v)


def test_staggering_without_complete_windows_needs_tite_designs() -> None:
    import dataclasses

    proto = bd.protocols.bat6021()
    loose = dataclasses.replace(proto, staggering=bd.Staggering(
        complete_window_before_next_group=False))  # fmt: skip
    tl = bd.Timeline(accrual_per_month=4)
    with pytest.raises(ValueError, match=r"\['BOIN'\] decide on complete data only"):
        bd.simulate({"BOIN": bd.BOIN(0.25, 8, max_n=9)}, CURVE, n_trials=2, progress=False,
                    timeline=tl, protocol=loose)  # fmt: skip
    sims = bd.simulate({"T": bd.BOIN(0.25, 8, max_n=9, tite_window=21)}, CURVE, n_trials=2,
                       progress=False, timeline=tl, protocol=loose)  # fmt: skip
    assert sims.sizes["trial"] == 2


def test_oc_summary_table_shows_duration_for_calendar_runs() -> None:
    from bayes_dose.oc_tables import format_summary_table, oc_summary_table

    designs = {"3+3": bd.ThreePlusThree(8, titration_levels=3), "BOIN": bd.BOIN(0.25, 8, max_n=24)}
    sims = bd.simulate(designs, CURVE, n_trials=50, seed=1, progress=False,
                       timeline=bd.Timeline(accrual_per_month=3, waiting="turn_away"))
    oc = bd.operating_characteristics(sims, target=0.25)
    tab = oc_summary_table(oc, "true_tox")
    np.testing.assert_allclose(tab["months"], oc.mean_duration_months.sel(scenario="true_tox"))
    assert "Mean trial duration (months)" in format_summary_table(tab)
    plain = oc_summary_table(bd.operating_characteristics(
        bd.simulate(designs, CURVE, n_trials=50, seed=1, progress=False), target=0.25), "true_tox")
    assert "months" not in plain


def test_checkpoints_of_calendar_runs(tmp_path) -> None:
    """Checkpointed calendar-time chunks reload verified and equal a fresh run; their keys
    differ from the cohort-time chunks of the same design and from another timeline's."""
    designs = {"TB": bd.BOIN(0.25, 8, max_n=12, tite_window=21), "B": bd.BOIN(0.25, 8, max_n=12)}
    tl = bd.Timeline(accrual_per_month=5)
    kw = dict(n_trials=20, seed=6, progress=False, chunk_size=10)
    fresh = bd.simulate(designs, CURVE, timeline=tl, **kw)
    ck = tmp_path / "ck"
    first = bd.simulate(designs, CURVE, timeline=tl, checkpoint_dir=ck, **kw)
    files = sorted(ck.glob("chunk-*.nc"))
    assert len(files) == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a reload that failed verification would warn
        again = bd.simulate(designs, CURVE, timeline=tl, checkpoint_dir=ck, **kw)
    for v in fresh.data_vars:
        np.testing.assert_array_equal(first[v].values, fresh[v].values, err_msg=v)
        np.testing.assert_array_equal(again[v].values, fresh[v].values, err_msg=v)
    bd.simulate({"B": designs["B"]}, CURVE, checkpoint_dir=ck, **kw)  # cohort time
    bd.simulate(designs, CURVE, timeline=bd.Timeline(accrual_per_month=2), checkpoint_dir=ck,
                **kw)  # fmt: skip
    assert len(sorted(ck.glob("chunk-*.nc"))) == 4 + 2 + 4
