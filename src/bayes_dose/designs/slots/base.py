"""The rule-slot interface: one small typed step of ``Design.decide``.

A design is its own decision rule (``Design._rule``) and MTD selector, followed by an
ordered list of slots (:data:`SLOT_KINDS`): ``titration``, ``start``,
``escalation_limit``, ``coherence``, ``max_n``, ``stopping``.  Each slot is an object
with its parameters, its reason sentence(s) (:attr:`Slot.reasons`) and a vectorised step
``apply(data, proposal, ctx) -> proposal`` over the ``T`` trials of ``data``.

Reason codes.  The five slots every design had before slots existed keep their codes
(start 0, titration 1, max_n 2, stopping 3, no-skip 4: :attr:`Slot.fixed_codes`), so
stored simulations keep their ``stop_reason`` numbers.  Any other slot (relative
increments, coherence, a user's slot) gets the codes after the design's own reasons, in
slot order; :class:`SlotContext` hands a slot its codes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ..state import Decision, DoseData

if TYPE_CHECKING:
    from ..base import Design

__all__ = ["SLOT_KINDS", "Slot", "SlotContext", "register_slot", "slot_types"]

#: The slot kinds, in the order ``Design.decide`` applies them.
SLOT_KINDS = ("titration", "start", "escalation_limit", "coherence", "max_n", "stopping")
#: Slot kinds outside that list: ``backfill`` (:mod:`.backfill`; it chooses where backfill
#: patients go, and its de-escalation step runs after ``coherence`` in ``decide``).
EXTRA_KINDS = ("backfill",)

_SLOTS: dict[str, type[Slot]] = {}


class SlotContext:
    """What a slot's step knows besides the evidence: the design and its reason codes
    (a plain class with ``__slots__``: one is made per slot and ``decide`` call)."""

    __slots__ = ("codes", "design")

    def __init__(self, design: Design, codes: tuple[int, ...]) -> None:
        self.design = design
        self.codes = codes

    def __repr__(self) -> str:
        return f"SlotContext({type(self.design).__name__}, codes={self.codes})"

    def code(self, k: int = 0) -> int:
        """The reason code of the slot's ``k``-th sentence."""
        return self.codes[k]


class Slot(ABC):
    """Base class of rule slots (see the module docstring).

    Subclasses set :attr:`kind`, store their parameters as attributes in ``__init__``
    (``spec``, ``repr`` and equality read them) and implement :meth:`apply`.
    """

    #: One of :data:`SLOT_KINDS`.
    kind: ClassVar[str] = ""
    #: Reason codes of the package's original steps (fixed numbers); None: the codes
    #: follow the design's own reasons.
    fixed_codes: ClassVar[tuple[int, ...] | None] = None
    #: Whether the step reads the last cohort (``DoseData.last_n`` / ``last_dlt``); a
    #: design with such a slot reads it too (``Design.uses_last_cohort``).
    uses_last_cohort: ClassVar[bool] = False

    @property
    @abstractmethod
    def reasons(self) -> tuple[str, ...]:
        """Reason sentences, one per code; fields as in :meth:`Design.explain` plus
        :meth:`fields`."""

    @abstractmethod
    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        """The proposal after this slot, for every trial (vectorised)."""

    def check(self, design: Design) -> None:  # noqa: B027 - optional hook
        """Raise ``ValueError`` when the slot cannot work with ``design`` (e.g. no mg)."""

    def fields(self, data: DoseData, decision: Decision, trial: int, design: Design) -> dict[str, Any]:
        """Extra fields of this slot's sentences for ``trial``."""
        return {}

    def describe(self, design: Design) -> str:
        """A protocol sentence for the slot (``protocol_text.design_rules``)."""
        return f"{self.kind.replace('_', ' ').capitalize()}: {self!r}."

    def params(self) -> dict[str, Any]:
        """The constructor arguments (as stored)."""
        return dict(vars(self))

    def spec(self) -> dict[str, Any]:
        """JSON-able description (tuples as lists)."""

        def plain(v: Any) -> Any:
            return [plain(x) for x in v] if isinstance(v, (tuple, list)) else v

        return {"slot": type(self).__name__, **{k: plain(v) for k, v in self.params().items()}}

    def __repr__(self) -> str:
        from ..rule_grammar import call_text

        return call_text(type(self).__name__, self.params(), type(self))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.spec() == other.spec()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(repr(self))


def register_slot(cls: type[Slot]) -> type[Slot]:
    """Register a slot class by name (TOML strings such as ``escalation_limit =
    "RelativeIncrements(1.0)"`` name it); usable as a class decorator."""
    if not (isinstance(cls, type) and issubclass(cls, Slot)):
        raise ValueError(f"register_slot: expected a Slot subclass, got {cls!r}")
    if cls.kind not in SLOT_KINDS + EXTRA_KINDS:
        raise ValueError(
            f"register_slot: {cls.__name__}.kind must be one of {SLOT_KINDS + EXTRA_KINDS}, "
            f"got {cls.kind!r}"
        )
    _SLOTS[cls.__name__] = cls
    return cls


def slot_types(kind: str | None = None) -> dict[str, type[Slot]]:
    """Registered slot classes by name (of one ``kind``, or all)."""
    return {n: c for n, c in _SLOTS.items() if kind is None or c.kind == kind}


def cap_where(proposal: Decision, cap: np.ndarray, code: int) -> Decision:
    """``proposal`` with every running trial's dose capped at ``cap`` (reason ``code``
    where the cap binds)."""
    capped = ~proposal.stop & (proposal.next_dose > cap)
    return Decision(
        np.where(capped, cap, proposal.next_dose),
        proposal.cohort_size,
        proposal.stop,
        np.where(capped, code, proposal.reason),
    )
