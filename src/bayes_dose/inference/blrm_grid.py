"""Exact engine for the BLRM family: quadrature on a grid in the prior's whitened coordinates.

A model (BLRM, combination BLRM) supplies a :class:`Quadrature` — parameter values at the
grid nodes, at the two edges of each node's cell along the *fine axis*, and the log prior
weight of each node — and the logit of the DLT probability of every arm at those values.
The engine precomputes ``log p`` and ``log(1 - p)`` at the nodes once per model, so the
posterior of ``T`` trials is two matrix products ``(T, D) @ (D, S)`` followed by
normalisation.  Identical count states are computed once.

Accuracy.  Posterior means are integrals of smooth, rapidly decaying functions, for which
the midpoint rule on a uniform grid converges geometrically (error of order
``exp(-2 pi^2 sigma^2 / h^2)`` for a posterior of width ``sigma``).  Interval
probabilities integrate indicator functions; along the fine axis the logit is monotone
(linear for the BLRM), so the engine integrates each indicator exactly over the cell by
the share of the cell above the cut (linear interpolation of the logit between the cell
edges), and corrects for the first-order variation of the posterior density across the
cut cell and the Euler-Maclaurin end term of the cells above it (the log-density
gradient along the fine axis is one more matrix product, from the model's
``arm_fine_slope``), so the remaining error is of third order in the cell width.  On the NBG (2008) example the default grid
agrees with a 20x finer grid to < 1e-4 on every interval probability (see the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.special import log_expit

from .estimate import Estimate

__all__ = ["GridEngine", "Quadrature", "midpoint_axis", "whitened_quadrature"]


@dataclass(frozen=True)
class Quadrature:
    """Nodes of a product grid.

    Attributes
    ----------
    params : mapping of str to ndarray, shape (S,)
        Parameter values at the nodes.
    params_lo, params_hi : mapping of str to ndarray, shape (S,)
        Parameter values at the lower / upper edge of each node's cell along the fine axis.
    log_weight : ndarray, shape (S,)
        Log prior weight of each node (up to a constant).
    fine : ndarray, shape (S,)
        Whitened coordinate of each node on the fine axis.
    h : float
        Cell width on the fine axis.
    """

    params: Mapping[str, np.ndarray]
    params_lo: Mapping[str, np.ndarray]
    params_hi: Mapping[str, np.ndarray]
    log_weight: np.ndarray
    fine: np.ndarray
    h: float

    @property
    def size(self) -> int:
        return int(self.log_weight.shape[0])


def midpoint_axis(n: int, width: float) -> tuple[np.ndarray, float]:
    """``n`` cell midpoints covering ``[-width, width]`` and the cell width."""
    if n < 3:
        raise ValueError(f"grid: need at least 3 points per axis, got {n}")
    h = 2.0 * width / n
    return -width + h * (np.arange(n) + 0.5), h


def whitened_quadrature(
    shape: tuple[int, ...], width: float | tuple[float, ...]
) -> tuple[list[np.ndarray], float]:
    """Standard-normal product grid; the LAST axis is the fine axis.

    ``width`` is one half-width for all axes or one per axis.  Returns the flattened
    coordinates of every axis (each shape (S,)) and the fine axis' cell width; the log
    prior weight is ``-sum(u**2) / 2``.
    """
    widths = (width,) * len(shape) if np.isscalar(width) else tuple(width)
    if len(widths) != len(shape):
        raise ValueError(f"grid: {len(widths)} widths for {len(shape)} axes")
    axes = [midpoint_axis(n, w) for n, w in zip(shape, widths, strict=True)]
    mesh = np.meshgrid(*(a for a, _ in axes), indexing="ij")
    return [m.ravel() for m in mesh], axes[-1][1]


class GridModel(Protocol):
    """What :class:`GridEngine` needs from a model."""

    arms: tuple[str, ...]
    decision_arm: str
    cuts: tuple[float, float]

    def quadrature(self, shape: tuple[int, ...], width: float) -> Quadrature: ...

    def arm_logit(self, params: Mapping[str, np.ndarray], arm: str) -> np.ndarray: ...

    def arm_fine_slope(self, params: Mapping[str, np.ndarray], arm: str) -> np.ndarray: ...

    def summarise(self, param_values: Any, weights: np.ndarray, **kwargs: Any) -> Estimate: ...


class GridEngine:
    """Posterior of a BLRM-family model on a fixed grid, vectorised over trials.

    Parameters
    ----------
    model : BLRMModel or CombinationModel
    shape : tuple of int
        Grid points per axis (the last axis is the fine one).
    width : float
        Half-width of the grid in prior standard deviations.
    chunk : int
        Maximum number of grid values held per block (memory bound).
    """

    def __init__(
        self, model: GridModel, shape: tuple[int, ...], width: float = 6.5, chunk: int = 2**24
    ) -> None:
        self.model = model
        self.shape = tuple(int(s) for s in shape)
        self.width = float(width)
        self.chunk = int(chunk)
        q = model.quadrature(self.shape, self.width)
        self.quad = q
        self.log_prior = q.log_weight - q.log_weight.max()
        self._logp: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for arm in model.arms:
            eta = model.arm_logit(q.params, arm)
            self._logp[arm] = (
                np.ascontiguousarray(log_expit(eta).T),
                np.ascontiguousarray(log_expit(-eta).T),
            )
        lo_logit = model.arm_logit(q.params_lo, model.decision_arm)
        hi_logit = model.arm_logit(q.params_hi, model.decision_arm)
        span = hi_logit - lo_logit
        fr, corr = [], []
        for c in model.cuts:
            lc = np.log(c / (1.0 - c))
            with np.errstate(divide="ignore", invalid="ignore"):
                f = np.where(span > 1e-12, (hi_logit - lc) / span, (hi_logit >= lc) * 1.0)
            f = np.clip(f, 0.0, 1.0)
            fr.append(f)
            # a = offset of the cut from the node, in [-h/2, h/2].  For a density
            # w (1 + g (u - c)) the cut cell holds frac + g (h^2/4 - a^2) / (2 h) of its
            # weight above the cut, and the midpoint rule over the cells above it errs by
            # g h / 24 of the cut cell's weight (Euler-Maclaurin end term).
            a = (0.5 - f) * q.h
            cut = (f > 0.0) & (f < 1.0)
            corr.append(np.where(cut, (q.h * q.h / 4.0 - a * a) / (2.0 * q.h) - q.h / 24.0, 0.0))
        self.fractions = (fr[0], fr[1])
        self._corr = (corr[0], corr[1])
        # d log-likelihood / d fine = sum_d (y_d - n_d p_d) * slope_d
        self._slope = {}
        for arm in model.arms:
            sl = model.arm_fine_slope(q.params, arm)
            p = np.exp(self._logp[arm][0].T)
            self._slope[arm] = (np.ascontiguousarray(sl.T), np.ascontiguousarray((p * sl).T))

    @property
    def size(self) -> int:
        """Number of grid nodes."""
        return self.quad.size

    def log_posterior(self, counts: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Unnormalised log posterior at the nodes, shape (T, S)."""
        out = None
        for arm, (n, y) in counts.items():
            logp, log1mp = self._logp[arm]
            n = np.asarray(n, dtype=float)
            y = np.asarray(y, dtype=float)
            term = y @ logp + (n - y) @ log1mp
            out = term if out is None else out + term
        return out + self.log_prior

    def weights(self, counts: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Normalised posterior weights at the nodes, shape (T, S)."""
        lp = self.log_posterior(counts)
        lp -= lp.max(axis=1, keepdims=True)
        np.exp(lp, out=lp)
        lp /= lp.sum(axis=1, keepdims=True)
        return lp

    def _above(
        self, w: np.ndarray, counts: Mapping[str, tuple[np.ndarray, np.ndarray]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``P(p >= lo)`` and ``P(p >= hi)`` per trial and dose of the decision arm."""
        above = [w @ f for f in self.fractions]
        # d log posterior / d fine = -fine + sum_arms sum_d (y_d - n_d p_d) slope_d
        g = np.broadcast_to(-self.quad.fine, w.shape).copy()
        for arm, (n, y) in counts.items():
            sl, psl = self._slope[arm]
            g += np.asarray(y, dtype=float) @ sl - np.asarray(n, dtype=float) @ psl
        wg = w * g
        return above[0] + wg @ self._corr[0], above[1] + wg @ self._corr[1]

    def estimate(
        self, counts: Mapping[str, tuple[np.ndarray, np.ndarray]], intervals: bool | None = None
    ) -> Estimate:
        """Posterior summaries of the decision arm for every trial.

        Parameters
        ----------
        counts : mapping arm -> (n, y)
            Patients and DLTs per dose, each of shape (T, D_arm).
        intervals : bool, optional
            Compute credible bounds (default: only for a single trial).
        """
        arms = list(counts)
        unknown = set(arms) - set(self.model.arms)
        if unknown:
            raise ValueError(
                f"grid engine: unknown arm(s) {sorted(unknown)}; model arms {self.model.arms}"
            )
        stacked = np.concatenate(
            [np.asarray(a, dtype=np.int64) for arm in arms for a in counts[arm]], axis=1
        )
        T = stacked.shape[0]
        if intervals is None:
            intervals = T == 1
        uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        widths = [np.asarray(counts[arm][0]).shape[1] for arm in arms]
        block = max(1, self.chunk // self.size)
        parts = []
        for start in range(0, uniq.shape[0], block):
            u = uniq[start : start + block]
            sub: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            col = 0
            for arm, w in zip(arms, widths, strict=True):
                sub[arm] = (u[:, col : col + w], u[:, col + w : col + 2 * w])
                col += 2 * w
            w = self.weights(sub)
            parts.append(
                self.model.summarise(
                    self.quad.params,
                    w,
                    above=self._above(w, sub),
                    intervals=intervals,
                    engine="grid",
                )
            )
        return _concat_take(parts, inverse)


def _concat_take(parts: list[Estimate], index: np.ndarray) -> Estimate:
    """Concatenate block estimates and expand unique states back to trials."""

    def cat(get: Any) -> np.ndarray | None:
        vals = [get(p) for p in parts]
        if vals[0] is None:
            return None
        return np.concatenate(vals, axis=0)[index]

    first = parts[0]
    stats = {k: cat(lambda p, k=k: p.stats[k]) for k in first.stats}
    return Estimate(
        prob_mean=cat(lambda p: p.prob_mean),
        prob_lower=cat(lambda p: p.prob_lower),
        prob_upper=cat(lambda p: p.prob_upper),
        interval=first.interval,
        stats=stats,
        engine=first.engine,
    )


_ENGINES: dict[Any, GridEngine] = {}


def grid_engine(model: GridModel, shape: tuple[int, ...]) -> GridEngine:
    """The grid engine of ``(model, shape)``, built once and reused (at most 16 kept)."""
    key = (model, tuple(shape))
    eng = _ENGINES.get(key)
    if eng is None:
        if len(_ENGINES) > 16:
            _ENGINES.clear()
        eng = _ENGINES[key] = GridEngine(model, tuple(shape))
    return eng
