"""Dose-finding designs: one module per design, shared mechanisms in base/rules/state."""

from . import slots
from .base import Design, Fit
from .blrm import BLRM, BLRMFit, EWOCDesign
from .boin import BOIN, boin_boundaries
from .combo_blrm import CombinationBLRM
from .crm import CRM, CRMFit, crm_skeleton
from .registry import design_class, design_names, register_design
from .rule_grammar import parse_rule, register_rule
from .slots import register_slot
from .state import Decision, DoseData, Selection
from .three_plus_three import ThreePlusThree

__all__ = [
    "BOIN", "CRM", "CRMFit", "Decision", "Design", "DoseData", "Fit", "Selection",
    "ThreePlusThree", "boin_boundaries", "crm_skeleton",
]  # fmt: skip
__all__ += ["BLRM", "BLRMFit", "CombinationBLRM", "EWOCDesign"]
__all__ += ["design_class", "design_names", "parse_rule", "register_design", "register_rule",
            "register_slot", "slots"]
