"""What a design returns for ``T`` trials at once: :class:`Decision` (next dose, cohort
size, stop, reason code) and :class:`Selection` (MTD / MAD).  The evidence they are made
on, :class:`~bayes_dose.dose_data.DoseData`, lives in the data layer
(:mod:`bayes_dose.dose_data`, re-exported here).  Dose indices are **0-based**.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..dose_data import NONE, DoseData

__all__ = ["NONE", "Decision", "DoseData", "Selection"]


@dataclass(frozen=True)
class Decision:
    """A design's decision for ``T`` trials (0-based dose indices).

    Attributes
    ----------
    next_dose : ndarray of int, shape (T,)
        Dose of the next cohort, ``-1`` when the trial stops.
    cohort_size : ndarray of int, shape (T,)
        Size of the next cohort (0 when stopping).
    stop : ndarray of bool, shape (T,)
    reason : ndarray of int, shape (T,)
        Index into the design's ``reasons`` (the rule that fired).
    """

    next_dose: np.ndarray
    cohort_size: np.ndarray
    stop: np.ndarray
    reason: np.ndarray

    def where(self, mask: np.ndarray, other: Decision) -> Decision:
        """Elementwise: this decision where ``mask``, else ``other``."""
        return Decision(
            np.where(mask, self.next_dose, other.next_dose),
            np.where(mask, self.cohort_size, other.cohort_size),
            np.where(mask, self.stop, other.stop),
            np.where(mask, self.reason, other.reason),
        )


@dataclass(frozen=True)
class Selection:
    """MTD selection for ``T`` trials: 0-based dose (``-1`` = none) and whether it is a MAD."""

    dose: np.ndarray
    is_mad: np.ndarray
