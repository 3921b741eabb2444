"""Swimmer plot of one calendar-time trial (``simulate(..., timeline=...)``): patients over
calendar days by dose, DLTs marked, waiting and pending follow-up shaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .swimmer_rows import draw_patient_rows

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes

__all__ = ["plot_calendar_trial"]


def plot_calendar_trial(
    sims: xr.Dataset,
    design: str,
    trial: int = 0,
    scenario: str | None = None,
    as_of: float | None = None,
    window: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Patients of one simulated trial over calendar days (a swimmer plot).

    One row per treated patient (enrolment order): a thin line from arrival to first dose
    (waiting), a bar over the DLT window coloured by dose level, an ``x`` on the DLT day.
    With ``as_of`` (a trial day) the part of each window after it is hatched: the patients
    still pending on that day.

    Parameters
    ----------
    sims : xarray.Dataset
        A calendar-time simulation (has ``patient_dose_day``).
    design : str
    trial : int
    scenario : str, optional
        Needed when the run has several scenarios.
    as_of : float, optional
        Day on which to show pending follow-up.
    window : float, optional
        DLT window (days); default the run's (manifest), else 21.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"BOIN": bd.BOIN(0.25, 5, max_n=9)}, [0.05, 0.1, 0.2, 0.3, 0.5],
    ...                    n_trials=2, seed=1, progress=False,
    ...                    timeline=bd.Timeline(accrual_per_month=4))
    >>> from bayes_dose.plots import plot_calendar_trial
    >>> ax = plot_calendar_trial(sims, "BOIN", trial=0, as_of=40)
    >>> len(ax.patches) >= 9
    True
    """
    import json

    import matplotlib.pyplot as plt

    if "patient_dose_day" not in sims:
        raise ValueError("plot_calendar_trial: the simulation has no timeline "
                         "(simulate(..., timeline=bd.Timeline(...)))")  # fmt: skip
    names = [str(s) for s in sims["scenario"].values]
    if scenario is None:
        if len(names) != 1:
            raise ValueError(f"several scenarios {names}: pass scenario=")
        scenario = names[0]
    if design not in [str(g) for g in sims["design"].values]:
        raise ValueError(f"design {design!r} not in {list(sims['design'].values)}")
    x = sims.sel(design=design, scenario=scenario).isel(trial=int(trial))
    if window is None:
        man: dict[str, Any] = json.loads(sims.attrs.get("manifest", "{}"))
        window = float(man.get("timeline", {}).get("dlt_window_days", 21.0))
    dose = x["patient_dose"].to_numpy()
    k = int((dose > 0).sum())
    day = x["patient_dose_day"].to_numpy()[:k]
    arr = x["patient_arrival_day"].to_numpy()[:k]
    dlt_day = x["patient_dlt_day"].to_numpy()[:k]
    lv = dose[:k].astype(int)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.25 * k + 1.5))
    hatch = np.full(k, np.nan)
    if as_of is not None:
        end = day + window
        hatch[(day <= as_of) & (as_of < end) & ~(dlt_day <= as_of)] = as_of
    draw_patient_rows(ax, day, lv, window, dlt_day, n_levels=int(sims.sizes["dose"]),
                      level_label=lambda v: f"level {v}", arrival=arr, hatch_from=hatch)
    if as_of is not None:
        ax.axvline(as_of, color="0.2", ls="--", lw=1)
    ax.set_xlabel("trial day")
    ax.set_title(f"{design}, {scenario}, trial {trial}: "
                 f"{float(x['duration_days']):.0f} days (x = DLT)")  # fmt: skip
    return ax
