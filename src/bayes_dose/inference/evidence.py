"""What engines read of the evidence: a structural type below designs and engines.

Engines do not import the design layer: they read count evidence through this protocol,
which :class:`bayes_dose.DoseData` satisfies (so does any object with these attributes).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

__all__ = ["CountEvidence"]


class CountEvidence(Protocol):
    """Per-dose counts of ``T`` trials, with optional per-patient arrays (TITE)."""

    n: np.ndarray  #: patients per trial and dose, (T, D)
    dlt: np.ndarray  #: DLTs per trial and dose, (T, D)
    patient_dose: np.ndarray | None  #: 0-based dose per patient slot, (T, P); -1 padding
    patient_dlt: np.ndarray | None  #: DLT (0/1) per patient slot, (T, P)
    patient_weight: np.ndarray | None  #: TITE follow-up weight per patient slot, (T, P)

    @property
    def n_trials(self) -> int: ...

    @property
    def n_doses(self) -> int: ...
