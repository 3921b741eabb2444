"""The container every engine returns: posterior summaries per trial and dose."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Estimate"]


@dataclass(frozen=True)
class Estimate:
    """Posterior (or empirical) summaries of DLT probability for ``T`` trials.

    Attributes
    ----------
    prob_mean : ndarray, shape (T, D)
        Estimated DLT probability per dose (posterior mean, or an empirical rate).
    prob_lower, prob_upper : ndarray, shape (T, D), optional
        Credible-interval bounds (``interval`` gives their mass, e.g. 0.9: the designs'
        ``credible_level``).
    stats : mapping of str to ndarray
        Model-specific summaries (e.g. ``beta_mean``, ``p_over``) with a leading trial axis.
    engine : str
        ``"empirical"``, ``"grid"`` or ``"pymc"``.
    posterior : arviz.InferenceData, optional
        The PyMC posterior (PyMC engine only).
    diagnostics : mapping, optional
        R-hat, ESS, divergences and the flags raised (PyMC engine only).
    grid_flags : tuple of str
        Grid engine: why some trials' results could not be verified (posterior mass at
        the grid edge, refinement not converged); empty when every trial is resolved.
        ``stats["grid_flag"]`` marks the trials concerned.
    """

    prob_mean: np.ndarray
    prob_lower: np.ndarray | None = None
    prob_upper: np.ndarray | None = None
    interval: float = 0.9
    stats: Mapping[str, np.ndarray] = field(default_factory=dict)
    engine: str = "empirical"
    posterior: Any = None
    diagnostics: Mapping[str, Any] | None = None
    grid_flags: tuple[str, ...] = ()

    @classmethod
    def empirical(cls, n: np.ndarray, dlt: np.ndarray) -> Estimate:
        """Observed DLT rate per dose (NaN where nobody was treated)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(n > 0, dlt / np.maximum(n, 1), np.nan)
        return cls(prob_mean=rate, engine="empirical")
