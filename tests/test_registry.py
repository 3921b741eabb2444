"""The design registry and base options declared once (issue 11 item 2): every design
round-trips through get_params / replace / spec / TOML tables; a user design is one class
plus its registration; old-style subclasses that forward base options keep working."""

from __future__ import annotations

import inspect
import json
import textwrap

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.designs import registry
from bayes_dose.designs.options import OPTIONS, BaseOptions
from bayes_dose.designs.state import NONE, Decision, Selection
from bayes_dose.testing import check_design, registered_designs

CASES = registered_designs()
MONO = bd.BLRM(bd.protocols.bat6021().arm("mono").doses_mg, reference_dose=300)


@pytest.fixture
def step_up():
    """StepUp registered for one test (the registry is process-wide)."""
    bd.register_design(StepUp, aliases=("step-up",))
    yield StepUp
    registry.unregister_design("StepUp")


def test_the_package_designs_are_registered_by_name_and_alias():
    assert registry.design_names() == [
        "BLRM", "BOIN", "BOIN12", "CRM", "CombinationBLRM", "ThreePlusThree"
    ]
    assert registry.design_class("3+3") is bd.ThreePlusThree
    assert registry.design_class("combo_blrm") is bd.CombinationBLRM
    with pytest.raises(KeyError):
        registry.design_class("BOINN")
    with pytest.raises(ValueError, match=r"unknown design type 'BOINN' \(did you mean 'BOIN'\?\); "
                                         r"known: BLRM, BOIN, BOIN12, CRM"):
        bd.io.design_from_spec({"type": "BOINN", "target": 0.3, "n_doses": 4})
    with pytest.raises(ValueError, match="expected a Design subclass"):
        bd.register_design(int)  # type: ignore[arg-type]


def test_every_registered_design_has_a_contract_case(step_up):
    covered = {type(c.design) for c in registered_designs().values()}
    assert set(registry.designs().values()) <= covered


@pytest.mark.parametrize("name", list(CASES))
def test_params_replace_spec_and_table_round_trip_for_every_registered_design(name):
    d = CASES[name].design
    params = d.get_params()
    ctor = [p for p in inspect.signature(type(d).__init__).parameters if p != "self"]
    assert list(params) == ctor  # exactly the constructor's parameters, in its order
    assert type(d)(**params) == d and d.replace() == d and hash(d.replace()) == hash(d)
    assert json.loads(json.dumps(d.spec())) == d.spec()
    if d.max_n is not None:
        assert d.replace(max_n=d.max_n + 3).max_n == d.max_n + 3
    if "mono_data" in params and params["mono_data"] is not None:
        return  # data are not a spec value: no TOML table
    table = bd.io.design_table(d, refs={"BLRM": MONO})
    back = bd.io.design_from_spec(table, others={"mono": {"BLRM": MONO}})
    assert back == d, (table, back.spec(), d.spec())


def test_base_options_are_declared_once_and_fixed_ones_in_one_place():
    names = [o.name for o in OPTIONS]
    assert names[:2] == ["n_doses", "cohort_size"] and "escalation_limit" in names
    assert bd.ThreePlusThree.base_options.fixed == {
        "cohort_size": 3, "max_n": None, "no_skip": True, "stopping": None,
    }  # fmt: skip
    assert bd.BOIN.base_options.fixed == {"no_skip": True, "titration_grade2": False}
    assert bd.CRM.base_options.derived == ("n_doses",)
    tpt = bd.ThreePlusThree(5)
    assert tpt.cohort_size == 3 and tpt.no_skip and tpt.max_n is None
    with pytest.raises(TypeError, match="cohort_size"):
        bd.ThreePlusThree(5, cohort_size=4)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="no_skip"):
        bd.BOIN(target=0.3, n_doses=4, no_skip=False)  # type: ignore[call-arg]
    # no design class keeps a list of names to pop
    for cls in registry.designs().values():
        assert "get_params" not in vars(cls), cls
    # the validators of the table run for every design
    with pytest.raises(ValueError, match=r"BOIN: start_level must be in 1\.\.4, got 5"):
        bd.BOIN(target=0.3, n_doses=4, start_level=5)
    with pytest.raises(ValueError, match="CRM: max_n must be >= 1, got 0"):
        bd.CRM((0.1, 0.2, 0.3), target=0.2, max_n=0)


def test_constructors_keep_their_positions():
    # ThreePlusThree's old positional order (n_doses, titration_levels, variant, ...)
    d = bd.ThreePlusThree(6, 3, "escalation_only", True, 2, (1, 2, 3, 4, 5, 6))
    assert (d.titration_levels, d.variant, d.titration_grade2, d.start_level) == (
        3, "escalation_only", True, 2,
    )  # fmt: skip
    assert d.doses_mg == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)
    b = bd.BOIN(0.3, 5, 2, 20)
    assert (b.target, b.n_doses, b.cohort_size, b.max_n) == (0.3, 5, 2, 20)


# -- a user's design: one class plus its registration -------------------------------------------
class StepUp(bd.Design):
    """A user design: one level up after a cohort without DLT, else stay; stop at 2 DLTs
    in a cohort.  The MTD is the highest level with at most 1 DLT among its patients."""

    base_options = BaseOptions(fixed={"titration_grade2": False})
    label = "step-up"
    uses_estimate = False
    own_reasons = (
        "no DLT in the last cohort at level {dose}: up to level {next}",
        "{last_dlt} DLT(s) in the last cohort at level {dose}: stay at level {next}",
        "{last_dlt} DLTs in the last cohort of {last_n} at level {dose}: stop",
    )

    def __init__(self, n_doses: int, stop_dlts: int = 2) -> None:
        self.stop_dlts = int(stop_dlts)
        if self.stop_dlts < 1:
            raise ValueError(f"StepUp: stop_dlts must be >= 1, got {stop_dlts}")

    @classmethod
    def example(cls) -> StepUp:
        return cls(5, max_n=15, cohort_size=3)

    def _rule(self, data, estimate):
        cur = np.clip(data.current, 0, None)
        clean = data.last_dlt == 0
        stop = data.last_dlt >= self.stop_dlts
        nxt = np.where(clean, np.minimum(cur + 1, self.n_doses - 1), cur)
        code = np.where(stop, 2, np.where(clean, 0, 1))
        return Decision(np.where(stop, NONE, nxt), np.where(stop, 0, self.cohort_size), stop,
                        self._code(0) + code)  # fmt: skip

    def select(self, data, estimate=None):
        ok = (data.n > 0) & (data.dlt <= 1)
        D = self.n_doses
        dose = np.where(ok.any(axis=1), D - 1 - np.argmax(ok[:, ::-1], axis=1), NONE)
        return Selection(dose.astype(np.int64), np.zeros(data.n_trials, bool))


def test_a_registered_user_design_joins_the_suite_and_toml(tmp_path, step_up):
    assert registry.design_class("StepUp") is StepUp is registry.design_class("step-up")
    assert "StepUp (registered)" in registered_designs()
    d = StepUp.example()
    assert d.get_params() == {
        "n_doses": 5, "stop_dlts": 2, "cohort_size": 3, "max_n": 15, "start_level": 1,
        "titration_levels": 0, "no_skip": True, "stopping": None, "doses_mg": None,
        "escalation_limit": None, "coherence": None, "backfill": None,
    }  # fmt: skip
    report = check_design(d)
    assert {"spec", "vectorised", "stop", "reasons", "selection", "fit", "exact"} <= set(
        report.checked
    )
    p = tmp_path / "user.toml"
    p.write_text(textwrap.dedent('''
        protocol = "bat6021"
        [designs.up]
        type = "StepUp"
        arms = ["mono"]
        max_n = 18
        stop_dlts = 3
        stopping = "PatientsAtDose(9)"
        escalation_limit = "RelativeIncrements(1.0)"
    '''), encoding="utf-8")
    up = bd.io.load_designs(p)["mono"]["up"]
    assert isinstance(up, StepUp) and up.stop_dlts == 3 and up.max_n == 18
    assert up.doses_mg == bd.protocols.bat6021().arm("mono").doses_mg  # filled from the arm
    assert up.stopping == bd.rules.PatientsAtDose(9)
    check_design(up, only=["spec", "vectorised", "reasons"])
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['stop_dlt'\] for StepUp "
                                         r"\(did you mean 'stop_dlts'\?\)"):
        bd.io.design_from_spec({"type": "StepUp", "n_doses": 4, "stop_dlt": 3})


def test_unregistering_removes_the_name_and_aliases(step_up):
    registry.unregister_design("StepUp")
    assert "StepUp" not in registry.design_names() and "step-up" not in registry.ALIASES
    with pytest.raises(ValueError, match="unknown design type 'StepUp'"):
        bd.io.design_from_spec({"type": "StepUp", "n_doses": 4})
    bd.register_design(StepUp)  # the fixture unregisters it again


def test_declaring_options_refuses_ambiguous_classes():
    with pytest.raises(TypeError, match="no \\*args / \\*\\*kwargs"):
        class Loose(bd.Design):  # defining it is the test
            base_options = BaseOptions()

            def __init__(self, n_doses: int, **kw) -> None: ...
    with pytest.raises(TypeError, match=r"\['cohort_size'\] are fixed or derived"):
        class Both(bd.Design):
            base_options = BaseOptions(fixed={"cohort_size": 3})

            def __init__(self, n_doses: int, cohort_size: int = 3) -> None: ...
    with pytest.raises(TypeError, match="base_options needs an __init__"):
        class NoInit(bd.BOIN):
            base_options = BaseOptions()
    with pytest.raises(ValueError, match=r"unknown base option\(s\) \['cohort'\]"):
        BaseOptions(fixed={"cohort": 3})


# -- old-style subclasses (INTERFACES.md A) keep working ----------------------------------------
class OldStyleBOIN(bd.BOIN):
    """A subclass written before the refactor: re-lists and forwards base options."""

    def __init__(self, target: float, n_doses: int, cohort_size: int = 3,
                 max_n: int | None = None, titration_levels: int = 0, start_level: int = 1,
                 stopping: bd.rules.StoppingRule | None = None,
                 doses_mg: tuple[float, ...] | None = None, tag: int = 1) -> None:  # fmt: skip
        super().__init__(target, n_doses, cohort_size=cohort_size, max_n=max_n,
                         titration_levels=titration_levels, start_level=start_level,
                         stopping=stopping, doses_mg=doses_mg)  # fmt: skip
        self.tag = int(tag)


class OldStyleDesign(bd.Design):
    """An old-style design straight on Design, forwarding everything."""

    uses_estimate = False
    own_reasons = ("stay at level {dose}",)

    def __init__(self, n_doses: int, cohort_size: int = 3, max_n: int | None = 12,
                 no_skip: bool = True, width: float = 1.0) -> None:  # fmt: skip
        super().__init__(n_doses, cohort_size=cohort_size, max_n=max_n, no_skip=no_skip)
        self.width = float(width)

    def get_params(self) -> dict:  # an old pop list still works
        p = super().get_params()
        for k in ("start_level", "titration_levels", "titration_grade2", "stopping",
                  "doses_mg"):  # fmt: skip
            p.pop(k)
        return p

    def _rule(self, data, estimate):
        T = data.n_trials
        return Decision(np.clip(data.current, 0, None), np.full(T, self.cohort_size),
                        np.zeros(T, bool), np.full(T, self._code(0)))  # fmt: skip

    def select(self, data, estimate=None):
        return Selection(np.where(data.total_n > 0, data.highest_tried, NONE),
                         np.zeros(data.n_trials, bool))  # fmt: skip


def test_old_style_subclasses_keep_working():
    d = OldStyleBOIN(0.3, 5, max_n=24, titration_levels=2, tag=4)
    assert (d.max_n, d.titration_levels, d.no_skip, d.tag) == (24, 2, True, 4)
    assert set(d.get_params()) == set(inspect.signature(OldStyleBOIN.__init__).parameters) - {"self"}
    assert d.replace(tag=5).tag == 5 and d.replace() == d
    plain = bd.BOIN(target=0.3, n_doses=5, max_n=24, titration_levels=2)
    data = bd.DoseData.from_counts([[1, 1, 3, 0, 0]], [[0, 0, 1, 0, 0]], current=[2])
    for f in ("next_dose", "cohort_size", "stop", "reason"):
        np.testing.assert_array_equal(getattr(d.decide(data), f), getattr(plain.decide(data), f))
    check_design(d, only=["spec", "vectorised", "reasons"])
    o = OldStyleDesign(4, width=2.0)
    assert o.get_params() == {"n_doses": 4, "cohort_size": 3, "max_n": 12, "no_skip": True,
                              "width": 2.0}  # fmt: skip
    check_design(o, only=["spec", "vectorised", "reasons", "stop"])
