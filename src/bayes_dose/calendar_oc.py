"""Operating characteristics in calendar time: trial duration, suspension, turned away.

Added by :func:`bayes_dose.operating_characteristics` when the simulation had a
``timeline`` (the trials carry ``duration_days``); cohort-time OCs are unchanged.  Means
carry the Monte Carlo SE ``sd / sqrt(T)``; a quantile's SE is the distribution-free one
from the order statistics: half the width of the 95% interval
``[x_(Tq - 1.96 sqrt(Tq(1-q))), x_(Tq + 1.96 sqrt(Tq(1-q)))]`` divided by 1.96.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .timeline import DAYS_PER_MONTH

__all__ = ["QUANTILES", "time_characteristics", "timeline_sentence"]

#: Quantiles of the duration reported (coordinate ``quantile``).
QUANTILES = (0.1, 0.5, 0.9)


def _mean_se(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    T = x.shape[-1]
    mean = x.mean(axis=-1)
    se = x.std(axis=-1, ddof=1) / np.sqrt(T) if T > 1 else np.full(mean.shape, np.nan)
    return mean, se


def _quantile_se(x: np.ndarray, qs: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    T = x.shape[-1]
    srt = np.sort(x, axis=-1)
    q = np.quantile(x, qs, axis=-1)  # (Q, ...)
    se = np.empty_like(q)
    for i, p in enumerate(qs):
        half = 1.96 * np.sqrt(T * p * (1 - p))
        lo = int(np.clip(np.floor(T * p - half), 0, T - 1))
        hi = int(np.clip(np.ceil(T * p + half), 0, T - 1))
        se[i] = (srt[..., hi] - srt[..., lo]) / (2 * 1.96)
    return np.moveaxis(q, 0, -1), np.moveaxis(se, 0, -1)


def time_characteristics(sims: xr.Dataset) -> xr.Dataset:
    """Duration (months), suspension, turned-away and waiting summaries per design x
    scenario of a calendar-time simulation.

    Returns
    -------
    xarray.Dataset
        ``mean_duration_months``, ``duration_months_q`` (coordinate ``quantile`` =
        0.1, 0.5, 0.9), ``mean_suspended_days``, ``mean_turned_away``, ``mean_queued``,
        ``mean_wait_days``, ``mean_max_pending``, each with ``*_se``.
    """
    if "duration_days" not in sims:
        raise ValueError("time_characteristics: the simulation has no timeline (duration_days)")
    gs = ("design", "scenario")
    dur = sims["duration_days"].transpose(*gs, "trial").to_numpy() / DAYS_PER_MONTH
    out: dict = {}
    m, se = _mean_se(dur)
    out["mean_duration_months"] = (gs, m, {"long_name": "mean trial duration (months, first "
                                           "dose to last DLT window completed)"})  # fmt: skip
    out["mean_duration_months_se"] = (gs, se)
    q, qse = _quantile_se(dur, QUANTILES)
    out["duration_months_q"] = ((*gs, "quantile"), q, {"long_name": "quantiles of the trial "
                                                       "duration (months)"})  # fmt: skip
    out["duration_months_q_se"] = ((*gs, "quantile"), qse)
    for name, var, doc in (
        ("mean_suspended_days", "suspended_days", "mean days accrual was closed by a hold"),
        ("mean_turned_away", "n_turned_away", "mean patients turned away per trial"),
        ("mean_queued", "n_queued", "mean treated patients who waited for a slot"),
        ("mean_wait_days", "mean_wait_days", "mean over trials of the mean wait (days)"),
        ("mean_max_pending", "max_pending", "mean over trials of the most patients pending "
         "at a decision"),
    ):
        x = sims[var].transpose(*gs, "trial").to_numpy().astype(float)
        m, se = _mean_se(np.nan_to_num(x, nan=0.0))
        out[name] = (gs, m, {"long_name": doc})
        out[f"{name}_se"] = (gs, se)
    return xr.Dataset(out, coords={"design": sims["design"].values,
                                   "scenario": sims["scenario"].values,
                                   "quantile": list(QUANTILES)})  # fmt: skip


def _num(x: float) -> str:
    return f"{float(x):g}"


def timeline_sentence(spec: dict) -> str:
    """The calendar-time assumptions of a simulation in one paragraph (for the memo).

    ``spec`` is the ``timeline`` entry of the simulation's manifest
    (:meth:`bayes_dose.Timeline.spec` plus ``dlt_window_days`` and ``staggering``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> spec = {**bd.Timeline(accrual_per_month=4, dlt_onset=("late", 0.7)).spec(),
    ...         "dlt_window_days": 21.0}
    >>> print(timeline_sentence(spec))  # doctest: +NORMALIZE_WHITESPACE
    Simulated in calendar time: patients arrive as a Poisson process, 4 per month on
    average; 70% of DLTs appear in the second half of the 21-day DLT window (uniform within
    each half); a patient who arrives when no slot is open waits for one without a time
    limit. Duration: first dose to the last DLT window completed, in months of 30.4375 days.
    """
    rate, gap = spec.get("accrual_per_month"), spec.get("interarrival_days")
    if rate == "inf":
        arrive = "every patient is available from day 0 (unlimited accrual)"
    elif rate is not None:
        arrive = f"patients arrive as a Poisson process, {_num(rate)} per month on average"
    else:
        arrive = f"one patient arrives every {_num(gap)} days"
    w = spec.get("dlt_window_days")
    window = f"the {_num(w)}-day DLT window" if w is not None else "the DLT window"
    onset = spec.get("dlt_onset", "uniform")
    if onset == "uniform":
        when = f"a DLT appears on a day uniform over {window}"
    elif onset[0] == "weibull":
        when = (f"the DLT day follows a Weibull distribution with shape {_num(onset[1])} and "
                f"scale the window, truncated to {window}")  # fmt: skip
    else:
        when = (f"{100 * float(onset[1]):g}% of DLTs appear in the second half of {window} "
                "(uniform within each half)")  # fmt: skip
    if spec.get("waiting") == "turn_away":
        wait = "a patient who arrives when no slot is open is turned away"
    elif spec.get("max_wait_days") is None:
        wait = "a patient who arrives when no slot is open waits for one without a time limit"
    else:
        wait = (f"a patient who arrives when no slot is open waits for one up to "
                f"{_num(spec['max_wait_days'])} days, then is turned away")  # fmt: skip
    text = f"Simulated in calendar time: {arrive}; {when}; {wait}."
    st = spec.get("staggering")
    if st:
        text += (f" Staggering (protocol): the 2nd patient of a dose group is dosed at least "
                 f"{_num(st['days_after_first_patient'])} days after the 1st, later ones at "
                 f"least {_num(st['hours_between_patients'])} h apart")  # fmt: skip
        text += (", and a new group opens only when every treated patient has completed the "
                 "window (TITE designs decide with partial follow-up)."
                 if st.get("complete_window_before_next_group") else ".")  # fmt: skip
    return text + (" Duration: first dose to the last DLT window completed, in months of "
                   f"{_num(spec.get('days_per_month', DAYS_PER_MONTH))} days.")  # fmt: skip
