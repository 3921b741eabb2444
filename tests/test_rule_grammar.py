"""The stopping-rule grammar (issue 11 item 2): precedence, round trips, errors, TOML."""

from __future__ import annotations

import re
import textwrap

import numpy as np
import pytest

import bayes_dose as bd
from bayes_dose.designs.rule_grammar import parse_rule, parse_slot, register_rule, rule_types
from bayes_dose.designs.rules import AllOf, AnyOf
from bayes_dose.designs.slots import Coherence, RelativeIncrements

R = bd.rules
KNOWN = "MaxPatients, MinPatients, PatientsAtDose, ProbAbove, StayWithPatients"


def test_precedence_and_parentheses():
    a, b, c = R.MaxPatients(30), R.PatientsAtDose(9), R.MinPatients(18)
    assert parse_rule("MaxPatients(30) | PatientsAtDose(9) & MinPatients(18)") == a | (b & c)
    assert parse_rule("MaxPatients(30) & PatientsAtDose(9) | MinPatients(18)") == (a & b) | c
    assert parse_rule("(MaxPatients(30) | PatientsAtDose(9)) & MinPatients(18)") == (a | b) & c
    assert parse_rule(" ( ( PatientsAtDose( 9 ) ) ) ") == b
    rule = parse_rule("PatientsAtDose(9) | ProbAbove(0.25, 0.95)")
    assert isinstance(rule, AnyOf) and rule.rules == (b, R.ProbAbove(0.25, 0.95))
    assert isinstance(parse_rule("MinPatients(30) & PatientsAtDose(6)"), AllOf)


def test_keyword_arguments_and_values():
    assert parse_rule("PatientsAtDose(n=9)") == R.PatientsAtDose(9)
    assert parse_rule("ProbAbove(0.25, prob=0.9, level=2, a=0.5, b=0.5)") == R.ProbAbove(
        0.25, 0.9, level=2, a=0.5, b=0.5
    )
    assert parse_rule("ProbAbove(2.5e-1, 9.5E-1)") == R.ProbAbove(0.25, 0.95)
    assert parse_slot("RelativeIncrements([2, 0.5], intervals=(0, 100), basis=\"max\")",
                      "escalation_limit") == RelativeIncrements((2.0, 0.5), (0, 100), "max")  # fmt: skip


ROUND_TRIP = [
    R.MaxPatients(30),
    R.MinPatients(12),
    R.PatientsAtDose(6),
    R.StayWithPatients(9),
    R.ProbAbove(0.25, 0.95),
    R.ProbAbove(0.3, 0.9, level=2, b=2.0),
    R.MaxPatients(30) | (R.PatientsAtDose(9) & R.MinPatients(18)),
    (R.MaxPatients(30) | R.PatientsAtDose(9)) & R.MinPatients(18),
    (R.PatientsAtDose(6) & R.MinPatients(12)) | (R.StayWithPatients(9) & R.ProbAbove(0.3, 0.8))
    | R.MaxPatients(40),
]


@pytest.mark.parametrize("rule", ROUND_TRIP, ids=repr)
def test_every_rule_reads_back_from_its_text(rule):
    text = repr(rule)
    back = parse_rule(text)
    assert back == rule and repr(back) == text
    # the sentence (used in reasons) is unchanged by the round trip
    assert str(back) == str(rule)


def test_rule_texts_and_sentences():
    rule = R.MaxPatients(30) | (R.PatientsAtDose(9) & R.MinPatients(18))
    assert repr(rule) == "MaxPatients(30) | (PatientsAtDose(9) & MinPatients(18))"
    assert str(rule) == "(N >= 30) or ((>= 9 patients at the next dose) and (N >= 18))"
    assert repr(R.ProbAbove(0.25, 0.95)) == "ProbAbove(0.25, 0.95)"
    assert repr(R.ProbAbove(0.25, 0.95, b=2.0)) == "ProbAbove(0.25, 0.95, b=2.0)"


def test_slot_texts_read_back():
    for slot in (RelativeIncrements(1.0), RelativeIncrements(2.0, basis="max"),
                 RelativeIncrements((2.0, 0.5), intervals=(0, 100)), Coherence(0.25)):  # fmt: skip
        assert parse_slot(repr(slot), slot.kind) == slot
    assert repr(RelativeIncrements(1.0)) == "RelativeIncrements(1.0)"


@pytest.mark.parametrize(
    ("text", "position", "what"),
    [
        ("PatientsAtDose(9) |", 19, "expected a rule name, got end of text"),
        ("PatientsAtDose(9) | Foo(3)", 20, "unknown name 'Foo'"),
        ("PatientsAtDose(9) & & MinPatients(1)", 20, "expected a rule name, got '&'"),
        ("(PatientsAtDose(9)", 18, "expected ')', got end of text"),
        ("PatientsAtDose(9))", 17, "unexpected token ')' after a complete stopping rule"),
        ("PatientsAtDose 9", 15, "expected '(', got '9'"),
        ("PatientsAtDose(9; 3)", 16, "unexpected character ';'"),
        ("PatientsAtDose(9, 3)", 0, "too many positional arguments"),
        ("PatientsAtDose(m=9)", 0, "unexpected keyword argument 'm'"),
        ("PatientsAtDose(n=9, 3)", 20, "a positional argument after a keyword one"),
        ("ProbAbove(1.5, 0.9)", 0, "ProbAbove: threshold must be a number in (0, 1), got 1.5"),
        ("__import__('os')", 0, "unknown name '__import__'"),
        ("", 0, "expected a rule name, got end of text"),
        ("PatientsAtDose(inf)", 15, "expected a value"),
    ],
)
def test_bad_text_names_the_position_the_token_and_the_known_rules(text, position, what):
    with pytest.raises(ValueError) as err:
        parse_rule(text)
    msg = str(err.value)
    assert msg.startswith(f"stopping rule {text!r}: at position {position}: "), msg
    assert what in msg, msg
    assert msg.endswith(f"known rules: {KNOWN}"), msg


def test_slot_text_errors_name_the_known_slots():
    with pytest.raises(ValueError, match=r"at position 0: unknown name 'Relative'.*known "
                                         r"escalation_limit slots: .*RelativeIncrements"):
        parse_slot("Relative(1.0)", "escalation_limit")
    with pytest.raises(ValueError, match="max_increase must be >= 0"):
        parse_slot("RelativeIncrements(-1)", "escalation_limit")
    with pytest.raises(ValueError, match="unknown name 'Coherence'"):  # a slot of another kind
        parse_slot("Coherence(0.3)", "escalation_limit")


def test_prob_above_numbers():
    # Beta(1 + y, 1 + n - y) with integer parameters: P(p > x) = P(Binomial(a + b - 1, x) <= a - 1)
    data = bd.DoseData.from_counts([[3, 0], [6, 0], [0, 3]], [[3, 0], [1, 0], [0, 3]],
                                   current=[0, 0, 1])  # fmt: skip
    rule = R.ProbAbove(0.25, 0.95)
    assert rule(data, None).tolist() == [True, False, False]  # level 1 untreated: no stop
    from scipy.stats import beta

    assert beta.sf(0.25, 4, 1) == pytest.approx(1 - 0.25**4)
    assert beta.sf(0.25, 2, 6) == pytest.approx(0.75**7 + 7 * 0.25 * 0.75**6)
    assert R.ProbAbove(0.25, 0.44, level=1)(data, None).tolist() == [True, True, False]
    assert R.ProbAbove(0.25, 0.95, level=2)(data, None).tolist() == [False, False, True]


class NoMoreThanAtTop(R.StoppingRule):
    """A user's rule: stop once the top level has ``n`` patients."""

    def __init__(self, n: int = 3) -> None:
        self.n = int(n)

    def __call__(self, data, decision):
        return data.n[:, -1] >= self.n

    def __str__(self) -> str:
        return f">= {self.n} patients at the top level"


def test_a_user_rule_registers_and_reads_back():
    register_rule(NoMoreThanAtTop)
    try:
        rule = parse_rule("NoMoreThanAtTop(6) | MaxPatients(24)")
        assert rule == NoMoreThanAtTop(6) | R.MaxPatients(24)
        assert parse_rule(repr(rule)) == rule
        assert "NoMoreThanAtTop" in rule_types()
    finally:
        from bayes_dose.designs import rule_grammar

        rule_grammar._RULES.pop("NoMoreThanAtTop")
    with pytest.raises(ValueError, match="expected a StoppingRule subclass"):
        register_rule(int)  # type: ignore[arg-type]


def test_designs_accept_rule_text_and_decide_the_same():
    text = "PatientsAtDose(6) & MinPatients(12)"
    a = bd.BOIN(target=0.3, n_doses=4, max_n=30, stopping=text)
    b = bd.BOIN(target=0.3, n_doses=4, max_n=30, stopping=R.PatientsAtDose(6) & R.MinPatients(12))
    assert a == b and a.stopping == b.stopping
    data = bd.DoseData.from_counts([[3, 6, 3, 0], [3, 3, 0, 0]], [[0, 1, 0, 0], [0, 0, 0, 0]],
                                   current=[1, 1])  # fmt: skip
    da, db = a.decide(data), b.decide(data)
    for f in ("next_dose", "cohort_size", "stop", "reason"):
        np.testing.assert_array_equal(getattr(da, f), getattr(db, f))
    with pytest.raises(ValueError, match=re.escape("at position 19: expected a rule name, got '|'")):
        bd.BOIN(target=0.3, n_doses=4, max_n=30, stopping="PatientsAtDose(6) ||")


HEAD = 'protocol = "bat6021"\n'


def _spec(tmp_path, body: str):
    p = tmp_path / "spec.toml"
    p.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return bd.io.load_spec(p)


def test_toml_specs_take_rule_and_slot_text(tmp_path):
    spec = _spec(tmp_path, """
        [designs.B]
        type = "BOIN"
        target = 0.25
        max_n = 30
        stopping = "PatientsAtDose(9) | ProbAbove(0.25, 0.95)"
        coherence = "Coherence(0.25)"
        [designs.L]
        type = "BLRM"
        reference_dose = 300
        max_n = 30
        escalation_limit = "RelativeIncrements(1.0, basis='max')"
        stopping = "MinPatients(30) & PatientsAtDose(6)"
    """)
    b = spec.designs["mono"]["B"]
    assert b.stopping == R.PatientsAtDose(9) | R.ProbAbove(0.25, 0.95)
    assert b.coherence == Coherence(0.25)
    blrm = spec.designs["combo"]["L"]
    assert blrm.escalation_limit == RelativeIncrements(1.0, basis="max")
    assert blrm.stopping == R.MinPatients(30) & R.PatientsAtDose(6)


def test_toml_errors_name_the_design_the_field_and_the_position(tmp_path):
    with pytest.raises(ValueError, match=r"design 'B' \(arm 'mono'\): stopping rule "
                                         r"'PatientsAtDose\(9\) \| Prob\(1\)': at position 20: "
                                         r"unknown name 'Prob'"):
        _spec(tmp_path, """
            [designs.B]
            type = "BOIN"
            target = 0.25
            max_n = 30
            stopping = "PatientsAtDose(9) | Prob(1)"
        """)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['escalation_limt'\] for BOIN "
                                         r"\(did you mean 'escalation_limit'\?\)"):
        _spec(tmp_path, """
            [designs.B]
            type = "BOIN"
            target = 0.25
            escalation_limt = "RelativeIncrements(1.0)"
        """)
    with pytest.raises(ValueError, match=r"field 'stopping': a table is not accepted here"):
        _spec(tmp_path, """
            [designs.B]
            type = "BOIN"
            target = 0.25
            stopping = { rule = "PatientsAtDose", n = 9 }
        """)


@pytest.mark.parametrize("text", ["PatientsAtDose(-3)", "PatientsAtDose(2.5)", "MaxPatients(0)",
                                  "MinPatients(True)", "StayWithPatients('9')", "ProbAbove(0.25, 0.95, 1.5)"])
def test_count_arguments_must_be_positive_whole_numbers(text):
    """A patient count that is not a whole number >= 1 is an error, never truncated
    (PatientsAtDose(2.5) used to become 2 silently)."""
    with pytest.raises(ValueError, match="whole number >= 1"):
        bd.parse_rule(text)
