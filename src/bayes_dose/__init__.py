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

import sys
import types
from importlib import import_module
from typing import Any

from ._version import __version__

# Public names are loaded on first use (module ``__getattr__``), so that ``import
# bayes_dose`` and ``bayes-dose --help`` do not import scipy, PyMC or xarray.
#: name -> module (relative to this package) that defines it; a module maps to itself.
_LAZY = {
    "examples": ".examples", "io": ".io", "protocols": ".protocols", "scenarios": ".scenarios",
    "rules": ".designs.rules", "slots": ".designs.slots", "designs": ".designs",
    "register_design": ".designs.registry", "register_rule": ".designs.rule_grammar",
    "register_slot": ".designs.slots", "parse_rule": ".designs.rule_grammar",
    "Comparison": ".compare", "RP2DRule": ".compare", "compare": ".compare",
    "recommend_rp2d": ".compare",
    "Design": ".designs.base", "Fit": ".designs.base",
    "BLRM": ".designs.blrm", "BLRMFit": ".designs.blrm",
    "BOIN": ".designs.boin", "boin_boundaries": ".designs.boin",
    "CombinationBLRM": ".designs.combo_blrm",
    "CRM": ".designs.crm", "CRMFit": ".designs.crm", "crm_skeleton": ".designs.crm",
    "Decision": ".designs.state", "DoseData": ".dose_data", "Selection": ".designs.state",
    "ThreePlusThree": ".designs.three_plus_three",
    "AdjudicationError": ".dlt", "adjudicate_dlt": ".dlt",
    "ExactOC": ".exact", "exact_operating_characteristics": ".exact",
    "BLRMPrior": ".inference.blrm_model", "NormalPrior": ".inference.combo_blrm_model",
    "QuadratureSettings": ".inference.combo_quadrature",
    "concordance": ".metrics", "operating_characteristics": ".metrics",
    "Outcomes": ".outcomes",
    "DosePaths": ".paths", "decision_table": ".paths", "dose_paths": ".paths",
    "Arm": ".protocol", "MTDRule": ".protocol", "Protocol": ".protocol",
    "Staggering": ".protocol",
    "Report": ".report", "report": ".report",
    "simulate": ".simulate", "simulate_oc": ".simulate", "open_store": ".simulate",
    "SimulationSummary": ".simulate",
    "Engine": ".inference.engines", "engines": ".inference.engines",
    "overdose_risk_planned": ".metrics",
    "ada": ".ada", "listings": ".listings", "pk": ".pk", "testing": ".testing",
    "endpoints": ".endpoints", "expansion": ".expansion", "response": ".response",
    "Exchangeable": ".inference.borrowing", "EXNEX": ".inference.borrowing",
    "TauPrior": ".inference.borrowing", "BorrowingReport": ".inference.borrowing",
    "CombinationFit": ".designs.combo_blrm",
    "Study": ".study", "StudySimulation": ".study",
    "Timeline": ".timeline",
    "BOIN12": ".designs.boin12", "OBD": ".obd", "choose_rp2d": ".obd",
    "Backfill": ".designs.slots.backfill", "OpensWhenCleared": ".designs.slots.backfill",
    "AtOrBelowCurrent": ".designs.slots.backfill", "BelowCurrent": ".designs.slots.backfill",
    "MinResponses": ".designs.slots.backfill", "backfill_table": ".backfill",
    "with_response": ".efficacy_data",
    "Programme": ".programme", "opens_after": ".programme", "opens_when_cleared": ".programme",
    "arm_view": ".arm_dataset", "programme_characteristics": ".arm_dataset",
    "plots": ".plots",
    "RandomisedStage": ".dose_optimisation", "ROSE": ".dose_optimisation",
    "UtilityRule": ".dose_optimisation", "rose_design": ".dose_optimisation",
    "dose_optimisation_table": ".dose_optimisation", "DoseOptimisationSection": ".dose_optimisation",
}  # fmt: skip
_MODULES = {"examples", "io", "protocols", "scenarios", "rules", "slots", "designs", "ada", "listings", "pk", "testing", "endpoints", "expansion", "response", "plots"}


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'bayes_dose' has no attribute {name!r}")
    module = import_module(where, __name__)
    value = module if name in _MODULES else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


#: Functions named like the submodule defining them: ``bd.report`` is the function even
#: after ``bayes_dose.report`` (the module) was imported, as with eager imports.
_SHADOWED = {"compare", "report", "simulate"}


class _Package(types.ModuleType):
    def __setattr__(self, name: str, value: Any) -> None:
        # the import system sets package.<submodule> after loading a submodule
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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
    "overdose_risk_planned",
    "protocols",
    "recommend_rp2d",
    "report",
    "rules",
    "scenarios",
    "simulate",
]  # fmt: skip
__all__ += ["BLRM", "BLRMFit", "BLRMPrior", "CombinationBLRM", "Engine", "NormalPrior", "engines"]
__all__ += ["QuadratureSettings"]
__all__ += ["ada", "endpoints", "expansion", "listings", "pk", "response", "testing"]
__all__ += ["SimulationSummary", "open_store", "simulate_oc"]
__all__ += ["EXNEX", "BorrowingReport", "CombinationFit", "Exchangeable", "TauPrior"]
__all__ += ["Study", "StudySimulation"]
__all__ += ["Programme", "arm_view", "opens_after", "opens_when_cleared", "programme_characteristics"]
__all__ += ["plots"]
__all__ += ["designs", "parse_rule", "register_design", "register_rule", "register_slot", "slots"]
__all__ += ["Timeline"]
__all__ += ["BOIN12", "OBD", "choose_rp2d", "with_response"]
__all__ += [
    "ROSE",
    "DoseOptimisationSection",
    "RandomisedStage",
    "UtilityRule",
    "dose_optimisation_table",
    "rose_design",
]  # fmt: skip
__all__ += ["AtOrBelowCurrent", "Backfill", "BelowCurrent", "MinResponses", "OpensWhenCleared",
            "backfill_table"]  # fmt: skip
