"""Slot ``escalation_limit``: how far above the evidence the next dose may go.

* :class:`NoSkip` (``no_skip=True``, the default of every design): never above one level
  past the highest level tried.
* :class:`RelativeIncrements`: a cap in mg relative to a basis dose, as crmPack's
  ``IncrementsRelative``: with intervals ``x_1 = 0 < x_2 < ...`` of the basis dose and
  increments ``r_1, r_2, ...``, the next dose is at most ``(1 + r_k) * basis`` where
  ``x_k <= basis < x_{k+1}``; levels whose dose (mg) is at most that cap are allowed
  (crmPack: ``dose_grid <= maxDose``).  The basis is the current dose (the last cohort's,
  crmPack's ``IncrementsRelative``; ``basis="last"``) or the highest dose tried
  (``basis="max"``).  ``RelativeIncrements(1.0)``: at most +100 % (doubling).  Before
  the first patient there is no limit (the ``start`` slot decides).  Needs ``doses_mg``.

Both only lower a running trial's dose (a stopped trial stays stopped).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ... import checks
from ..state import Decision, DoseData
from .base import Slot, SlotContext, cap_where, register_slot

if TYPE_CHECKING:
    from ..base import Design

__all__ = ["EscalationLimit", "NoSkip", "RelativeIncrements"]

NO_SKIP = 4
BASES = ("last", "max")


class EscalationLimit(Slot):
    """Base class of ``escalation_limit`` slots: lower a running trial's next dose."""

    kind = "escalation_limit"

    @abstractmethod
    def cap(self, data: DoseData, design: Design) -> np.ndarray:
        """Highest 0-based level allowed per trial, shape (T,)."""

    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        return cap_where(proposal, self.cap(data, ctx.design), ctx.code())


@register_slot
class NoSkip(EscalationLimit):
    """Never above one level past the highest level tried (``no_skip=True``)."""

    fixed_codes: ClassVar[tuple[int, ...]] = (NO_SKIP,)

    @property
    def reasons(self) -> tuple[str, ...]:
        return ("no-skip: capped at level {next}, one above the highest level tried",)

    def cap(self, data: DoseData, design: Design) -> np.ndarray:
        return design.skip_cap(data)


@register_slot
class RelativeIncrements(EscalationLimit):
    """At most ``(1 + max_increase)`` times the basis dose in mg (see module docstring).

    Parameters
    ----------
    max_increase : float or sequence of float
        Relative increase allowed (1.0 = +100 %), one per interval.
    intervals : sequence of float, optional
        Lower bounds (mg) of the basis-dose intervals, increasing from 0 (crmPack's
        ``intervals``); default ``(0,)``: one increase for every dose.
    basis : {"last", "max"}
        The current (last cohort's) dose, or the highest dose tried.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> limit = bd.slots.RelativeIncrements(1.0)
    >>> d = bd.BOIN(target=0.3, n_doses=4, max_n=30, doses_mg=(10, 20, 30, 40),
    ...            escalation_limit=limit)
    >>> data = bd.DoseData.from_counts([[3, 3, 0, 0]], [[0, 0, 0, 0]], current=[1])
    >>> int(d.decide(data).next_dose[0]) + 1    # 20 mg: at most 40 mg, level 4 allowed
    3
    """

    def __init__(
        self,
        max_increase: float | Sequence[float] = 1.0,
        intervals: Sequence[float] | None = None,
        basis: str = "last",
    ) -> None:
        own = type(self).__name__
        if np.ndim(max_increase) == 0:
            self.max_increase = checks.real(own, "max_increase", max_increase)
        else:
            self.max_increase = checks.reals(own, "max_increase", max_increase,
                                             len(max_increase))  # fmt: skip
        self.intervals = None if intervals is None else checks.reals(
            own, "intervals", intervals, len(intervals))
        inc = np.atleast_1d(np.asarray(self.max_increase, dtype=float))
        self.basis = basis
        cuts = np.zeros(1) if self.intervals is None else np.asarray(self.intervals)
        if basis not in BASES:
            raise ValueError(f"RelativeIncrements: basis must be one of {BASES}, got {basis!r}")
        if len(inc) != len(cuts):
            raise ValueError(
                f"RelativeIncrements: {len(inc)} increase(s) for {len(cuts)} interval(s)"
            )
        if not np.all(np.isfinite(inc)) or np.any(inc < 0):
            raise ValueError(f"RelativeIncrements: max_increase must be >= 0, got {max_increase!r}")
        if cuts[0] != 0 or np.any(np.diff(cuts) <= 0) or not np.all(np.isfinite(cuts)):
            raise ValueError(
                f"RelativeIncrements: intervals must increase from 0, got {self.intervals!r}"
            )
        self._inc, self._cuts = inc, cuts

    def params(self) -> dict[str, Any]:
        return {"max_increase": self.max_increase, "intervals": self.intervals, "basis": self.basis}

    @property
    def reasons(self) -> tuple[str, ...]:
        return (
            "relative increments: at most {max_mg} (+{increase} over the {basis} dose "
            "{basis_mg}): capped at level {next}",
        )

    def check(self, design: Design) -> None:
        mg = design.doses_mg
        if mg is None:
            raise ValueError(
                f"{type(design).__name__}: escalation_limit RelativeIncrements needs doses_mg"
            )
        if np.any(np.diff(mg) <= 0) or min(mg) <= 0:
            raise ValueError(
                f"{type(design).__name__}: RelativeIncrements needs increasing positive doses_mg, "
                f"got {mg}"
            )

    def describe(self, design: Design) -> str:
        basis = "current dose" if self.basis == "last" else "highest dose given so far"
        incs = [f"+{100 * r:g}%" for r in self._inc]
        if len(incs) == 1:
            how = f"at most {incs[0]} over the {basis} (in mg)"
        else:
            cuts = [f"{c:g}" for c in self._cuts]
            parts = [f"{inc} from {lo} mg" for inc, lo in zip(incs, cuts, strict=True)]
            how = f"at most {', '.join(parts)} of the {basis} (in mg)"
        return f"Escalation limit (relative increments): the next dose is {how}."

    def _basis(self, data: DoseData) -> np.ndarray:
        idx = data.current if self.basis == "last" else data.highest_tried
        return np.clip(idx, 0, None)

    def max_mg(self, data: DoseData, design: Design) -> np.ndarray:
        """The highest dose (mg) allowed next per trial, shape (T,)."""
        mg = np.asarray(design.doses_mg, dtype=float)
        base = mg[self._basis(data)]
        k = np.searchsorted(self._cuts, base, side="right") - 1
        return (1.0 + self._inc[k]) * base

    def cap(self, data: DoseData, design: Design) -> np.ndarray:
        mg = np.asarray(design.doses_mg, dtype=float)
        allowed = mg[None, :] <= self.max_mg(data, design)[:, None] * (1 + 1e-12)
        cap = allowed.sum(axis=1) - 1
        return np.where(data.current >= 0, cap, len(mg) - 1)

    def fields(self, data: DoseData, decision: Decision, trial: int, design: Design) -> dict[str, Any]:
        one = data.take(np.array([trial]))
        base = float(np.asarray(design.doses_mg)[self._basis(one)[0]])
        k = int(np.searchsorted(self._cuts, base, side="right") - 1)
        return {
            "max_mg": f"{float(self.max_mg(one, design)[0]):g} mg",
            "increase": f"{100 * self._inc[k]:g}%",
            "basis": "current" if self.basis == "last" else "highest",
            "basis_mg": f"{base:g} mg",
        }
