"""Dose-finding designs: one module per design, shared mechanisms in base/rules/state."""

from .base import Design, Fit
from .blrm import BLRM, BLRMFit, EWOCDesign
from .boin import BOIN, boin_boundaries
from .combo_blrm import CombinationBLRM
from .crm import CRM, CRMFit, crm_skeleton
from .state import Decision, DoseData, Selection
from .three_plus_three import ThreePlusThree

__all__ = [
    "BOIN", "CRM", "CRMFit", "Decision", "Design", "DoseData", "Fit", "Selection",
    "ThreePlusThree", "boin_boundaries", "crm_skeleton",
]  # fmt: skip
__all__ += ["BLRM", "BLRMFit", "CombinationBLRM", "EWOCDesign"]
