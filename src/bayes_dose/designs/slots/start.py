"""Slot ``start``: before the first patient, the start level."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..state import Decision, DoseData
from .base import Slot, SlotContext, register_slot

__all__ = ["Start"]

START = 0


@register_slot
class Start(Slot):
    """Trials without patients start at ``level`` (1-based) with the design's first
    cohort size (one patient under accelerated titration).  Built from ``start_level``."""

    kind = "start"
    fixed_codes: ClassVar[tuple[int, ...]] = (START,)

    def __init__(self, level: int = 1) -> None:
        self.level = int(level)

    @property
    def reasons(self) -> tuple[str, ...]:
        return ("no patients yet: start at level {next}",)

    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        empty = data.total_n == 0
        return Decision(
            np.where(empty, self.level - 1, proposal.next_dose),
            np.where(empty, ctx.design.first_cohort_size(), proposal.cohort_size),
            np.where(empty, False, proposal.stop),
            np.where(empty, ctx.code(), proposal.reason),
        )
