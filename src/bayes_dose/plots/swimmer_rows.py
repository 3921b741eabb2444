"""Drawing shared by the swimmer plots of a simulated trial (:func:`plot_calendar_trial`)
and of observed data (:func:`plot_patient_timeline`): one row per patient, a bar over the
DLT window coloured by dose level, DLTs marked, pending follow-up hatched."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["draw_patient_rows"]


def draw_patient_rows(
    ax: Axes,
    start: np.ndarray,
    levels: np.ndarray,
    window: float,
    dlt_at: np.ndarray,
    *,
    n_levels: int,
    level_label: Callable[[int], str],
    arrival: np.ndarray | None = None,
    hatch_from: np.ndarray | None = None,
    pending_label: str | None = None,
    dlt_label: str | None = None,
    dlt_end: np.ndarray | None = None,
    dlt_end_label: str | None = None,
    unknown_at: np.ndarray | None = None,
    unknown_label: str | None = None,
    row_labels: Sequence[str] | None = None,
    legend_outside: bool = False,
) -> None:
    """Draw one row per patient on ``ax`` (first patient on top).

    ``start`` (first-dose day) and ``levels`` (1-based) per patient; the bar spans
    ``start .. start + window``.  NaN entries of ``hatch_from`` / ``dlt_at`` / ``dlt_end``
    / ``unknown_at`` mean "none": a hatched patch from ``hatch_from`` to the end of the
    window (pending follow-up), an ``x`` at ``dlt_at``, an open circle at ``dlt_end`` (a DLT
    whose day is not recorded, drawn at the end of follow-up), a ``?`` at ``unknown_at``.
    ``arrival`` adds a grey line from arrival to first dose (waiting).  The legend holds one
    entry per dose level shown and the marker labels given (right of the axes with
    ``legend_outside``).
    """
    import matplotlib.pyplot as plt

    k = len(start)
    cmap = plt.get_cmap("viridis", max(int(n_levels), 2))
    for i in range(k):
        y = k - i
        if arrival is not None:
            ax.plot([arrival[i], start[i]], [y, y], color="0.6", lw=1)
        end = start[i] + window
        ax.barh(y, window, left=start[i], height=0.6, color=cmap(int(levels[i]) - 1),
                label=level_label(int(levels[i])))  # fmt: skip
        if hatch_from is not None and np.isfinite(hatch_from[i]):
            ax.barh(y, end - hatch_from[i], left=hatch_from[i], height=0.6, color="white",
                    alpha=0.6, hatch="///", edgecolor="0.3", lw=0,
                    label=pending_label)  # fmt: skip
        if np.isfinite(dlt_at[i]):
            ax.plot(dlt_at[i], y, "x", color="tab:red", ms=8, mew=2, label=dlt_label)
        if dlt_end is not None and np.isfinite(dlt_end[i]):
            ax.plot(dlt_end[i], y, "o", mfc="none", color="tab:red", ms=8, mew=2,
                    label=dlt_end_label)  # fmt: skip
        if unknown_at is not None and np.isfinite(unknown_at[i]):
            ax.text(unknown_at[i], y, "?", color="tab:red", fontweight="bold", ha="left",
                    va="center")  # fmt: skip
    handles, labels = ax.get_legend_handles_labels()
    if unknown_at is not None and unknown_label and np.isfinite(unknown_at).any():
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], ls="none", marker="$?$", color="tab:red", ms=9))
        labels.append(unknown_label)
    seen = dict(zip(labels, handles, strict=True))
    if legend_outside:
        ax.legend(seen.values(), seen.keys(), fontsize="small", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), borderaxespad=0)  # fmt: skip
    else:
        ax.legend(seen.values(), seen.keys(), fontsize="small", loc="lower right")
    names = row_labels if row_labels is not None else [f"#{j + 1}" for j in range(k)]
    ax.set_yticks(range(1, k + 1), [str(names[k - 1 - j]) for j in range(k)],
                  fontsize="x-small")  # fmt: skip
