"""The one-parameter CRM model (O'Quigley, Pepe & Fisher 1990; Cheung's dfcrm), shared by
every engine.

``CRMModel`` is a specification (skeleton, link, prior).  It gives the dose-toxicity
curve, the log-likelihood and log-prior in NumPy, and :meth:`CRMModel.summarise`, which
turns *weighted values of the parameter* into an :class:`Estimate`.  The exact engine
(:mod:`.crm_grid`) calls it with quadrature nodes and posterior weights; the PyMC engine
calls it with MCMC draws and equal weights.  Both therefore report the same quantities,
computed the same way.

Links (``beta`` ~ Normal(0, ``prior_sd``²)):

* ``"empiric"``: ``p_i = s_i ** exp(beta)``;
* ``"logistic"``: ``logit p_i = intercept + exp(beta) * x_i`` with
  ``x_i = logit(s_i) - intercept`` (so ``beta = 0`` reproduces the skeleton ``s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logit

from ..deprecation import deprecated_property, renamed_kwargs
from .estimate import Estimate

__all__ = ["CRMModel"]

#: The CRM's dose-toxicity links (``MODELS``: the old name).
LINKS = ("empiric", "logistic")
MODELS = LINKS


@dataclass(frozen=True)
class CRMModel:
    """One-parameter CRM dose-toxicity model with a normal prior on ``beta``.

    Parameters
    ----------
    skeleton : tuple of float
        Prior guesses of the DLT probability per dose, strictly increasing in (0, 1).
    link : {"empiric", "logistic"}
        Dose-toxicity link (dfcrm's ``model``; ``model`` is the deprecated alias of this
        field).
    prior_sd : float
        Standard deviation of the normal prior of ``beta`` (dfcrm: ``scale = sqrt(1.34)``).
    intercept : float
        Fixed intercept of the logistic model (dfcrm's ``intcpt``).

    Examples
    --------
    >>> from bayes_dose.inference.crm_model import CRMModel
    >>> m = CRMModel((0.05, 0.1, 0.2), "empiric")
    >>> m.prob(0.0)
    array([0.05, 0.1 , 0.2 ])
    """

    skeleton: tuple[float, ...]
    link: str = "empiric"
    prior_sd: float = 1.34**0.5
    intercept: float = 3.0

    def __post_init__(self) -> None:
        s = np.asarray(self.skeleton, dtype=float)
        object.__setattr__(self, "skeleton", tuple(float(v) for v in s))
        object.__setattr__(self, "prior_sd", float(self.prior_sd))
        object.__setattr__(self, "intercept", float(self.intercept))
        if s.ndim != 1 or s.size < 1:
            raise ValueError("CRMModel: skeleton must be a non-empty sequence of probabilities")
        if np.any(~np.isfinite(s)) or np.any(s <= 0) or np.any(s >= 1):
            bad = int(np.argmax(~np.isfinite(s) | (s <= 0) | (s >= 1)))
            raise ValueError(f"CRMModel: skeleton[{bad}] = {s[bad]} is not in (0, 1)")
        if np.any(np.diff(s) <= 0):
            bad = int(np.argmax(np.diff(s) <= 0)) + 1
            raise ValueError(f"CRMModel: skeleton must increase strictly (entry {bad})")
        if self.link not in LINKS:
            raise ValueError(
                f"CRMModel: link (the dose-toxicity model) must be one of {LINKS}, "
                f"got {self.link!r}"
            )
        if not self.prior_sd > 0:
            raise ValueError(f"CRMModel: prior_sd must be > 0, got {self.prior_sd}")
        if self.link == "logistic" and np.any(self.x >= 0):
            raise ValueError(
                f"CRMModel: intercept {self.intercept} is too small for the logistic model: "
                "logit(skeleton) - intercept must be < 0 at every dose"
            )

    #: Deprecated alias of :attr:`link` (a model's ``model`` would be itself).
    model = deprecated_property("model", "link")

    @property
    def n_doses(self) -> int:
        return len(self.skeleton)

    @property
    def x(self) -> np.ndarray:
        """Scaled doses: the skeleton (empiric) or ``logit(skeleton) - intercept``."""
        s = np.asarray(self.skeleton)
        return s if self.link == "empiric" else logit(s) - self.intercept

    def prob(self, beta: Any) -> np.ndarray:
        """DLT probability per dose at ``beta``: shape ``beta.shape + (D,)``.

        Decreasing in ``beta`` at every dose (both models).
        """
        b = np.exp(np.asarray(beta, dtype=float))[..., None]
        if self.link == "empiric":
            return np.asarray(self.skeleton) ** b
        return expit(self.intercept + b * self.x)

    def beta_at(self, prob: float) -> np.ndarray:
        """Per dose, the ``beta`` at which that dose's DLT probability equals ``prob``
        (``-inf`` if no ``beta`` reaches it: the logistic curve stays below
        ``expit(intercept)``).  ``p_d > prob`` iff ``beta < beta_at(prob)[d]``."""
        if self.link == "empiric":
            return np.log(np.log(prob) / np.log(np.asarray(self.skeleton)))
        r = (logit(prob) - self.intercept) / self.x
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r > 0, np.log(np.where(r > 0, r, 1.0)), -np.inf)

    def log_prob(self, beta: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(log p, log(1 - p))`` per dose at ``beta`` (numerically stable)."""
        b = np.exp(np.asarray(beta, dtype=float))[..., None]
        if self.link == "empiric":
            lp = b * np.log(np.asarray(self.skeleton))
            return lp, np.log(-np.expm1(lp))
        eta = self.intercept + b * self.x
        return -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)

    def log_prior(self, beta: Any) -> np.ndarray:
        """Normal log-density of ``beta`` up to a constant."""
        return -0.5 * (np.asarray(beta, dtype=float) / self.prior_sd) ** 2

    def loglik_counts(self, beta: np.ndarray, n: np.ndarray, dlt: np.ndarray) -> np.ndarray:
        """Binomial log-likelihood (no constant) of counts ``n, dlt`` (T, D) at every value of
        a 1-D ``beta`` (G,): shape (T, G)."""
        lp, lq = self.log_prob(beta)  # (G, D)
        y = np.asarray(dlt, dtype=float)
        a = np.concatenate([y, np.asarray(n, dtype=float) - y], axis=1)  # (T, 2D)
        b = np.concatenate([lp, lq], axis=1)  # (G, 2D)
        # einsum for every block size: a row's bits do not depend on its block (a BLAS
        # product, or switching between the two by block size, made them depend on it)
        return np.einsum("tk,gk->tg", a, b, optimize=False)

    def loglik_weighted(
        self, beta: np.ndarray, dose: np.ndarray, dlt: np.ndarray, weight: np.ndarray
    ) -> np.ndarray:
        """TITE log-likelihood (Cheung & Chappell 2000) at every value of a 1-D ``beta``.

        A patient contributes ``log p`` with a DLT and ``log(1 - w p)`` without, ``w`` the
        follow-up weight.  ``dose`` (T, P) are 0-based dose indices (``-1`` padding).
        Returns shape (T, G).
        """
        p = self.prob(beta)  # (G, D)
        lp = self.log_prob(beta)[0]
        dose = np.asarray(dose)
        valid = dose >= 0
        idx = np.where(valid, dose, 0)
        y = (np.asarray(dlt) == 1) & valid
        w = np.where(valid & ~y, np.asarray(weight, dtype=float), 0.0)
        T = dose.shape[0]
        out = np.empty((T, len(beta)))
        # Chunk over trials so the (T, P, G) intermediate stays small.
        step = max(1, int(2e7 // max(1, dose.shape[1] * len(beta))))
        for a in range(0, T, step):
            sl = slice(a, a + step)
            pg = p.T[idx[sl]]  # (t, P, G)
            term = np.where(y[sl][..., None], lp.T[idx[sl]], np.log1p(-w[sl][..., None] * pg))
            out[sl] = np.where(valid[sl][..., None], term, 0.0).sum(axis=1)
        return out

    # -- from weighted parameter values to an Estimate -------------------------------------
    def summarise(
        self,
        beta_values: np.ndarray,
        weights: np.ndarray | None,
        target: float,
        interval: float = 0.9,
        engine: str = "grid",
        decision_only: bool = False,
        **extra: Any,
    ) -> Estimate:
        """Summarise a (weighted) sample of ``beta`` for ``T`` trials as an :class:`Estimate`.

        Parameters
        ----------
        beta_values : ndarray, shape (K,) or (T, K)
            Values of ``beta``: quadrature nodes (shared by all trials when 1-D) or MCMC
            draws (one row per trial).
        weights : ndarray, shape (K,) or (T, K), optional
            Non-negative weights (normalised here per trial); ``None`` = equal weights
            (MCMC draws).
        target : float
            Target DLT rate (for ``p_over``).
        interval : float
            Mass of the central credible interval of each dose's DLT probability.
        engine : str
            Recorded in ``Estimate.engine``.
        decision_only : bool
            Only what a CRM decision reads: ``prob_mean``, ``beta_mean``, ``beta_var``,
            ``prob_plugin`` (the same numbers, bit for bit); no interval and no
            ``p_over`` (``prob_lower``/``prob_upper`` are None).
        **extra
            Passed to :class:`Estimate` (e.g. ``posterior``, ``diagnostics``).

        Returns
        -------
        Estimate
            ``prob_mean`` (T, D): posterior mean DLT probability per dose;
            ``prob_lower``/``prob_upper``: equal-tailed ``interval`` credible bounds (since
            ``p`` decreases in ``beta``, they are the curve at the upper/lower quantiles of
            ``beta``; weighted quantiles interpolate the mid-point CDF, i.e. Hazen
            quantiles for equal weights); ``stats``:

            * ``beta_mean``, ``beta_var`` (T,): posterior mean and variance of ``beta``;
            * ``prob_plugin`` (T, D): the curve at ``beta_mean`` (dfcrm's ``ptox``);
            * ``p_over`` (T, D): posterior P(p > target) per dose, i.e. P(beta < b_d) with
              ``b_d`` from :meth:`beta_at`, read off the same interpolated CDF as the
              quantiles (for MCMC draws it differs from the raw fraction by < 1/K).

        Notes
        -----
        The exact engine passes its quadrature nodes (1-D) and unnormalised posterior
        weights (T, K).  An MCMC engine passes draws of ``beta`` for one data set as
        ``draws[None, :]`` (or 1-D) with ``weights=None`` and ``engine="pymc"``, plus
        ``posterior=`` / ``diagnostics=`` through ``**extra``.

        Examples
        --------
        >>> import numpy as np
        >>> from bayes_dose.inference.crm_model import CRMModel
        >>> m = CRMModel((0.1, 0.2, 0.3))
        >>> est = m.summarise(np.array([-0.1, 0.0, 0.1]), None, target=0.2)
        >>> est.stats["beta_mean"], est.stats["prob_plugin"].round(3)
        (array([0.]), array([[0.1, 0.2, 0.3]]))
        """
        vals = np.atleast_2d(np.asarray(beta_values, dtype=float))
        if weights is None:
            w = np.ones_like(vals)
        else:
            w = np.atleast_2d(np.asarray(weights, dtype=float))
        T = max(vals.shape[0], w.shape[0])
        K = vals.shape[1]
        if w.shape[1] != K:
            raise ValueError(
                f"summarise: beta_values has {K} values per trial, weights {w.shape[1]}"
            )
        if np.any(w < 0) or np.any(~np.isfinite(w)):
            raise ValueError("summarise: weights must be finite and non-negative")
        if not 0 < interval < 1:
            raise ValueError(f"summarise: interval must be in (0, 1), got {interval}")
        w = np.broadcast_to(w / w.sum(axis=1, keepdims=True), (T, K))
        shared = vals.shape[0] == 1
        if shared:
            prob_mean = curve_mean(w, self.prob(vals[0]))  # (K, D) curve
        else:
            prob_mean = np.einsum("tk,tkd->td", w, self.prob(vals))  # (T, K, D)
        mean = (w * np.broadcast_to(vals, (T, K))).sum(axis=1)
        var = (w * (np.broadcast_to(vals, (T, K)) - mean[:, None]) ** 2).sum(axis=1)
        if decision_only:
            return Estimate(
                prob_mean=prob_mean, interval=float(interval),
                stats={"beta_mean": mean, "beta_var": var, "prob_plugin": self.prob(mean)},
                engine=engine, **extra,
            )  # fmt: skip
        if shared:
            order = np.argsort(vals[0], kind="stable")
            vs = np.broadcast_to(vals[0, order], (T, K))
            ws = w if np.all(order == np.arange(K)) else w[:, order]
        else:
            order = np.argsort(vals, axis=1, kind="stable")
            vs = np.take_along_axis(vals, order, axis=1)
            ws = np.take_along_axis(np.broadcast_to(w, vals.shape), order, axis=1)
        c = np.cumsum(ws, axis=1) - ws / 2
        p_over = _weighted_cdf(vs, c, self.beta_at(target), shared)
        alpha = (1 - interval) / 2
        b_lo = _weighted_quantile(vs, c, alpha)
        b_hi = _weighted_quantile(vs, c, 1 - alpha)
        return Estimate(
            prob_mean=prob_mean,
            prob_lower=self.prob(b_hi),
            prob_upper=self.prob(b_lo),
            interval=float(interval),
            stats={
                "beta_mean": mean,
                "beta_var": var,
                "prob_plugin": self.prob(mean),
                "p_over": p_over,
            },
            engine=engine,
            **extra,
        )

    def spec(self) -> dict[str, Any]:
        """JSON-able description."""
        return {
            "model": "CRM",
            "skeleton": list(self.skeleton),
            "link": self.link,
            "prior_sd": self.prior_sd,
            "intercept": self.intercept,
        }


def curve_mean(w: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Posterior mean curve ``w @ prob`` (weights (T, G), curve at the nodes (G, D)), by
    ``einsum``: every row's bits are the same whatever the other rows of its block.  A BLAS
    product rounds the rows of a block's edge tiles differently on some CPUs (AVX-512
    OpenBLAS kernels), which made a trial's posterior depend on its chunk."""
    return np.einsum("tg,dg->td", w, np.ascontiguousarray(np.transpose(prob)), optimize=False)


def _weighted_quantile(vs: np.ndarray, c: np.ndarray, q: float) -> np.ndarray:
    """Row-wise ``q`` quantile of sorted values ``vs`` (T, K) given their mid-point CDF
    ``c = cumsum(w) - w/2`` (normalised weights): linear interpolation, clamped."""
    k = (c < q).sum(axis=1)
    K = vs.shape[1]
    hi = np.clip(k, 0, K - 1)
    lo = np.clip(k - 1, 0, K - 1)
    rows = np.arange(vs.shape[0])
    c_lo, c_hi = c[rows, lo], c[rows, hi]
    v_lo, v_hi = vs[rows, lo], vs[rows, hi]
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(c_hi > c_lo, (q - c_lo) / (c_hi - c_lo), 0.0)
    return v_lo + np.clip(f, 0, 1) * (v_hi - v_lo)


def _weighted_cdf(vs: np.ndarray, c: np.ndarray, x: np.ndarray, shared: bool) -> np.ndarray:
    """Row-wise interpolated mid-point CDF ``c`` (as in :func:`_weighted_quantile`) of
    sorted values ``vs`` (T, K) at points ``x`` (D,): shape (T, D).  ``shared``: all rows
    of ``vs`` are equal (one grid)."""
    T, K = vs.shape
    x = np.asarray(x, dtype=float)
    if shared:
        k = np.broadcast_to(np.searchsorted(vs[0], x), (T, len(x)))
    else:
        k = np.stack([np.searchsorted(vs[t], x) for t in range(T)])
    x = np.broadcast_to(x, (T, len(x)))
    hi = np.clip(k, 0, K - 1)
    lo = np.clip(k - 1, 0, K - 1)
    v_lo, v_hi = np.take_along_axis(vs, lo, 1), np.take_along_axis(vs, hi, 1)
    c_lo, c_hi = np.take_along_axis(c, lo, 1), np.take_along_axis(c, hi, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(v_hi > v_lo, (x - v_lo) / (v_hi - v_lo), 0.0)
    out = c_lo + np.clip(f, 0, 1) * (c_hi - c_lo)
    return np.where(k == 0, 0.0, np.where(k == K, 1.0, out))


CRMModel.__init__ = renamed_kwargs(model="link")(CRMModel.__init__)  # type: ignore[method-assign]
