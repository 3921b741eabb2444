"""Plots of one design's fit to cohort data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..designs.base import Fit

__all__ = ["plot_dose_toxicity"]


def plot_dose_toxicity(fit: Fit, ax: Axes | None = None, target: float | None = None) -> Axes:
    """Estimated DLT probability per dose with its interval, the target and the data.

    Parameters
    ----------
    fit : Fit
        A design's fit (``design.fit(outcomes)``).
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    target : float, optional
        Target DLT rate line (default: the design's ``target``, if it has one).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import bayes_dose as bd
    >>> from bayes_dose.plots import plot_dose_toxicity
    >>> fit = bd.BOIN(target=0.25, n_doses=4).fit(bd.Outcomes.parse("1NNN 2NTN"))
    >>> ax = plot_dose_toxicity(fit)
    >>> ax.get_ylabel()
    'P(DLT)'
    >>> "selected MTD (level 2, provisional)" in [t.get_text() for t in ax.get_legend().get_texts()]
    True
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    levels = fit.prob_tox["dose_level"].to_numpy()
    mg = fit.prob_tox["dose_mg"].to_numpy()
    mean = fit.prob_tox.to_numpy()
    x = np.arange(len(levels))
    label = f"{fit.design.label} estimate"
    kw: dict[str, Any] = {"color": "C0"}
    if fit.prob_tox_interval is not None:
        lo = fit.prob_tox_interval.sel(bound="lower").to_numpy()
        hi = fit.prob_tox_interval.sel(bound="upper").to_numpy()
        ok = np.isfinite(lo) & np.isfinite(hi) & np.isfinite(mean)
        mass = fit.prob_tox_interval.attrs.get("mass", None)
        ax.errorbar(
            x[ok], mean[ok], yerr=[mean[ok] - lo[ok], hi[ok] - mean[ok]], fmt="none",
            capsize=4, alpha=0.7,
            label=f"{mass:.0%} credible interval" if mass is not None else "credible interval",
            **kw,
        )  # fmt: skip
    ax.plot(x, mean, "o-", label=label, **kw)
    target = getattr(fit.design, "target", None) if target is None else target
    if target is not None:
        ax.axhline(target, color="C3", ls="--", lw=1, label=f"target {target:g}")
    n, y = fit.data.n[0], fit.data.dlt[0]
    for i in range(len(levels)):
        if n[i] > 0:
            ax.annotate(
                f"{y[i]}/{n[i]}", (x[i], 1.0), xycoords=("data", "axes fraction"),
                xytext=(0, -12), textcoords="offset points", ha="center", fontsize=10,
            )  # fmt: skip
    if fit.next_dose is not None:
        ax.axvline(fit.next_dose - 1, color="0.6", lw=0.8, ls=":", label="next dose")
    if fit.mtd is not None:
        i = int(fit.mtd) - 1
        status = "final" if fit.stop else "provisional"
        ax.plot(x[i], mean[i] if np.isfinite(mean[i]) else 0.0, marker="*", ms=16, color="C1",
                mec="black", mew=0.8, ls="none", zorder=5,
                label=f"selected {fit.mtd_label} (level {fit.mtd}, {status})")  # fmt: skip
    ticks = [
        f"{lv}\n{m:g} mg" if np.isfinite(m) else str(lv) for lv, m in zip(levels, mg, strict=True)
    ]
    ax.set_xticks(x, ticks)
    ax.set_xlabel("dose level (annotated: DLTs/patients)")
    ax.set_ylabel("P(DLT)")
    ax.set_ylim(0, 1.08)
    ax.legend(loc="center left", fontsize=9)
    return ax
