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

__all__ = ["QUANTILES", "time_characteristics"]

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
