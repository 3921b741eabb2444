"""Slot ``stopping``: the user's stopping rule (``&``/``|`` of :mod:`..rules`)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from ..rules import StoppingRule
from ..state import Decision, DoseData
from .base import Slot, SlotContext

__all__ = ["Stopping"]

STOP_RULE = 3


class Stopping(Slot):
    """Stop the running trials for which ``rule(data, proposal)`` is true.  Built from
    ``stopping`` combined with any rule the design's own parameters imply
    (``Design._stopping_rule``, e.g. BOIN's ``n_earlystop``)."""

    kind = "stopping"
    fixed_codes: ClassVar[tuple[int, ...]] = (STOP_RULE,)

    def __init__(self, rule: StoppingRule) -> None:
        self.rule = rule

    @property
    def reasons(self) -> tuple[str, ...]:
        return ("stopping rule met: {rule}",)

    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        hit = ~proposal.stop & np.asarray(self.rule(data, proposal), dtype=bool)
        return Decision(
            proposal.next_dose,
            proposal.cohort_size,
            proposal.stop | hit,
            np.where(hit, ctx.code(), proposal.reason),
        )
