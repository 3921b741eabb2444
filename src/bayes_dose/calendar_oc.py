"""Operating characteristics in calendar time: trial duration, suspension, turned away.

Added by :func:`bayes_dose.operating_characteristics` when the simulation had a
``timeline`` (the trials carry ``duration_days``); cohort-time OCs are unchanged.  Means
carry the Monte Carlo SE ``sd / sqrt(T)``; a quantile's SE is the distribution-free one
from the order statistics: half the width of the 95% interval
``[x_(Tq - 1.96 sqrt(Tq(1-q))), x_(Tq + 1.96 sqrt(Tq(1-q)))]`` divided by 1.96.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from .metrics import OCReducer
from .timeline import DAYS_PER_MONTH

__all__ = ["QUANTILES", "TIME_VARS", "CalendarOCReducer", "time_characteristics",
           "timeline_sentence"]  # fmt: skip

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


#: Per-trial variables the duration OCs read (``time_characteristics``).
TIME_VARS = ("duration_days", "suspended_days", "n_turned_away", "n_queued", "mean_wait_days",
             "max_pending")  # fmt: skip


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
    arrays = {v: sims[v].transpose(*gs, "trial").to_numpy() for v in TIME_VARS}
    return _time_oc(arrays, sims["design"].values, sims["scenario"].values)


def _time_oc(arrays: dict, designs: np.ndarray, scenarios: np.ndarray) -> xr.Dataset:
    """:func:`time_characteristics` from the (design, scenario, trial) arrays of
    :data:`TIME_VARS`."""
    gs = ("design", "scenario")
    dur = arrays["duration_days"] / DAYS_PER_MONTH
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
        x = arrays[var].astype(float)
        m, se = _mean_se(np.nan_to_num(x, nan=0.0))
        out[name] = (gs, m, {"long_name": doc})
        out[f"{name}_se"] = (gs, se)
    return xr.Dataset(out, coords={"design": designs, "scenario": scenarios,
                                   "quantile": list(QUANTILES)})  # fmt: skip


class CalendarOCReducer(OCReducer):
    """:class:`~bayes_dose.metrics.OCReducer` of a calendar-time run: also keeps the
    per-trial :data:`TIME_VARS` of every trial (a few numbers per trial, never the
    patients), placed at their trial numbers, so its operating characteristics add
    :func:`time_characteristics` with exactly the numbers of the in-memory run, for any
    chunking, order of chunks, ``n_jobs`` or backend.

    ``add(block)`` reads, besides the :class:`OCReducer` keys, ``block["trial_start"]``
    (first trial of the block) and the :data:`TIME_VARS` (design, scenario, trial).
    """

    def __init__(self, *args: Any, n_trials: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.n_trials = int(n_trials)
        self.parts: list[tuple[int, dict[str, np.ndarray]]] = []

    def add(self, block: Mapping[str, np.ndarray]) -> None:
        super().add(block)
        self.parts.append((int(block["trial_start"]),
                           {v: np.asarray(block[v]) for v in TIME_VARS}))  # fmt: skip

    def merge(self, other: OCReducer) -> OCReducer:
        super().merge(other)
        self.parts.extend(getattr(other, "parts", []))
        return self

    def time_arrays(self) -> dict[str, np.ndarray]:
        """The :data:`TIME_VARS` of every trial (design, scenario, trial); every trial must
        have been added exactly once."""
        G, S = len(self.designs), len(self.scenarios)
        out: dict[str, np.ndarray] = {}
        seen = np.zeros(self.n_trials, dtype=np.int64)
        for start, part in self.parts:
            t = part["duration_days"].shape[-1]
            seen[start:start + t] += 1
            for v, a in part.items():
                if v not in out:
                    out[v] = np.zeros((G, S, self.n_trials), dtype=a.dtype)
                out[v][..., start:start + t] = a
        if not (seen == 1).all():
            bad = int(np.argmax(seen != 1))
            raise ValueError(f"CalendarOCReducer: trial {bad} was added {int(seen[bad])} times")
        return out

    def operating_characteristics(self) -> xr.Dataset:
        oc = super().operating_characteristics()
        return oc.merge(_time_oc(self.time_arrays(), np.array(self.designs, dtype=object),
                                 np.array(self.scenarios, dtype=object)))  # fmt: skip


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
