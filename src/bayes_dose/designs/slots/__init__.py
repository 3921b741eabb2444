"""Rule slots of ``Design.decide``, one module per kind (see :mod:`.base`).

Order: ``titration``, ``start``, ``escalation_limit``, ``coherence``, ``max_n``,
``stopping``.  A new slot is one class (a subclass of :class:`Slot` or of a kind's base
such as :class:`EscalationLimit`) plus :func:`register_slot`.
"""

from .backfill import (
    AtOrBelowCurrent,
    Backfill,
    BackfillOpening,
    BelowCurrent,
    MinResponses,
    OpensWhenCleared,
)  # fmt: skip
from .base import SLOT_KINDS, Slot, SlotContext, register_slot, slot_types
from .coherence import Coherence
from .escalation_limit import EscalationLimit, NoSkip, RelativeIncrements
from .max_n import MaxN
from .start import Start
from .stopping import Stopping
from .titration import Titration

__all__ = [
    "SLOT_KINDS",
    "AtOrBelowCurrent",
    "Backfill",
    "BackfillOpening",
    "BelowCurrent",
    "Coherence",
    "EscalationLimit",
    "MaxN",
    "MinResponses",
    "NoSkip",
    "OpensWhenCleared",
    "RelativeIncrements",
    "Slot",
    "SlotContext",
    "Start",
    "Stopping",
    "Titration",
    "register_slot",
    "slot_types",
]  # fmt: skip
