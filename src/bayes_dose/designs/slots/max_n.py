"""Slot ``max_n``: stop at the maximum sample size; the last cohort is cut to fit."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..state import Decision, DoseData
from .base import Slot, SlotContext, register_slot

__all__ = ["MaxN"]

MAX_N = 2


@register_slot
class MaxN(Slot):
    """Stop once ``n`` patients have been treated; cohorts never exceed ``n`` in total.
    Built from ``max_n``.  With backfill (``DoseData.backfill_n`` set) ``n`` counts the
    escalation patients only (BF-BOIN: N escalation patients plus the backfill ones)."""

    kind = "max_n"
    fixed_codes: ClassVar[tuple[int, ...]] = (MAX_N,)

    def __init__(self, n: int) -> None:
        self.n = int(n)

    @property
    def reasons(self) -> tuple[str, ...]:
        return ("maximum sample size reached (N = {total} >= max_n = {max_n})",)

    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        # with backfill patients (DoseData.backfill_n) max_n counts escalation patients
        total = data.total_n if data.backfill_n is None else (data.n - data.backfill_n).sum(axis=1)
        hit = ~proposal.stop & (total >= self.n)
        return Decision(
            proposal.next_dose,
            np.minimum(proposal.cohort_size, np.maximum(self.n - total, 0)),
            proposal.stop | hit,
            np.where(hit, ctx.code(), proposal.reason),
        )
