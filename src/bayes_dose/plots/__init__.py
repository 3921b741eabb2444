"""Figures (matplotlib).  Designs and fits stay free of plotting code; call these."""

from .blrm import plot_blrm_curves, plot_interval_probs
from .fits import plot_dose_toxicity

__all__ = ["plot_blrm_curves", "plot_dose_toxicity", "plot_interval_probs"]
