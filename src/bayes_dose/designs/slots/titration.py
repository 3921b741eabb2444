"""Slot ``titration``: accelerated titration (one patient per level until the first DLT)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ...errors import flag
from ..state import Decision, DoseData
from .base import Slot, SlotContext, register_slot

if TYPE_CHECKING:
    from ..base import Design

__all__ = ["Titration"]

TITRATION = 1


@register_slot
class Titration(Slot):
    """Accelerated titration over levels ``1..levels``.

    While active (no DLT so far, at most one patient per level, current level below
    ``levels`` and below the top; with ``grade2=True`` also fewer than two grade-2
    toxicities) the next cohort is one patient one level up (a full cohort when that
    level is the last titration level).  Built from ``titration_levels`` and
    ``titration_grade2``.
    """

    kind = "titration"
    fixed_codes: ClassVar[tuple[int, ...]] = (TITRATION,)

    def __init__(self, levels: int, grade2: bool = False) -> None:
        self.levels = int(levels)
        self.grade2 = flag(type(self).__name__, "grade2", grade2)

    @property
    def reasons(self) -> tuple[str, ...]:
        return (
            "accelerated titration: no DLT in 1 patient at level {dose}; next level {next} "
            "(cohort of {size})",
        )

    def active(self, data: DoseData, n_doses: int) -> np.ndarray:
        """Trials still in titration (boolean, shape (T,))."""
        if self.levels == 0:
            return np.zeros(data.n_trials, dtype=bool)
        active = (
            (data.total_dlt == 0)
            & (data.n.max(axis=1) <= 1)
            & (data.current >= 0)
            & (data.current < self.levels)
            & (data.current + 1 < n_doses)
        )
        if self.grade2:
            active &= data.grade2 < 2
        return active

    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        design: Design = ctx.design
        tit = design.titration_active(data)
        if not tit.any():
            return proposal
        up = data.current + 1
        return Decision(
            np.where(tit, up, proposal.next_dose),
            np.where(tit, np.where(up < self.levels, 1, design.cohort_size), proposal.cohort_size),
            np.where(tit, False, proposal.stop),
            np.where(tit, ctx.code(), proposal.reason),
        )
