"""Rule slots (issue 11 item 2): order, reason codes, relative increments by hand,
coherence, and a user's own slot checked by the contract suite."""

from __future__ import annotations

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.designs.base import BASE_REASONS
from bayes_dose.designs.slots import (
    SLOT_KINDS,
    Coherence,
    EscalationLimit,
    NoSkip,
    RelativeIncrements,
    register_slot,
    slot_types,
)
from bayes_dose.designs.state import NONE, Decision, DoseData, Selection
from bayes_dose.testing import check_design

MG = (1, 3, 10, 30, 100, 300, 600, 900)
D = len(MG)


def at_each_level(basis_high: int | None = None) -> DoseData:
    """One trial per level: 3 patients at every level up to it, current = that level
    (or, with ``basis_high``, current = that level and the highest tried = basis_high)."""
    n = np.zeros((D, D), dtype=np.int64)
    for i in range(D):
        n[i, : i + 1] = 3
        if basis_high is not None:
            n[i, : max(i, basis_high) + 1] = 3
    return DoseData.from_counts(n, np.zeros_like(n), current=np.arange(D))


class Greedy(bd.Design):
    """Test design: always proposes the top level (so a limit's cap shows)."""

    base_options = bd.designs.options.BaseOptions()
    label = "greedy"
    uses_estimate = False
    uses_last_cohort = False
    own_reasons = ("propose the top level {next}",)

    def __init__(self, n_doses: int) -> None:
        pass

    def _rule(self, data, estimate):
        T = data.n_trials
        return Decision(np.full(T, self.n_doses - 1), np.full(T, self.cohort_size),
                        np.zeros(T, bool), np.full(T, self._code(0)))  # fmt: skip

    def select(self, data, estimate=None):
        return Selection(np.where(data.total_n > 0, data.highest_tried, NONE),
                         np.zeros(data.n_trials, bool))  # fmt: skip


# -- the reason codes existing designs store stay the same ------------------------------------
def test_base_reason_codes_and_sentences_are_unchanged():
    assert BASE_REASONS == (
        "no patients yet: start at level {next}",
        "accelerated titration: no DLT in 1 patient at level {dose}; next level {next} "
        "(cohort of {size})",
        "maximum sample size reached (N = {total} >= max_n = {max_n})",
        "stopping rule met: {rule}",
        "no-skip: capped at level {next}, one above the highest level tried",
    )
    boin = bd.BOIN(target=0.3, n_doses=5, max_n=30)
    assert boin.reasons == BASE_REASONS + boin.own_reasons  # no slot codes unless asked for
    assert [type(s).__name__ for s in boin.slots()] == ["Start", "NoSkip", "MaxN"]
    tpt = bd.ThreePlusThree(6, titration_levels=3)
    assert [s.kind for s in tpt.slots()] == ["titration", "start", "escalation_limit"]
    assert SLOT_KINDS == ("titration", "start", "escalation_limit", "coherence", "max_n", "stopping")


def test_slots_run_in_the_documented_order():
    d = bd.BOIN(target=0.3, n_doses=8, max_n=30, titration_levels=2, doses_mg=MG,
                escalation_limit=RelativeIncrements(1.0), coherence=Coherence(0.3),
                stopping=bd.rules.PatientsAtDose(9))  # fmt: skip
    kinds = [s.kind for s in d.slots()]
    assert kinds == ["titration", "start", "escalation_limit", "escalation_limit", "coherence",
                     "max_n", "stopping"]  # fmt: skip
    assert list(dict.fromkeys(kinds)) == list(SLOT_KINDS)
    # slot codes follow the design's own reasons, in slot order
    n0 = len(BASE_REASONS) + len(d.own_reasons)
    pipe = dict((type(s).__name__, c) for s, c in d._pipeline())
    assert pipe == {"Titration": (1,), "Start": (0,), "NoSkip": (4,), "RelativeIncrements": (n0,),
                    "Coherence": (n0 + 1,), "MaxN": (2,), "Stopping": (3,)}  # fmt: skip
    assert len(d.reasons) == n0 + 2


# -- relative increments, by hand -------------------------------------------------------------
@pytest.mark.parametrize(
    ("limit", "caps_mg"),
    [
        # +100 %: 1 -> 2 mg (stay at 1), 3 -> 6 (stay), 10 -> 20, 30 -> 60, 100 -> 200 (stay),
        # 300 -> 600 (one level up), 600 -> 1200 (900), 900 (top)
        (RelativeIncrements(1.0), (1, 3, 10, 30, 100, 600, 900, 900)),
        # +200 %: 1 -> 3, 3 -> 9 (stay), 10 -> 30, 30 -> 90 (stay), 100 -> 300, 300 -> 900
        (RelativeIncrements(2.0), (3, 3, 30, 30, 300, 900, 900, 900)),
        # crmPack-style intervals: +200 % below 100 mg, +50 % from 100 mg:
        # 100 -> 150 (stay), 300 -> 450 (stay), 600 -> 900
        (RelativeIncrements((2.0, 0.5), intervals=(0, 100)), (3, 3, 30, 30, 100, 300, 900, 900)),
    ],
)
def test_relative_increments_caps_by_hand(limit, caps_mg):
    design = Greedy(D, doses_mg=MG, no_skip=False)
    data = at_each_level()
    cap = limit.cap(data, design)
    assert [MG[i] for i in cap] == list(caps_mg)
    dec = Greedy(D, doses_mg=MG, no_skip=False, escalation_limit=limit).decide(data)
    assert [MG[i] for i in dec.next_dose] == list(caps_mg)
    code = len(BASE_REASONS) + 1
    capped = np.array(caps_mg) < MG[-1]
    np.testing.assert_array_equal(dec.reason == code, capped)


def test_relative_increments_basis_max_and_last():
    # current level 2 (3 mg) after a de-escalation from level 5 (100 mg)
    n = np.array([[3, 3, 3, 3, 3, 0, 0, 0]])
    data = DoseData.from_counts(n, np.zeros_like(n), current=[1])
    design = Greedy(D, doses_mg=MG, no_skip=False)
    assert MG[int(RelativeIncrements(1.0).cap(data, design)[0])] == 3  # 2 x 3 mg = 6 mg
    assert MG[int(RelativeIncrements(1.0, basis="max").cap(data, design)[0])] == 100  # 200 mg
    assert float(RelativeIncrements(1.0, basis="max").max_mg(data, design)[0]) == 200.0


def test_relative_increments_with_no_skip_and_the_sentence():
    d = Greedy(D, doses_mg=MG, escalation_limit=RelativeIncrements(1.0))
    data = at_each_level()
    dec = d.decide(data)
    # no-skip caps at one level above the highest tried; then +100 % in mg
    want = [min(i + 1, cap) for i, cap in enumerate([0, 1, 2, 3, 4, 6, 7, 7])]
    assert dec.next_dose.tolist() == want
    assert d.explain(data, dec, 4) == (  # no-skip allows 300 mg, +100 % only 200 mg
        "relative increments: at most 200 mg (+100% over the current dose 100 mg): capped at "
        "level 5"
    )
    assert d.explain(data, dec, 5) == (  # both allow 600 mg: no-skip binds first
        "no-skip: capped at level 7, one above the highest level tried"
    )
    assert d.explain(data, dec, 0).startswith("relative increments: at most 2 mg (+100%")
    assert d.explain(data, dec, 7) == "propose the top level 8"  # no limit binds at the top


def test_relative_increments_before_the_first_patient_and_exact_doubling():
    d = Greedy(4, doses_mg=(10, 20, 40, 80), no_skip=False,
               escalation_limit=RelativeIncrements(1.0))  # fmt: skip
    empty = DoseData.empty(1, 4)
    assert d.decide(empty).next_dose.tolist() == [0]  # the start slot decides
    one = DoseData.from_counts([[3, 0, 0, 0]], [[0, 0, 0, 0]], current=[0])
    assert d.decide(one).next_dose.tolist() == [1]  # 20 mg = exactly +100 %: allowed


def test_relative_increments_needs_doses_in_mg_and_valid_parameters():
    with pytest.raises(ValueError, match="RelativeIncrements needs doses_mg"):
        bd.BOIN(target=0.3, n_doses=4, max_n=12, escalation_limit=RelativeIncrements(1.0))
    with pytest.raises(ValueError, match="increasing positive doses_mg"):
        Greedy(3, doses_mg=(1, 3, 2), escalation_limit=RelativeIncrements(1.0))
    with pytest.raises(ValueError, match=r"2 increase\(s\) for 1 interval"):
        RelativeIncrements((1.0, 0.5))
    with pytest.raises(ValueError, match="intervals must increase from 0"):
        RelativeIncrements((1.0, 0.5), intervals=(10, 5))
    with pytest.raises(ValueError, match="basis must be one of"):
        RelativeIncrements(1.0, basis="first")
    with pytest.raises(ValueError, match="escalation_limit must be a escalation_limit slot"):
        bd.BOIN(target=0.3, n_doses=4, max_n=12, escalation_limit=Coherence(0.3))


def test_blrm_takes_relative_increments_from_its_doses():
    blrm = bd.BLRM(MG, reference_dose=300, max_n=12, escalation_limit="RelativeIncrements(1.0)")
    assert blrm.escalation_limit == RelativeIncrements(1.0)
    assert blrm.doses_mg == tuple(float(x) for x in MG)
    data = DoseData.from_counts([[3, 3, 3, 3, 3, 3, 0, 0]], [[0] * 8], current=[5])
    # no-skip would allow level 7 (600 mg = +100 % of 300 mg): the same
    assert int(blrm.decide(data).next_dose[0]) <= 6


# -- coherence --------------------------------------------------------------------------------
def test_coherence_slot_keeps_the_dose_after_a_toxic_cohort():
    d = Greedy(4, no_skip=False, coherence=Coherence(0.3))
    data = DoseData.from_counts([[3, 3, 0, 0], [3, 3, 0, 0]], [[0, 1, 0, 0], [0, 0, 0, 0]],
                                current=[1, 1], last_n=[3, 3], last_dlt=[1, 0])  # fmt: skip
    dec = d.decide(data)
    assert dec.next_dose.tolist() == [1, 3]
    code = len(BASE_REASONS) + 1
    assert dec.reason.tolist() == [code, len(BASE_REASONS)]
    assert d.explain(data, dec, 0) == (
        "last cohort: 1 DLT in 3 at level 2 (rate >= 0.3): no escalation (coherence); level 2"
    )
    assert d.uses_last_cohort and not Greedy(4).uses_last_cohort
    assert Greedy(4, coherence=Coherence(0.34)).decide(data).next_dose.tolist() == [2, 2]


def test_coherence_slot_gives_the_crm_doses_of_its_own_coherent_flag():
    skel = bd.crm_skeleton(0.25, 0.05, mtd_guess=3, n_doses=5)
    own = bd.CRM(skel, target=0.25, max_n=30)
    slot = bd.CRM(skel, target=0.25, max_n=30, coherent=False, coherence=Coherence(0.25))
    rng = np.random.default_rng(11)
    n = rng.integers(0, 4, size=(400, 5)) * 3
    n[:, 0] = np.maximum(n[:, 0], 3)
    y = rng.binomial(n, 0.25)
    cur = np.array([rng.choice(np.flatnonzero(r)) for r in n])
    last_dlt = np.minimum(rng.integers(0, 3, 400), y[np.arange(400), cur])
    data = DoseData.from_counts(n, y, cur, np.full(400, 3), last_dlt)
    a, b = own.decide(data), slot.decide(data)
    np.testing.assert_array_equal(a.next_dose, b.next_dose)
    assert (a.reason != b.reason).any()  # the CRM's own code vs the slot's code


# -- a user's own slot --------------------------------------------------------------------------
@register_slot
class MaxLevelsUp(EscalationLimit):
    """A user's limit: at most ``levels`` levels above the current one."""

    def __init__(self, levels: int = 1) -> None:
        self.levels = int(levels)
        if self.levels < 0:
            raise ValueError(f"MaxLevelsUp: levels must be >= 0, got {levels}")

    @property
    def reasons(self) -> tuple[str, ...]:
        return (f"at most {self.levels} level(s) above level {{dose}}: level {{next}}",)

    def cap(self, data, design):
        return np.where(data.current >= 0, data.current + self.levels, design.n_doses - 1)


def test_a_user_slot_is_one_class_plus_registration():
    assert slot_types("escalation_limit")["MaxLevelsUp"] is MaxLevelsUp
    boin = bd.BOIN(target=0.3, n_doses=5, max_n=18, escalation_limit="MaxLevelsUp(0)")
    assert boin.escalation_limit == MaxLevelsUp(0)
    data = DoseData.from_counts([[3, 0, 0, 0, 0]], [[0, 0, 0, 0, 0]], current=[0])
    dec = boin.decide(data)
    assert dec.next_dose.tolist() == [0]  # 0/3 would escalate; the slot keeps level 1
    assert boin.explain(data, dec) == "at most 0 level(s) above level 1: level 1"
    report = check_design(boin)
    assert {"spec", "vectorised", "reasons", "exact"} <= set(report.checked)
    # in a TOML spec
    arm = bd.protocols.bat6021().arm("mono")
    built = bd.io.design_from_spec({"type": "BOIN", "target": 0.25, "max_n": 18,
                                    "escalation_limit": "MaxLevelsUp(1)"}, arm)  # fmt: skip
    assert built.escalation_limit == MaxLevelsUp(1)


def test_the_slots_case_of_the_suite_reaches_the_slot_codes():
    case = bd.testing.registered_designs()["BOIN slots"]
    d = case.design
    res = bd.simulate({"b": d}, [0.05, 0.3, 0.45, 0.6, 0.7], n_trials=300, seed=3, progress=False)
    codes = set(np.unique(res["stop_reason"].values).tolist())
    n0 = len(BASE_REASONS) + len(d.own_reasons)
    d_paths = bd.dose_paths(d.replace(max_n=12), cohort_sizes=[3, 3, 3, 3])
    reached = set(np.unique(d_paths.reason_code).tolist())
    assert {n0, n0 + 1} <= reached, reached
    assert codes  # the stored codes index the design's reasons
    assert max(codes) < len(d.reasons)


def test_noskip_is_the_default_escalation_limit_of_every_design():
    for case in bd.testing.registered_designs().values():
        d = case.design
        assert (NoSkip() in d.slots()) == d.no_skip


def test_protocol_text_states_the_slots_and_the_stopping_rule():
    from bayes_dose.protocol_text import design_rules

    d = bd.BOIN(target=0.3, n_doses=8, max_n=30, doses_mg=MG,
                escalation_limit=RelativeIncrements((2.0, 0.5), intervals=(0, 100)),
                coherence=Coherence(0.3), stopping="PatientsAtDose(9)")  # fmt: skip
    lines = design_rules(d)
    assert lines[-3:] == [
        "Escalation limit (relative increments): the next dose is at most +200% from 0 mg, "
        "+50% from 100 mg of the current dose (in mg).",
        "Coherence: no escalation right after a cohort whose DLT rate is at or above 0.3.",
        "The trial also stops when >= 9 patients at the next dose (stopping rule "
        "PatientsAtDose(9)).",
    ]
    assert design_rules(bd.BOIN(target=0.3, n_doses=8, max_n=30)) == lines[:-3]
    one = design_rules(Greedy(8, doses_mg=MG, escalation_limit=RelativeIncrements(1.0)))
    assert one == ["Greedy: parameters " + repr(Greedy(8, doses_mg=MG,
                   escalation_limit=RelativeIncrements(1.0))) + "."]  # fmt: skip
    crm = bd.CRM((0.1, 0.2, 0.3), target=0.2, max_n=12, doses_mg=(1, 2, 4),
                 escalation_limit=RelativeIncrements(1.0, basis="max"))  # fmt: skip
    assert design_rules(crm)[-1] == (
        "Escalation limit (relative increments): the next dose is at most +100% over the "
        "highest dose given so far (in mg)."
    )
