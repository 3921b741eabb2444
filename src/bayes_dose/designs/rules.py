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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from .state import Decision, DoseData

__all__ = [
    "AllOf", "AnyOf", "MaxPatients", "MinPatients", "PatientsAtDose", "StayWithPatients",
    "StoppingRule",
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
        return f"<{type(self).__name__}: {self}>"

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


class MaxPatients(StoppingRule):
    """Stop once ``n`` patients have been treated."""

    def __init__(self, n: int):
        self.n = int(n)

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
        self.n = int(n)

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
        self.n = int(n)

    def __call__(self, data: DoseData, decision: Decision) -> np.ndarray:
        at_current = data.at_current(data.n)
        return (data.current >= 0) & (decision.next_dose == data.current) & (at_current >= self.n)

    def __str__(self) -> str:
        return f"staying at a level that already has >= {self.n} patients"
