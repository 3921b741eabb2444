"""Stopping rules that compose with ``&`` and ``|`` (as in crmPack).

A rule maps the evidence and the proposed decision of ``T`` trials to a boolean array.
Combination is plain boolean algebra, so the effect never depends on the order in which
rules are written.

Examples
--------
>>> import bayes_dose as bd
>>> rule = bd.rules.MaxPatients(30) | (bd.rules.PatientsAtDose(9) & bd.rules.MinPatients(18))
>>> print(rule)
(N >= 30) or ((>= 9 patients at the next dose) and (N >= 18))
>>> rule    # the text bayes_dose.designs.rule_grammar.parse_rule reads back
MaxPatients(30) | (PatientsAtDose(9) & MinPatients(18))
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .. import checks
from .state import Decision, DoseData

__all__ = [
    "AllOf", "AnyOf", "MaxPatients", "MinPatients", "PatientsAtDose", "ProbAbove",
    "StayWithPatients", "StoppingRule",
]  # fmt: skip


class StoppingRule(ABC):
    """Base class: ``rule(data, decision)`` is a boolean array over trials."""

    @abstractmethod
    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray: ...

    @abstractmethod
    def __str__(self) -> str: ...

    def spec(self) -> dict[str, Any]:
        """JSON-able description (for manifests)."""
        return {"rule": type(self).__name__, **vars(self)}

    def __and__(self, other: StoppingRule) -> StoppingRule:
        return AllOf(self, other)

    def __or__(self, other: StoppingRule) -> StoppingRule:
        return AnyOf(self, other)

    def __repr__(self) -> str:
        """The rule as text (``MaxPatients(30) | PatientsAtDose(9)``), which
        :func:`~bayes_dose.designs.rule_grammar.parse_rule` reads back."""
        from .rule_grammar import call_text

        return call_text(type(self).__name__, vars(self), type(self))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.spec() == other.spec()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(str(self))


class _Combined(StoppingRule):
    _word = ""

    def __init__(self, *rules: StoppingRule):
        flat: list[StoppingRule] = []
        for r in rules:
            if not isinstance(r, StoppingRule):
                raise TypeError(f"cannot combine a stopping rule with {type(r).__name__}")
            flat.extend(r.rules if type(r) is type(self) else (r,))  # type: ignore[attr-defined]
        self.rules = tuple(flat)

    def __str__(self) -> str:
        return f" {self._word} ".join(f"({r})" for r in self.rules)

    def spec(self) -> dict[str, Any]:
        return {"rule": type(self).__name__, "rules": [r.spec() for r in self.rules]}

    def __repr__(self) -> str:
        op = " & " if self._word == "and" else " | "
        return op.join(f"({r!r})" if isinstance(r, _Combined) else repr(r) for r in self.rules)


class AllOf(_Combined):
    """Stop when every rule says stop."""

    _word = "and"

    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray:
        return np.logical_and.reduce([r(data, decision) for r in self.rules])


class AnyOf(_Combined):
    """Stop when any rule says stop."""

    _word = "or"

    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray:
        return np.logical_or.reduce([r(data, decision) for r in self.rules])


def _count(rule: str, name: str, value: object) -> int:
    """A patient count or level of a rule: a whole number >= 1 (never truncated)."""
    return checks.whole(rule, name, value, low=1)


class MaxPatients(StoppingRule):
    """Stop once ``n`` patients have been treated."""

    def __init__(self, n: int):
        self.n = _count(type(self).__name__, "n", n)

    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray:
        return data.total_n >= self.n

    def __str__(self) -> str:
        return f"N >= {self.n}"


class MinPatients(MaxPatients):
    """True once at least ``n`` patients have been treated: the same test as
    :class:`MaxPatients`, named for its use as a condition (``PatientsAtDose(9) & MinPatients(18)``)."""


class PatientsAtDose(StoppingRule):
    """Stop when the dose proposed next already has ``n`` patients (whichever dose it is).

    For BOIN's ``n.earlystop`` (stop only when the design would *stay* at a dose that
    already has ``n`` patients) use :class:`StayWithPatients`.
    """

    def __init__(self, n: int):
        self.n = _count("PatientsAtDose", "n", n)

    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray:
        idx = np.clip(decision.next_dose, 0, None)[:, None]
        at_next = np.take_along_axis(data.n, idx, axis=1)[:, 0]
        return (decision.next_dose >= 0) & (at_next >= self.n)

    def __str__(self) -> str:
        return f">= {self.n} patients at the next dose"


class StayWithPatients(StoppingRule):
    """Stop when the proposal keeps the current dose and it already has ``n`` patients.

    This is BOIN's ``n.earlystop`` (R package BOIN, ``get.oc``): the trial stops once the
    current dose has ``n`` patients and the design would treat the next cohort there again
    (retain; de-escalation blocked at the lowest dose; escalation blocked at the top or by
    an eliminated dose).  A move to another dose never triggers it.
    """

    def __init__(self, n: int):
        self.n = _count("StayWithPatients", "n", n)

    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray:
        at_current = data.at_current(data.n)
        return (data.current >= 0) & (decision.next_dose == data.current) & (at_current >= self.n)

    def __str__(self) -> str:
        return f"staying at a level that already has >= {self.n} patients"


class ProbAbove(StoppingRule):
    """Stop when the DLT rate at ``level`` (1-based, default the lowest) is probably too
    high: ``P(p > threshold | data) > prob`` under a ``Beta(a, b)`` prior (the posterior
    is ``Beta(a + y, b + n - y)``), once the level has patients.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> rule = bd.rules.ProbAbove(0.25, 0.95)
    >>> data = bd.DoseData.from_counts([[3, 0], [6, 0]], [[3, 0], [1, 0]], current=[0, 0])
    >>> rule(data, None).tolist()       # 3/3: P(p > 0.25) = 0.996; 1/6: 0.44
    [True, False]
    """

    def __init__(self, threshold: float, prob: float, level: int = 1, a: float = 1.0,
                 b: float = 1.0) -> None:  # fmt: skip
        unit = {"low": 0, "high": 1, "low_open": True, "high_open": True}
        self.threshold = checks.real("ProbAbove", "threshold", threshold, **unit)
        self.prob = checks.real("ProbAbove", "prob", prob, **unit)
        self.level = _count("ProbAbove", "level", level)
        self.a = checks.real("ProbAbove", "a", a, low=0, low_open=True)
        self.b = checks.real("ProbAbove", "b", b, low=0, low_open=True)
        if not 0 < self.threshold < 1 or not 0 < self.prob < 1:
            raise ValueError(
                f"ProbAbove: threshold and prob must be in (0, 1), got {threshold!r}, {prob!r}"
            )
        if not (self.a > 0 and self.b > 0):
            raise ValueError(f"ProbAbove: a and b must be > 0, got {a}, {b}")

    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray:
        from scipy.stats import beta

        if self.level > data.n_doses:
            raise ValueError(f"ProbAbove: level {self.level} > {data.n_doses} dose levels")
        n = data.n[:, self.level - 1]
        y = data.dlt[:, self.level - 1]
        return (n > 0) & (beta.sf(self.threshold, self.a + y, self.b + n - y) > self.prob)

    def __str__(self) -> str:
        return f"P(DLT rate at level {self.level} > {self.threshold:g}) > {self.prob:g}"
