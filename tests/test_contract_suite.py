"""The design contract suite (issue 11 item 4): every registered design keeps every
contract, a user design can be checked the same way, and each contract catches a design
broken on purpose (the AssertionError names that contract)."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.designs.state import NONE, Decision, DoseData, Selection
from bayes_dose.testing import CONTRACTS, check_design, registered_designs

CASES = registered_designs()


def broken(contract: str):
    """``pytest.raises`` for an AssertionError naming ``contract``."""
    return pytest.raises(AssertionError, match=rf"design contract '{contract}' \(")


# -- every registered design keeps every contract -------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_registered_design_keeps_every_contract(name):
    case = CASES[name]
    report = check_design(case.design, **case.options)
    assert {"spec", "vectorised", "stop", "reasons", "selection"} <= set(report.checked)
    assert set(report.checked) | set(report.skipped) == set(CONTRACTS)
    assert report.skipped["mcmc"] == "not requested (mcmc=False)"
    d = case.design
    # the flags' contracts run whenever the flag makes a claim
    assert ("last_cohort" in report.checked) == (not d.uses_last_cohort)
    assert ("self_limiting" in report.checked) == d.self_limiting
    assert ("uses_estimate" in report.checked) == (not d.uses_estimate)
    if d.requires_other_arms:  # checked on what applies, and the report says so
        assert "requires_other_arms" in report.skipped["exact"]
        assert "requires_other_arms" in report.skipped["fit"]
    elif getattr(d, "tite_window", None) is not None:  # simulate refuses TITE designs
        assert "tite_window" in report.skipped["exact"] and "fit" in report.checked
    elif getattr(d, "uses_efficacy", False):  # dose paths branch on DLTs only (BOIN12)
        assert "uses_efficacy" in report.skipped["exact"] and "fit" in report.checked
    else:
        assert {"exact", "fit"} <= set(report.checked)


def test_designs_of_the_bundled_spec_keep_every_contract():
    """The designs users run (the demo's TOML spec), the combination BLRM on a coarse grid."""
    spec = Path(bd.__file__).parent / "data" / "bat6021_designs.toml"
    for arm, designs in bd.io.load_designs(spec).items():
        for design in designs.values():
            if isinstance(design, bd.CombinationBLRM):
                design = design.replace(grid=(5, 5, 15, 21))
            check_design(design, arm=arm)


def test_every_design_class_of_the_package_is_registered():
    classes = {
        obj for obj in vars(bd).values()
        if inspect.isclass(obj) and issubclass(obj, bd.Design) and not inspect.isabstract(obj)
    }  # fmt: skip
    covered = {type(c.design) for c in CASES.values()}
    assert classes <= covered, classes - covered
    # the configurations the issue names
    tpt = [c.design for c in CASES.values() if isinstance(c.design, bd.ThreePlusThree)]
    assert {(d.variant, d.titration_levels > 0) for d in tpt} == {
        (v, t) for v in ("deescalation", "escalation_only") for t in (False, True)
    }
    crm = [c.design for c in CASES.values() if isinstance(c.design, bd.CRM)]
    assert {d.model for d in crm} == {"empiric", "logistic"}
    assert any(d.tite_window is not None for d in crm)
    combo = [c.design for c in CASES.values() if isinstance(c.design, bd.CombinationBLRM)]
    assert {d.mono_data is not None for d in combo} == {True, False}
    boin = [c.design for c in CASES.values() if isinstance(c.design, bd.BOIN)]
    assert any(d.extrasafe and d.n_earlystop and d.stopping is not None for d in boin)


def test_report_lists_what_was_checked_and_why_the_rest_was_skipped():
    report = check_design(bd.CRM(bd.crm_skeleton(0.25, 0.05, 2, 4), 0.25, max_n=9))
    text = str(report)
    assert text.startswith("CRM: ")
    assert "skip  last_cohort: uses_last_cohort=True" in text
    assert "scope 'any'" in report.notes["selection"]
    with pytest.raises(ValueError, match="unknown contract"):
        check_design(bd.ThreePlusThree(3), only=["vectorized"])
    with pytest.raises(ValueError, match="expected a Design"):
        check_design("3+3")  # type: ignore[arg-type]


# -- a user's own design --------------------------------------------------------------------
class UpDown(bd.Design):
    """A user design: up one level after a cohort without DLT, down one after a DLT; the
    MTD is the most-treated level (ties: the higher)."""

    label = "up-down"
    uses_estimate = False
    own_reasons = (
        "{last_dlt} DLT in the last cohort of {last_n} at level {dose}: next level {next}",
    )

    def __init__(self, n_doses: int, cohort_size: int = 2, max_n: int | None = 12) -> None:
        super().__init__(n_doses, cohort_size=cohort_size, max_n=max_n)

    def get_params(self) -> dict:
        p = super().get_params()
        for k in ("start_level", "titration_levels", "titration_grade2", "no_skip",
                  "stopping", "doses_mg"):  # fmt: skip
            p.pop(k)
        return p

    def _rule(self, data: DoseData, estimate) -> Decision:
        T = data.n_trials
        step = np.where(data.last_dlt > 0, -1, 1)
        nxt = np.clip(data.current + step, 0, self.n_doses - 1)
        return Decision(nxt, np.full(T, self.cohort_size), np.zeros(T, bool),
                        np.full(T, self._code(0)))  # fmt: skip

    def select(self, data: DoseData, estimate=None) -> Selection:
        best = self.n_doses - 1 - np.argmax(data.n[:, ::-1], axis=1)
        dose = np.where(data.total_n > 0, best, NONE)
        return Selection(dose, np.zeros(data.n_trials, bool))


def test_a_user_design_is_checked_like_the_package_designs():
    report = check_design(UpDown(4))
    assert {"spec", "vectorised", "stop", "reasons", "selection", "fit", "exact",
            "uses_estimate"} <= set(report.checked)  # fmt: skip
    assert "uses_last_cohort=True" in report.skipped["last_cohort"]


# -- each contract catches a broken design --------------------------------------------------
class BatchWideStop(bd.BOIN):
    """Bug: stops every trial once *any* trial of the batch has 12 patients."""

    def _rule(self, data, estimate):
        d = super()._rule(data, estimate)
        stop = d.stop | (data.total_n.max() >= 12)
        return Decision(np.where(stop, NONE, d.next_dose), np.where(stop, 0, d.cohort_size),
                        stop, d.reason)  # fmt: skip


def test_vectorised_contract_catches_a_batch_dependent_decision():
    with broken("vectorised"):
        check_design(BatchWideStop(target=0.3, n_doses=4, max_n=24), only=["vectorised"])
    check_design(bd.BOIN(target=0.3, n_doses=4, max_n=24), only=["vectorised"])


class ForgetsParam(bd.BOIN):
    """Bug: get_params leaves out ``extrasafe`` (so replace() and specs lose it)."""

    def get_params(self):
        p = super().get_params()
        p.pop("extrasafe")
        return p


class PrivateParam(bd.ThreePlusThree):
    """Bug: a new constructor parameter stored under another name."""

    def __init__(self, n_doses: int, delay: int = 0, **kw) -> None:
        super().__init__(n_doses, **kw)
        self._delay = int(delay)


class IgnoresParamInSpec(bd.ThreePlusThree):
    """Bug: the spec leaves out a parameter although get_params has it."""

    def __init__(self, n_doses: int, titration_levels: int = 0, variant: str = "deescalation",
                 titration_grade2: bool = False, start_level: int = 1,
                 doses_mg: tuple[float, ...] | None = None, mtd_rule: Any = None,
                 label_color: int = 1) -> None:  # fmt: skip
        super().__init__(n_doses, titration_levels, variant, titration_grade2, start_level,
                         doses_mg, mtd_rule)  # fmt: skip
        self.label_color = label_color

    def spec(self):
        out = super().spec()
        out.pop("label_color")
        return out


def test_spec_contract_catches_a_parameter_lost_by_get_params_or_spec():
    with broken("spec") as err:
        check_design(ForgetsParam(target=0.3, n_doses=4, max_n=12, extrasafe=True), only=["spec"])
    assert "lacks constructor parameter(s) ['extrasafe']" in str(err.value)
    with broken("spec") as err:
        check_design(PrivateParam(4, delay=2), only=["spec"])
    assert "'delay'" in str(err.value)
    with broken("spec") as err:
        check_design(IgnoresParamInSpec(4), only=["spec"])
    assert "replace(label_color=2) builds a design, but its spec() is unchanged" in str(err.value)


class MutatesWhenUsed(bd.BOIN):
    """Bug: decide changes a parameter (the design is no longer what its spec said)."""

    def decide(self, data, estimate=None):
        self.elimination_cutoff = 0.9
        return super().decide(data, estimate)


def test_spec_contract_catches_a_design_that_changes_when_used():
    with broken("spec") as err:
        check_design(MutatesWhenUsed(target=0.3, n_doses=4, max_n=12), only=["spec", "vectorised"])
    assert "spec() changed while the design was used" in str(err.value)


class GoesOnWhenStopped(bd.ThreePlusThree):
    """Bug: a stopped trial still names a next dose."""

    def decide(self, data, estimate=None):
        d = super().decide(data, estimate)
        return Decision(np.where(d.stop, 0, d.next_dose), d.cohort_size, d.stop, d.reason)


class IgnoresHold(bd.ThreePlusThree):
    """Bug: a fit with pending / unknown patients recommends a next cohort anyway."""

    def _finish(self, fit, *evidence):
        done = super()._finish(fit, *evidence)
        return dataclasses.replace(done, hold=False, next_dose=fit.next_dose,
                                   cohort_size=fit.cohort_size)  # fmt: skip


def test_stop_contract_catches_a_next_dose_after_stopping_or_while_held():
    with broken("stop") as err:
        check_design(GoesOnWhenStopped(4), only=["stop"])
    assert "stops but next_dose=0" in str(err.value)
    with broken("stop") as err:
        check_design(IgnoresHold(4), only=["stop"])
    assert "hold=False" in str(err.value)


class UnknownField(bd.ThreePlusThree):
    own_reasons = (*bd.ThreePlusThree.own_reasons[:-1], "expand level {nxt} to 6")


class Unreachable(bd.ThreePlusThree):
    """Bug: a reason sentence only an unreachable code uses, naming a field explain lacks."""

    own_reasons = (*bd.ThreePlusThree.own_reasons, "never used: {dose_in_mg}")


def test_reasons_contract_catches_a_template_with_an_unknown_field():
    with broken("reasons") as err:
        check_design(UnknownField(4), only=["reasons"])
    assert "KeyError: 'nxt'" in str(err.value)
    with broken("reasons") as err:  # every code, also codes no state reaches
        check_design(Unreachable(4), only=["reasons"])
    assert "reason code 14" in str(err.value)


class SelectsAboveTried(bd.BOIN):
    """Bug: reports the level above the highest one tried."""

    def select(self, data, estimate=None):
        sel = super().select(data, estimate)
        up = np.minimum(data.highest_tried + 1, self.n_doses - 1)
        return Selection(np.where(sel.dose >= 0, up, NONE), sel.is_mad)


def test_selection_contract_catches_an_untreated_selection():
    with broken("selection") as err:
        check_design(SelectsAboveTried(target=0.3, n_doses=4, max_n=12), only=["selection"])
    assert "which no patient received" in str(err.value)
    # a design that says it may select any level is held to that, not to 'treated'
    loose = type("Loose", (SelectsAboveTried,), {"selection_scope": "any"})
    check_design(loose(target=0.3, n_doses=4, max_n=12), only=["selection"])


class ReadsLastCohort(bd.BOIN):
    """Bug: claims uses_last_cohort=False (BOIN's) but stops after a cohort with 2+ DLTs."""

    def _rule(self, data, estimate):
        d = super()._rule(data, estimate)
        stop = d.stop | (data.last_dlt >= 2)
        return Decision(np.where(stop, NONE, d.next_dose), np.where(stop, 0, d.cohort_size),
                        stop, d.reason)  # fmt: skip


def test_last_cohort_contract_catches_a_dishonest_flag():
    design = ReadsLastCohort(target=0.3, n_doses=4, max_n=12)
    assert design.uses_last_cohort is False
    with broken("last_cohort") as err:
        check_design(design, only=["last_cohort"])
    assert "uses_last_cohort=False, but on state" in str(err.value)
    # exact enumeration (which merges states that differ only in the last cohort) then
    # disagrees with simulation
    with broken("exact"):
        check_design(design, only=["exact"])
    honest = type("Honest", (ReadsLastCohort,), {"uses_last_cohort": True})
    check_design(honest(target=0.3, n_doses=4, max_n=12), only=["last_cohort", "exact"])


def test_self_limiting_contract_catches_a_design_that_need_not_end():
    never = type("NeverEnds", (bd.BOIN,), {"self_limiting": True})
    with broken("self_limiting") as err:
        check_design(never(target=0.3, n_doses=2, cohort_size=1), only=["self_limiting"])
    assert "still running after 20 cohorts (bound 20 = 10 x n_doses)" in str(err.value)


class NeedsEstimate(bd.ThreePlusThree):
    """Bug: claims uses_estimate=False but reads the estimate."""

    def _rule(self, data, estimate):
        d = super()._rule(data, estimate)
        rate = np.nan_to_num(estimate.prob_mean)
        return dataclasses.replace(d, reason=d.reason + 0 * rate.sum(axis=1).astype(int))


def test_uses_estimate_contract_catches_a_rule_that_reads_the_estimate():
    with broken("uses_estimate") as err:
        check_design(NeedsEstimate(4), only=["uses_estimate"])
    assert "AttributeError" in str(err.value)


class FitOneUp(bd.ThreePlusThree):
    """Bug: the fit reports a different next dose than decide."""

    def _finish(self, fit, *evidence):
        done = super()._finish(fit, *evidence)
        nxt = None if done.next_dose is None else min(done.next_dose + 1, self.n_doses)
        return dataclasses.replace(done, next_dose=nxt)


def test_fit_contract_catches_a_fit_that_disagrees_with_decide():
    with broken("fit"):
        check_design(FitOneUp(5), only=["fit"])


class ClaimsToNeedMono(bd.BOIN):
    """Bug: says it needs another arm's data but names none (and simulates happily)."""

    requires_other_arms = True


def test_other_arms_contract_catches_an_inconsistent_declaration():
    with broken("other_arms") as err:
        check_design(ClaimsToNeedMono(target=0.3, n_doses=4, max_n=12), only=["other_arms"])
    assert "borrows_from names no arm" in str(err.value)
    report = check_design(CASES["combo BLRM needs mono arm"].design, only=["other_arms"])
    assert "refuse" in report.notes["other_arms"]


def test_every_broken_contract_is_named_in_one_error():
    with pytest.raises(AssertionError) as err:
        check_design(ReadsLastCohort(target=0.3, n_doses=4, max_n=12), only=["last_cohort", "exact", "spec"])
    text = str(err.value)
    assert "'last_cohort'" in text and "'exact'" in text and "'spec'" not in text


# -- grid and MCMC engines agree (small real runs) ------------------------------------------
@pytest.mark.mcmc
def test_blrm_grid_pymc_and_nutpie_agree():
    case = CASES["BLRM"]
    report = check_design(case.design, mcmc=True, only=["mcmc"])
    assert report.checked == ("mcmc",)
    assert "pymc: max |diff|" in report.notes["mcmc"] and "nutpie: max |diff|" in report.notes["mcmc"]


@pytest.mark.mcmc
def test_crm_grid_and_pymc_agree_and_a_biased_engine_is_caught():
    case = CASES["CRM empiric"]
    report = check_design(case.design, mcmc=["pymc"], only=["mcmc"])
    assert report.checked == ("mcmc",)

    class Biased:
        name, vectorised = "biased_pymc", False

        def estimate(self, model, evidence, *, resolution=None, **options):
            est = bd.engines["pymc"].estimate(model, evidence, resolution=resolution, **options)
            return dataclasses.replace(est, prob_mean=np.clip(est.prob_mean + 0.05, 0, 1))

    bd.engines.register(Biased())
    try:
        with broken("mcmc") as err:
            check_design(case.design, mcmc=["biased_pymc"], only=["mcmc"])
    finally:
        bd.engines.unregister("biased_pymc")
    assert "tolerance max(0.01, 3 MC SE)" in str(err.value)
    # rule-based designs read no posterior: the contract does not apply
    rb = check_design(bd.ThreePlusThree(3), mcmc=["pymc"], only=["mcmc"])
    assert "uses_estimate=False" in rb.skipped["mcmc"]
