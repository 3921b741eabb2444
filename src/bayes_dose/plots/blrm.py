"""Plots of BLRM fits: interval probabilities per dose and posterior dose-toxicity curves."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..designs.blrm import BLRMFit

__all__ = ["plot_blrm_curves", "plot_interval_probs"]

_COLOURS = {"under": "#9ecae1", "target": "#31a354", "over": "#de2d26"}


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def _labels(fit: BLRMFit) -> list[str]:
    mg = fit.prob_tox["dose_mg"].to_numpy()
    lv = fit.prob_tox["dose_level"].to_numpy()
    return [f"{m:g}" if np.isfinite(m) else str(v) for m, v in zip(mg, lv, strict=True)]


def plot_interval_probs(fit: BLRMFit, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Bar chart of the toxicity-interval probabilities P(under) / P(target) / P(over) per
    dose, with the EWOC threshold.

    Parameters
    ----------
    fit : BLRMFit
        A BLRM or combination BLRM fit.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import bayes_dose as bd
    >>> from bayes_dose.plots import plot_interval_probs
    >>> fit = bd.BLRM([1, 2, 4, 8], reference_dose=4).fit(bd.Outcomes.parse("1NNN 2NNN"))
    >>> ax = plot_interval_probs(fit)
    """
    ax = _axes(ax)
    ip = fit.interval_probs
    x = np.arange(ip.sizes["dose"])
    width = 0.27
    for k, cat in enumerate(ip["category"].to_numpy()):
        ax.bar(x + (k - 1) * width, ip.sel(category=cat).to_numpy(), width,
               color=_COLOURS.get(str(cat)), label=f"P({cat})")  # fmt: skip
    ewoc = getattr(fit.design, "ewoc", None)
    if ewoc is not None:
        ax.axhline(ewoc, color=_COLOURS["over"], ls="--", lw=1, label=f"EWOC {ewoc:g}")
    if fit.next_dose is not None:
        ax.annotate("next", (fit.next_dose - 1, 1.0), ha="center", va="bottom", fontsize=8)
    lo, hi = ip.attrs.get("target_interval", (np.nan, np.nan))
    ax.set_xticks(x, _labels(fit))
    ax.set_xlabel("dose (mg)")
    ax.set_ylabel("posterior probability")
    ax.set_ylim(0, 1.08)
    ax.set_title(title or f"{fit.design.label}: target [{lo:g}, {hi:g})")
    ax.legend(fontsize=8, ncol=4, loc="upper left")
    return ax


def plot_blrm_curves(
    fits: BLRMFit | Mapping[str, BLRMFit], ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Posterior mean DLT probability with 90% credible band against dose (log scale).

    Parameters
    ----------
    fits : BLRMFit or mapping of label to BLRMFit
        One fit, or several to overlay (e.g. with and without borrowing).
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import bayes_dose as bd
    >>> from bayes_dose.plots import plot_blrm_curves
    >>> fit = bd.BLRM([1, 2, 4, 8], reference_dose=4).fit(bd.Outcomes.parse("1NNN 2NNN"))
    >>> ax = plot_blrm_curves({"BLRM": fit})
    """
    ax = _axes(ax)
    if not isinstance(fits, Mapping):
        fits = {fits.design.label: fits}
    first: Any = None
    for label, fit in fits.items():
        first = first or fit
        mg = fit.prob_tox["dose_mg"].to_numpy()
        x = mg if np.all(np.isfinite(mg)) else fit.prob_tox["dose_level"].to_numpy()
        (line,) = ax.plot(x, fit.prob_tox.to_numpy(), marker="o", label=label)
        if fit.prob_tox_interval is not None:
            ax.fill_between(x, fit.prob_tox_interval.sel(bound="lower"),
                            fit.prob_tox_interval.sel(bound="upper"),
                            color=line.get_color(), alpha=0.15)  # fmt: skip
        n = fit.data.n[0]
        rate = np.where(n > 0, fit.data.dlt[0] / np.maximum(n, 1), np.nan)
        ax.scatter(x, rate, s=10 + 8 * n, facecolors="none", edgecolors=line.get_color())
    lo, hi = first.interval_probs.attrs.get("target_interval", (np.nan, np.nan))
    ax.axhspan(lo, hi, color=_COLOURS["target"], alpha=0.12, label="target interval")
    if np.all(np.isfinite(first.prob_tox["dose_mg"].to_numpy())):
        ax.set_xscale("log")
        ax.set_xlabel("dose (mg)")
    else:
        ax.set_xlabel("dose level")
    ax.set_ylabel("P(DLT)")
    ax.set_ylim(0, 1)
    ax.set_title(title or "posterior mean and 90% credible interval (circles: observed rates)")
    ax.legend(fontsize=8)
    return ax
