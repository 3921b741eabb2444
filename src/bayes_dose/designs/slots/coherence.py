"""Slot ``coherence``: no escalation right after a cohort with too many DLTs.

Off by default (``coherence=None``).  The CRM keeps its own ``coherent`` flag (dfcrm's
``restrict``, applied inside its rule with its own reason code); this slot gives the same
rule to any design: ``Coherence(target)`` keeps a running trial at its current level when
the last cohort's DLT rate is at least ``target`` and the proposal would go higher
(Cheung 2005, coherent escalation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ... import checks
from ..state import Decision, DoseData
from .base import Slot, SlotContext, register_slot

if TYPE_CHECKING:
    from ..base import Design

__all__ = ["Coherence"]


@register_slot
class Coherence(Slot):
    """No escalation after a cohort whose DLT rate is ``>= target``."""

    kind = "coherence"
    uses_last_cohort = True

    def __init__(self, target: float) -> None:
        self.target = checks.real("Coherence", "target", target, low=0, high=1, low_open=True,
                                  high_open=True)  # fmt: skip

    @property
    def reasons(self) -> tuple[str, ...]:
        return (
            "last cohort: {last_dlt} DLT in {last_n} at level {dose} (rate >= "
            f"{self.target:g}): no escalation (coherence); level {{next}}",
        )

    def describe(self, design: Design) -> str:
        return (
            "Coherence: no escalation right after a cohort whose DLT rate is at or above "
            f"{self.target:g}."
        )

    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        cur = data.current
        toxic = (data.last_n > 0) & (data.last_dlt >= self.target * data.last_n)
        m = ~proposal.stop & (cur >= 0) & toxic & (proposal.next_dose > cur)
        if not m.any():
            return proposal
        return Decision(
            np.where(m, cur, proposal.next_dose),
            proposal.cohort_size,
            proposal.stop,
            np.where(m, ctx.code(), proposal.reason),
        )
