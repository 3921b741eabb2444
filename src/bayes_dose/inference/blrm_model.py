"""The BLRM (Neuenschwander, Branson & Gsponer 2008) as a model both engines share.

``logit p(d) = log(alpha) + beta * log(d / d*)`` with a bivariate normal prior on
``(log alpha, log beta)``.  The model knows its prior, its link (in numpy) and how to
summarise a weighted set of parameter values (grid nodes with posterior weights, or
MCMC draws with equal weights) into an :class:`~.estimate.Estimate`: posterior mean DLT
probability per dose, 90% credible bounds and the interval probabilities
``p_under`` / ``p_target`` / ``p_over`` (``P(p < lo)``, ``P(lo <= p < hi)``,
``P(p >= hi)``).

Both engines integrate in the prior's *whitened* coordinates ``(u1, u2)`` (independent
standard normals): ``log beta = m_b + s_b u1`` and
``log alpha = m_a + s_a (r u1 + sqrt(1 - r^2) u2)``.  For fixed ``u1`` the logit is
linear and increasing in ``u2``, which the grid engine uses to integrate the interval
indicators exactly within each grid cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from .. import checks
from .estimate import Estimate

__all__ = [
    "BLRMModel", "BLRMPrior", "interval_estimate", "interval_summary", "weighted_quantiles",
]  # fmt: skip

#: Names of the interval categories, in order.
CATEGORIES = ("under", "target", "over")


@dataclass(frozen=True)
class BLRMPrior:
    """Bivariate normal prior on ``(log alpha, log beta)``.

    Parameters
    ----------
    mean : (float, float)
        Prior means of ``log alpha`` and ``log beta``.
    sd : (float, float)
        Prior standard deviations (positive).
    corr : float
        Prior correlation, in (-1, 1).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> prior = bd.BLRMPrior(mean=(2.15, 0.52), sd=(0.84, 0.8), corr=0.2)
    >>> round(float(prior.cov[0, 1]), 4)
    0.1344
    """

    mean: tuple[float, float] = (-1.0986, 0.0)
    sd: tuple[float, float] = (2.0, 1.0)
    corr: float = 0.0

    def __post_init__(self) -> None:
        own = "BLRMPrior"
        object.__setattr__(self, "mean", checks.reals(own, "field 'mean'", self.mean, 2))
        object.__setattr__(self, "sd", checks.reals(own, "field 'sd'", self.sd, 2, low=0,
                                                    low_open=True))  # fmt: skip
        object.__setattr__(self, "corr", checks.real(own, "field 'corr'", self.corr, low=-1,
                                                     high=1, low_open=True, high_open=True))

    @property
    def cov(self) -> np.ndarray:
        """Prior covariance matrix of ``(log alpha, log beta)``."""
        sa, sb = self.sd
        return np.array([[sa * sa, self.corr * sa * sb], [self.corr * sa * sb, sb * sb]])

    def from_whitened(self, u1: np.ndarray, u2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(log alpha, log beta)`` from whitened coordinates (see module docstring)."""
        (ma, mb), (sa, sb), r = self.mean, self.sd, self.corr
        log_beta = mb + sb * np.asarray(u1)
        log_alpha = ma + sa * (r * np.asarray(u1) + np.sqrt(1.0 - r * r) * np.asarray(u2))
        return log_alpha, log_beta

    def spec(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "sd": list(self.sd), "corr": self.corr}


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    """Quantiles of per-dose values under per-trial weights.

    Parameters
    ----------
    values : ndarray, shape (S, D)
        Values at the nodes (or draws).
    weights : ndarray, shape (T, S)
        Normalised weights per trial.
    qs : sequence of float
        Probabilities.

    Returns
    -------
    ndarray, shape (len(qs), T, D)
    """
    S, D = values.shape
    T = weights.shape[0]
    out = np.empty((len(qs), T, D))
    for d in range(D):
        order = np.argsort(values[:, d], kind="stable")
        cdf = np.cumsum(weights[:, order], axis=1)
        for k, q in enumerate(qs):
            idx = np.minimum((cdf < q).sum(axis=1), S - 1)
            out[k, :, d] = values[order[idx], d]
    return out


def interval_summary(
    prob: np.ndarray,
    weights: np.ndarray,
    cuts: tuple[float, float],
    above: tuple[np.ndarray, np.ndarray] | None = None,
    intervals: bool = True,
    interval: float = 0.9,
) -> dict[str, np.ndarray]:
    """Posterior mean, interval probabilities and credible bounds per dose.

    Parameters
    ----------
    prob : ndarray, shape (S, D)
        DLT probability at each node / draw.
    weights : ndarray, shape (T, S)
        Normalised posterior weights per trial.
    cuts : (lo, hi)
        Target interval ``[lo, hi)``.
    above : (ndarray, ndarray), optional
        ``P(p >= lo)`` and ``P(p >= hi)``, shape (T, D), when the engine integrates the
        indicators itself (grid engine); else the weighted share of values above the cuts.
    intervals : bool
        Also compute the equal-tailed credible bounds.
    """
    lo, hi = cuts
    if above is None:
        above = (weights @ (prob >= lo).astype(float), weights @ (prob >= hi).astype(float))
    mean = weights @ prob
    p_above_lo = np.clip(above[0], 0.0, 1.0)
    p_over = np.clip(above[1], 0.0, 1.0)
    out = {
        "prob_mean": mean,
        "p_under": 1.0 - p_above_lo,
        "p_target": np.clip(p_above_lo - p_over, 0.0, 1.0),
        "p_over": p_over,
    }
    if intervals:
        a = (1.0 - interval) / 2.0
        q = weighted_quantiles(prob, weights, (a, 1.0 - a))
        out["prob_lower"], out["prob_upper"] = q[0], q[1]
    return out


def interval_estimate(
    prob: np.ndarray,
    weights: np.ndarray,
    cuts: tuple[float, float],
    params: Mapping[str, np.ndarray],
    above: tuple[np.ndarray, np.ndarray] | None = None,
    intervals: bool = True,
    engine: str = "grid",
    extra: Mapping[str, np.ndarray] | None = None,
) -> Estimate:
    """:func:`interval_summary` as an :class:`Estimate`: interval probabilities and the
    posterior mean of every parameter (``<name>_mean``) in ``stats``, plus ``extra``."""
    s = interval_summary(prob, weights, cuts, above, intervals)
    stats = {k: s[k] for k in ("p_under", "p_target", "p_over")}
    for name, values in params.items():
        stats[f"{name}_mean"] = weights @ np.asarray(values, dtype=float)
    stats.update(extra or {})
    return Estimate(
        prob_mean=s["prob_mean"], prob_lower=s.get("prob_lower"),
        prob_upper=s.get("prob_upper"), interval=0.9, stats=stats, engine=engine,
    )  # fmt: skip


@dataclass(frozen=True)
class BLRMModel:
    """Two-parameter logistic dose-toxicity model with a bivariate normal prior.

    Parameters
    ----------
    doses : tuple of float
        Doses (mg), increasing.
    reference_dose : float
        ``d*`` in ``log(d / d*)``.
    prior : BLRMPrior
    cuts : (float, float)
        Target interval ``[lo, hi)`` of the DLT probability.

    Examples
    --------
    >>> from bayes_dose.inference.blrm_model import BLRMModel, BLRMPrior
    >>> m = BLRMModel((10.0, 100.0), 100.0, BLRMPrior(mean=(0.0, 0.0), sd=(1.0, 1.0)))
    >>> m.prob(np.array([0.0]), np.array([0.0])).round(3).tolist()
    [[0.091, 0.5]]
    """

    doses: tuple[float, ...]
    reference_dose: float
    prior: BLRMPrior
    cuts: tuple[float, float] = (0.16, 0.33)

    param_names = ("log_alpha", "log_beta")
    #: The model has one arm; engines address it by this name.
    arms = ("arm",)
    decision_arm = "arm"

    def __post_init__(self) -> None:
        object.__setattr__(self, "doses", checks.doses("BLRM", "doses", self.doses))
        object.__setattr__(self, "reference_dose", checks.real(
            "BLRM", "reference_dose", self.reference_dose, low=0, low_open=True))
        object.__setattr__(self, "cuts", tuple(float(c) for c in self.cuts))
        lo, hi = self.cuts
        if not 0 < lo < hi < 1:
            raise ValueError(
                f"BLRM: 'target_interval' must satisfy 0 < lo < hi < 1, got {self.cuts}"
            )
        if not isinstance(self.prior, BLRMPrior):
            raise ValueError(f"BLRM: 'prior' must be a BLRMPrior, got {type(self.prior).__name__}")

    @property
    def x(self) -> np.ndarray:
        """Standardised log doses ``log(d / d*)``."""
        return np.log(np.asarray(self.doses) / self.reference_dose)

    @property
    def n_doses(self) -> int:
        return len(self.doses)

    def logit(self, log_alpha: np.ndarray, log_beta: np.ndarray) -> np.ndarray:
        """``log alpha + beta x`` for every parameter value and dose, shape (..., D)."""
        la = np.asarray(log_alpha, dtype=float)[..., None]
        lb = np.asarray(log_beta, dtype=float)[..., None]
        return la + np.exp(lb) * self.x

    def prob(self, log_alpha: np.ndarray, log_beta: np.ndarray) -> np.ndarray:
        """DLT probability per dose, shape (..., D)."""
        return expit(self.logit(log_alpha, log_beta))

    def arm_logit(self, params: Mapping[str, np.ndarray], arm: str = "arm") -> np.ndarray:
        """Logit of the DLT probability per dose at parameter values, shape (S, D)."""
        return self.logit(params["log_alpha"], params["log_beta"])

    #: Axes along which the logit is monotone, where the grid engine integrates interval
    #: cuts exactly: u2 (log alpha given log beta; the logit is linear in it).
    cut_axes = (1,)

    def axis_widths(self, width: float, n_axes: int = 2) -> tuple[float, ...]:
        """Half-widths of the prior grid's axes (``u1``, ``u2``), in prior SDs."""
        return (width, width)

    def from_whitened(self, u: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Parameters at whitened coordinates ``(u1, u2)`` (arrays of any shape)."""
        la, lb = self.prior.from_whitened(u[0], u[1])
        return {"log_alpha": la, "log_beta": lb}

    def summarise(
        self,
        param_values: Mapping[str, np.ndarray],
        weights: np.ndarray,
        *,
        above: tuple[np.ndarray, np.ndarray] | None = None,
        intervals: bool = True,
        engine: str = "grid",
    ) -> Estimate:
        """Posterior summaries from weighted parameter values.

        Parameters
        ----------
        param_values : mapping
            ``log_alpha`` and ``log_beta``, each of shape (S,).
        weights : ndarray, shape (T, S) or (S,)
            Normalised weights (grid: posterior weights; MCMC: ``1 / S``).
        above : optional
            ``P(p >= lo)``, ``P(p >= hi)`` computed by the engine (see :func:`interval_summary`).
        intervals : bool
            Compute 90% credible bounds.
        engine : str
            Recorded on the estimate.
        """
        prob = self.prob(param_values["log_alpha"], param_values["log_beta"])
        params = {k: param_values[k] for k in ("log_alpha", "log_beta")}
        return interval_estimate(
            prob, np.atleast_2d(weights), self.cuts, params, above, intervals, engine
        )

    def spec(self) -> dict[str, Any]:
        return {
            "model": "BLRM",
            "doses": list(self.doses),
            "reference_dose": self.reference_dose,
            "prior": self.prior.spec(),
            "cuts": list(self.cuts),
        }
