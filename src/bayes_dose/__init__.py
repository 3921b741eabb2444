"""bayes_dose: phase I dose-finding on one set of cohort data.

The protocol's 3+3 (with accelerated titration), BOIN, CRM and BLRM designs decide from
the same :class:`Outcomes`; exact and simulated operating characteristics compare them.

Examples
--------
>>> import bayes_dose as bd
>>> proto = bd.protocols.bat6021()
>>> fit = bd.ThreePlusThree(n_doses=8, titration_levels=3).fit(bd.Outcomes.parse("1N 2N 3N 4NNN"))
>>> fit.next_dose
5
"""

from importlib.metadata import PackageNotFoundError, version

from . import examples, io, protocols, scenarios
from .compare import Comparison, RP2DRule, compare, recommend_rp2d
from .designs import rules
from .designs.base import Design, Fit
from .designs.blrm import BLRM, BLRMFit
from .designs.boin import BOIN, boin_boundaries
from .designs.combo_blrm import CombinationBLRM
from .designs.crm import CRM, CRMFit, crm_skeleton
from .designs.state import Decision, DoseData, Selection
from .designs.three_plus_three import ThreePlusThree
from .dlt import AdjudicationError, adjudicate_dlt
from .exact import ExactOC, exact_operating_characteristics
from .inference.blrm_model import BLRMPrior
from .inference.combo_blrm_model import NormalPrior
from .metrics import concordance, operating_characteristics
from .outcomes import Outcomes
from .paths import DosePaths, decision_table, dose_paths
from .protocol import Arm, MTDRule, Protocol, Staggering
from .report import Report, report
from .simulate import SimulationSummary, open_store, simulate, simulate_oc

try:
    __version__ = version("bayes_dose")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.1.0"

__all__ = [
    "BOIN",
    "CRM",
    "AdjudicationError",
    "Arm",
    "CRMFit",
    "Comparison",
    "Decision",
    "Design",
    "DoseData",
    "DosePaths",
    "ExactOC",
    "Fit",
    "MTDRule",
    "Outcomes",
    "Protocol",
    "RP2DRule",
    "Report",
    "Selection",
    "Staggering",
    "ThreePlusThree",
    "__version__",
    "adjudicate_dlt",
    "boin_boundaries",
    "compare",
    "concordance",
    "crm_skeleton",
    "decision_table",
    "dose_paths",
    "exact_operating_characteristics",
    "examples",
    "io",
    "operating_characteristics",
    "protocols",
    "recommend_rp2d",
    "report",
    "rules",
    "scenarios",
    "simulate",
]  # fmt: skip
__all__ += ["BLRM", "BLRMFit", "BLRMPrior", "CombinationBLRM", "NormalPrior"]
__all__ += ["SimulationSummary", "open_store", "simulate_oc"]
