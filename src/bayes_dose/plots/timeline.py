"""Swimmer plot of observed data (an :class:`~bayes_dose.Outcomes` with ``enroll_day``):
patients over study days by dose, DLTs marked, pending follow-up hatched."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .swimmer_rows import draw_patient_rows

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..outcomes import Outcomes

__all__ = ["plot_patient_timeline"]

#: DLT window (days) used when neither ``window_days`` nor the data's protocol gives one.
DEFAULT_WINDOW_DAYS = 21


def plot_patient_timeline(
    outcomes: Outcomes,
    arm: str | None = None,
    window_days: float | None = None,
    as_of: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Patients of observed data over study days (a swimmer plot).

    One row per patient in enrolment order (first on top); the bar starts on the
    patient's ``enroll_day`` (day 1 = first dose) and spans the DLT window, coloured by
    dose level.  A red ``x`` marks a DLT on its ``dlt_day``; a DLT without a recorded day
    is an open red circle at the end of the patient's follow-up (the end of the window
    when follow-up is not recorded either).  Patients still pending
    (:meth:`Outcomes.pending`) have the rest of their window hatched; a patient whose DLT
    status is unknown carries a ``?``.

    Parameters
    ----------
    outcomes : Outcomes
        Data with ``enroll_day`` for every patient of the arm.
    arm : str, optional
        Needed when the data have several arms.
    window_days : float, optional
        DLT window; default the protocol's (``outcomes.dlt_window_days``), else 21.
    as_of : int, optional
        Study day of the analysis (passed to :meth:`Outcomes.pending`; drawn as a dashed
        line).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        The data have no ``enroll_day`` (the plot does not invent days), or several
        arms and no ``arm``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd, bayes_dose as bd
    >>> out = bd.Outcomes.from_frame(pd.DataFrame({
    ...     "patient_id": ["A", "B", "C"], "arm": "mono", "dose_level": [1, 1, 2],
    ...     "dlt": [0, 1, 0], "enroll_day": [1, 8, 15], "followup_days": [21, 3, 7],
    ...     "dlt_day": [None, 3, None]}))
    >>> from bayes_dose.plots import plot_patient_timeline
    >>> ax = plot_patient_timeline(out)
    >>> sum(p.get_hatch() is not None for p in ax.patches)  # C is pending
    1
    """
    import matplotlib.pyplot as plt

    arms = outcomes.arms
    if arm is None:
        if len(arms) != 1:
            raise ValueError(f"plot_patient_timeline: the data have arms {list(arms)}: pass arm=")
        arm = arms[0]
    elif arm not in arms:
        raise ValueError(f"plot_patient_timeline: arm {arm!r} not in the data {list(arms)}")
    data = outcomes.arm(arm)
    f = data.to_frame()
    k = len(f)
    enroll = f["enroll_day"].to_numpy(dtype=float) if "enroll_day" in f else np.full(k, np.nan)
    if k == 0 or np.isnan(enroll).any():
        missing = [str(p) for p in f.loc[np.isnan(enroll), "patient_id"]] if k else []
        raise ValueError(
            f"plot_patient_timeline: the plot needs enrolment days (enroll_day) for every "
            f"patient of arm {arm!r}; missing for "
            + (", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "") if k else "no patients")
        )
    window = float(window_days if window_days is not None
                   else data.dlt_window_days or DEFAULT_WINDOW_DAYS)  # fmt: skip
    order = np.argsort(enroll, kind="stable")
    f = f.iloc[order].reset_index(drop=True)
    enroll = enroll[order]
    ids = f["patient_id"].astype(str).to_numpy()
    levels = f["dose_level"].to_numpy(dtype=int)
    dlt = f["dlt"]
    is_dlt = (dlt == 1).fillna(False).to_numpy(dtype=bool)
    unknown = dlt.isna().to_numpy(dtype=bool)
    dday = f["dlt_day"].to_numpy(dtype=float)
    fu = f["followup_days"].to_numpy(dtype=float)
    if as_of is not None:
        fu = np.fmin(np.where(np.isnan(fu), np.inf, fu), as_of - enroll + 1)
    fu_end = enroll + np.where(np.isfinite(fu), np.fmin(fu, window), window) - 1
    dlt_at = np.where(is_dlt & np.isfinite(dday), enroll + dday - 1, np.nan)
    dlt_end = np.where(is_dlt & ~np.isfinite(dday), fu_end, np.nan)
    unknown_at = np.where(unknown, fu_end, np.nan)
    pend = data.pending(window, as_of=as_of)
    pend_fu = dict(zip(pend["patient_id"].astype(str), pend["followup_days"], strict=True))
    hatch = np.array([enroll[i] + (pend_fu[p] if np.isfinite(pend_fu[p]) else 0.0)
                      if p in pend_fu else np.nan for i, p in enumerate(ids)])  # fmt: skip
    grid = data.doses_mg(arm)
    mg_col = f["dose_mg"] if "dose_mg" in f else None

    def label(v: int) -> str:
        mg = grid[v - 1] if grid and v <= len(grid) else None
        if mg is None and mg_col is not None:
            vals = mg_col[(levels == v) & mg_col.notna().to_numpy()]
            mg = float(vals.iloc[0]) if len(vals) else None
        return f"level {v} ({mg:g} mg)" if mg is not None else f"level {v}"

    if ax is None:
        _, ax = plt.subplots(figsize=(10, 0.25 * k + 1.8))
    n_levels = max(len(grid) if grid else 0, int(levels.max()))
    draw_patient_rows(
        ax, enroll, levels, window, dlt_at, n_levels=n_levels, level_label=label,
        hatch_from=hatch, pending_label="pending (DLT window not complete)",
        dlt_label="DLT (on its day)", dlt_end=dlt_end,
        dlt_end_label="DLT, day not recorded (at end of follow-up)",
        unknown_at=unknown_at, unknown_label="DLT status unknown", row_labels=list(ids), legend_outside=True,
    )  # fmt: skip
    if as_of is not None:
        ax.axvline(as_of, color="0.2", ls="--", lw=1)
    ax.set_xlabel("study day (day 1 = first dose)")
    ax.set_title(f"Arm {arm}: {k} patients over study days, {window:g}-day DLT window"
                 + (f", as of day {as_of}" if as_of is not None else ""))  # fmt: skip
    return ax
