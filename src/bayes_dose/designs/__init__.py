"""Dose-finding designs: one module per design, shared mechanisms in base/rules/state."""

from .base import Design, Fit
from .blrm import BLRM, BLRMFit, EWOCDesign
from .combo_blrm import CombinationBLRM
from .state import Decision, DoseData, Selection
from .three_plus_three import ThreePlusThree

__all__ = ["Decision", "Design", "DoseData", "Fit", "Selection", "ThreePlusThree"]
__all__ += ["BLRM", "BLRMFit", "CombinationBLRM", "EWOCDesign"]
