"""Tumour-response figures: waterfall, swimmer and hierarchical shrinkage plots."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ..basket import HierarchicalFit
    from ..response import BOR

__all__ = ["BOR_COLOURS", "plot_shrinkage", "plot_swimmer", "plot_waterfall"]

BOR_COLOURS = {"CR": "#1b7837", "PR": "#5aae61", "SD": "#92c5de", "PD": "#d6604d", "NE": "#bababa"}


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=size)
    return ax


def _table(bor: BOR | pd.DataFrame) -> pd.DataFrame:
    return bor.table if hasattr(bor, "table") else bor


def _legend(ax: Axes, cats: Any) -> None:
    from matplotlib.patches import Patch

    ax.legend(
        handles=[Patch(color=BOR_COLOURS[c], label=c) for c in BOR_COLOURS if c in set(cats)],
        title="best response", fontsize=8, loc="best",
    )  # fmt: skip


def plot_waterfall(bor: BOR | pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Best % change from baseline in the sum of diameters, one bar per subject, sorted.

    Bars are coloured by best overall response; lines at +20 % (PD) and -30 % (PR).
    Subjects without a measurable baseline or post-baseline sum are left out and counted
    in the title.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bayes_dose import response
    >>> from bayes_dose.plots import plot_waterfall
    >>> b = response.best_overall_response(response.bundled_response_listing())
    >>> ax = plot_waterfall(b)
    """
    t = _table(bor)
    ok = t[np.isfinite(t["best_pct_change"].astype(float))]
    ok = ok.sort_values("best_pct_change", ascending=False)
    ax = _axes(ax, (max(6.0, 0.12 * len(ok)), 4.0))
    x = np.arange(len(ok))
    ax.bar(x, ok["best_pct_change"], color=[BOR_COLOURS[c] for c in ok["bor"]], width=0.85)
    ax.axhline(20, color="#d6604d", ls="--", lw=0.8)
    ax.axhline(-30, color="#1b7837", ls="--", lw=0.8)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks([])
    ax.set_xlabel("subjects")
    ax.set_ylabel("best % change in sum of diameters")
    left = len(t) - len(ok)
    ax.set_title((title or "Waterfall") + (f" ({left} subject(s) without a measurement)" if left else ""))
    _legend(ax, ok["bor"])
    return ax


def plot_swimmer(bor: BOR | pd.DataFrame, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Time on study per subject (bar to the last assessment), first response (triangle),
    confirmation (dot) and progression (cross); bars coloured by best overall response.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bayes_dose import response
    >>> from bayes_dose.plots import plot_swimmer
    >>> b = response.best_overall_response(response.bundled_response_listing())
    >>> ax = plot_swimmer(b.table[b.table.arm == "mono"])
    """
    t = _table(bor).sort_values("last_day")
    ax = _axes(ax, (7.0, max(3.0, 0.18 * len(t))))
    yy = np.arange(len(t))
    ax.barh(yy, t["last_day"], color=[BOR_COLOURS[c] for c in t["bor"]], height=0.7)
    for col, marker, lab in (("first_response_day", ">", "first response"),
                             ("confirm_day", "o", "confirmed"),
                             ("pd_day", "x", "progression")):  # fmt: skip
        v = t[col].astype("Float64")
        m = v.notna().to_numpy()
        if m.any():
            ax.scatter(v[m].astype(float), yy[m], marker=marker, color="black", s=18, label=lab, zorder=3)
    ax.set_yticks(yy)
    ax.set_yticklabels(t["subject"], fontsize=6)
    ax.set_xlabel("study day")
    ax.set_title(title or "Swimmer plot")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_shrinkage(fit: HierarchicalFit, ax: Axes | None = None) -> Axes:
    """Raw ORR vs posterior ORR (with credible interval) per cohort, and the pooled mean.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from bayes_dose.basket import hierarchical_orr
    >>> from bayes_dose.plots import plot_shrinkage
    >>> ax = plot_shrinkage(hierarchical_orr([("A", 20, 2), ("B", 20, 9)], model="exchangeable"))
    """
    t = fit.table()
    ax = _axes(ax, (6.0, 0.5 * len(t) + 1.5))
    yy = np.arange(len(t))[::-1]
    ax.scatter(t["raw_orr"], yy + 0.12, marker="o", facecolors="none", edgecolors="black", label="raw ORR")
    ax.errorbar(
        t["post_mean"], yy - 0.12,
        xerr=[t["post_mean"] - t["lower"], t["upper"] - t["post_mean"]],
        fmt="s", color="#2166ac", capsize=3, label=f"posterior ({fit.model})",
    )  # fmt: skip
    for r, y0 in zip(t.itertuples(), yy, strict=True):
        ax.annotate("", xy=(r.post_mean, y0 - 0.12), xytext=(r.raw_orr, y0 + 0.12),
                    arrowprops={"arrowstyle": "->", "color": "grey", "lw": 0.7})  # fmt: skip
    ax.axvline(fit.pooled_mean, color="grey", ls=":", label="pooled mean")
    ax.set_yticks(yy)
    ax.set_yticklabels([f"{c} ({r}/{n})" for c, r, n in zip(t.cohort, t.responders, t.n, strict=True)])
    ax.set_xlim(0, 1)
    ax.set_xlabel("objective response rate")
    ax.set_title("Borrowing between cohorts: raw vs posterior ORR")
    ax.legend(fontsize=7, loc="lower right")
    return ax
