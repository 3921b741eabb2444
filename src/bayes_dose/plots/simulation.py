"""Plots of simulated operating characteristics (:func:`bayes_dose.operating_characteristics`,
:func:`bayes_dose.concordance`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_concordance", "plot_patients", "plot_selection", "plot_selection_grid"]


def _axes(ax: Axes | None) -> Axes:
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 3.5))
    return ax


def _one_scenario(ds: xr.Dataset, scenario: str | None) -> xr.Dataset:
    names = [str(s) for s in ds["scenario"].values]
    if scenario is None:
        if len(names) != 1:
            raise ValueError(f"several scenarios {names}: pass scenario=")
        scenario = names[0]
    if scenario not in names:
        raise ValueError(f"scenario {scenario!r} not in {names}")
    return ds.sel(scenario=scenario)


def _bars(ax: Axes, oc: xr.Dataset, var: str, categories: list[str], extra: str | None) -> None:
    designs = [str(g) for g in oc["design"].values]
    width = 0.8 / len(designs)
    x = np.arange(len(categories))
    for i, g in enumerate(designs):
        row = oc.sel(design=g)
        vals = row[var].to_numpy()
        err = row[f"{var}_se"].to_numpy()
        if extra is not None:
            vals = np.r_[row[extra].item(), vals]
            err = np.r_[row[f"{extra}_se"].item(), err]
        ax.bar(x + (i - (len(designs) - 1) / 2) * width, vals, width, yerr=1.96 * err,
               label=g, capsize=2)  # fmt: skip
    ax.set_xticks(x, categories)
    ax.legend(fontsize="small", ncols=min(len(designs), 4))


def _mark_mtd(ax: Axes, oc: xr.Dataset, offset: int) -> None:
    mtd = np.unique(oc["true_mtd"].to_numpy())
    mtd = mtd[mtd >= 0]
    for m in mtd:
        pos = m - 1 + offset
        ax.axvspan(pos - 0.45, pos + 0.45, color="tab:green", alpha=0.12, zorder=0)
        ax.annotate("true MTD" if m > 0 else "correct: none", (pos, 1.0),
                    xycoords=("data", "axes fraction"), ha="center", va="bottom",
                    fontsize="small", color="tab:green")  # fmt: skip


def _labels(oc: xr.Dataset) -> list[str]:
    mg = oc["dose_mg"].to_numpy()
    lv = oc["dose_level"].to_numpy()
    if np.all(np.isfinite(mg)):
        return [f"{int(a)}\n{b:g} mg" for a, b in zip(lv, mg, strict=True)]
    return [str(int(a)) for a in lv]


def plot_selection(oc: xr.Dataset, scenario: str | None = None, ax: Axes | None = None) -> Axes:
    """Selection probability per dose (and "none") by design; the true MTD is shaded.

    Error bars are +-1.96 Monte Carlo SE.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import bayes_dose as bd
    >>> from bayes_dose.plots import plot_selection
    >>> sims = bd.simulate({"3+3": bd.ThreePlusThree(5)}, [0.05, 0.15, 0.3, 0.45, 0.6],
    ...                    n_trials=200, seed=1, progress=False)
    >>> ax = plot_selection(bd.operating_characteristics(sims, target=0.3))
    """
    ax = _axes(ax)
    one = _one_scenario(oc, scenario)
    _bars(ax, one, "p_select", ["none", *_labels(one)], extra="p_none")
    _mark_mtd(ax, one, offset=1)
    ax.set_ylabel("P(selected)")
    ax.set_xlabel("dose level")
    ax.set_ylim(0, 1)
    ax.set_title(f"Selection: {one['scenario'].item()}", loc="left", pad=14)
    return ax


def plot_patients(oc: xr.Dataset, scenario: str | None = None, ax: Axes | None = None) -> Axes:
    """Mean patients treated per dose by design (+-1.96 MC SE); the true MTD is shaded."""
    ax = _axes(ax)
    one = _one_scenario(oc, scenario)
    _bars(ax, one, "mean_n", _labels(one), extra=None)
    _mark_mtd(ax, one, offset=0)
    ax.set_ylabel("mean patients")
    ax.set_xlabel("dose level")
    ax.set_title(f"Patients per dose: {one['scenario'].item()}", loc="left", pad=14)
    return ax


def plot_selection_grid(oc: xr.Dataset, ncols: int = 2) -> Figure:
    """:func:`plot_selection` for every scenario, one panel each."""
    import matplotlib.pyplot as plt

    names = [str(s) for s in oc["scenario"].values]
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 3.2 * nrows), squeeze=False)
    for ax, s in zip(axes.flat, names, strict=False):
        plot_selection(oc, s, ax=ax)
    for ax in axes.flat[len(names) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_concordance(conc: xr.Dataset, scenario: str | None = None, ax: Axes | None = None,
                     measure: str = "p_identical") -> Axes:  # fmt: skip
    """Heat map of pairwise agreement between designs (``p_identical``, ``p_within_one``
    or ``kappa``) for one scenario."""
    if measure not in ("p_identical", "p_within_one", "kappa"):
        raise ValueError(f"measure must be p_identical, p_within_one or kappa, got {measure!r}")
    ax = _axes(ax)
    one = _one_scenario(conc, scenario)
    m = one[measure].to_numpy()
    names = [str(g) for g in one["design_a"].values]
    im = ax.imshow(m, vmin=0 if measure != "kappa" else min(0.0, float(np.nanmin(m))), vmax=1,
                   cmap="viridis")  # fmt: skip
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center",
                    color="white" if m[i, j] < 0.6 else "black", fontsize="small")  # fmt: skip
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label=measure)
    ax.set_title(f"Concordance ({measure}): {one['scenario'].item()}", loc="left")
    return ax
