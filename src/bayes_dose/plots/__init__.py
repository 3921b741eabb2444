"""Figures (matplotlib).  Designs and fits stay free of plotting code; call these."""

from .blrm import plot_blrm_curves, plot_interval_probs
from .calendar import plot_calendar_trial
from .fits import plot_dose_toxicity
from .response import plot_shrinkage, plot_swimmer, plot_waterfall
from .simulation import plot_concordance, plot_patients, plot_selection, plot_selection_grid
from .timeline import plot_patient_timeline

__all__ = [
    "plot_blrm_curves",
    "plot_concordance",
    "plot_dose_toxicity",
    "plot_interval_probs",
    "plot_patients",
    "plot_selection",
    "plot_selection_grid",
]
__all__ += ["plot_shrinkage", "plot_swimmer", "plot_waterfall"]
__all__ += ["plot_calendar_trial"]
__all__ += ["plot_patient_timeline"]
