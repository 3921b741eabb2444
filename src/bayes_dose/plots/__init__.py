"""Figures (matplotlib).  Designs and fits stay free of plotting code; call these."""

from .fits import plot_dose_toxicity

__all__ = ["plot_dose_toxicity"]
