"""Figures (matplotlib).  Designs and fits stay free of plotting code; call these."""

from .fits import plot_dose_toxicity
from .simulation import plot_concordance, plot_patients, plot_selection, plot_selection_grid

__all__ = [
    "plot_concordance",
    "plot_dose_toxicity",
    "plot_patients",
    "plot_selection",
    "plot_selection_grid",
]
