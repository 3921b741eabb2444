"""Robust borrowing from the monotherapy arm: exchangeable and EXNEX combination BLRMs.

The combination BLRM (:mod:`.combo_blrm_model`) shares the escalated drug's ``(log alpha, log
beta)`` between the monotherapy and the combination arm ("full" borrowing) or ignores the
monotherapy data ("none").  Two robust models sit between these:

* **Exchangeable** (the joint / meta-analytic BLRM of Neuenschwander et al. 2016): each
  arm ``j`` has its own ``theta_j = (log alpha_j, log beta_j)``, and
  ``theta_j | mu, tau, rho ~ N(mu, Sigma)`` with
  ``Sigma = [[tau_a^2, rho tau_a tau_b], [rho tau_a tau_b, tau_b^2]]``; the hyper-mean
  ``mu`` has the monotherapy design's bivariate normal prior, the heterogeneity
  ``tau_a, tau_b`` log-normal priors (:class:`TauPrior`; default median 0.25 / 0.125,
  "moderate" heterogeneity) and ``rho`` a uniform prior on (-1, 1) (or a fixed value).
  The monotherapy data inform ``mu`` and so, shrunk by ``tau``, the combination arm.
* **EXNEX** (Neuenschwander, Wandel, Roychoudhury & Bailey 2016): the combination arm's
  ``theta`` is exchangeable with the monotherapy arm's with prior probability
  ``p_exch`` and otherwise non-exchangeable, with its own prior (default: the
  monotherapy design's prior).  The mixture indicator is summed out of the likelihood;
  the posterior EX weight is reported.

The partner (``logit p2``) and the interaction (``eta``) keep their normal priors.

Parameterisation.  Every parameter is a function of whitened coordinates ``z`` with a
standard normal prior (non-centred: ``theta_j = mu + L(tau, rho) e_j``, ``log tau_k =
log(median_k) + sd_log_k z``, ``rho = 2 Phi(z) - 1``), so one function,
:meth:`HierarchicalCombinationModel.params`, written for NumPy or PyTensor, and one
likelihood, :meth:`HierarchicalCombinationModel.log_lik`, serve both engines:

* ``grid``: importance sampling with exact weights (:func:`importance_estimate`): a
  Laplace approximation in ``z`` (one per mixture component for EXNEX) widened into a
  multivariate t, plus a defensive prior component, sampled by scrambled Sobol points;
  each estimate carries its Monte Carlo standard errors (``stats["mc_se_p_*"]``) and
  effective sample size (``stats["is_ess"]``); an ESS below :data:`IS_ESS_MIN` flags
  the result.
* ``pymc`` / ``nutpie``: NUTS on the same ``z`` and likelihood
  (:class:`HierarchicalAdapter`).

Borrowing strength (:func:`borrowing_report`): the effective sample size of the
monotherapy data in the combination arm's prior, per combination dose, by moment
matching the prior of the combination arm's P(DLT) to a beta distribution (ESS = a + b =
m (1 - m) / v - 1; Morita, Thall & Mueller 2008 discuss this approximation), with the
monotherapy data minus without them; and, for EXNEX, the posterior EX weight.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special, stats
from scipy.special import expit

from .. import checks
from .adapters import Graph, register_model
from .blrm_adapter import BLRMAdapter, CombinationAdapter, _blrm_terms
from .blrm_model import BLRMPrior, interval_estimate, interval_summary, weighted_quantiles
from .combo_blrm_model import CombinationModel, _softplus
from .estimate import Estimate

__all__ = [
    "EXNEX",
    "IS_DRAWS",
    "IS_ESS_MIN",
    "BorrowingReport",
    "Exchangeable",
    "HierarchicalAdapter",
    "HierarchicalCombinationModel",
    "TauPrior",
    "binomial_loglik",
    "borrowing_report",
    "importance_estimate",
]

#: Log-normal sd of "moderate" heterogeneity: a factor 2 on tau with 95% probability.
MODERATE_SD_LOG = float(np.log(2.0) / 1.959964)
#: Importance-sampling draws per estimate (a power of 2: scrambled Sobol points).
IS_DRAWS = 2**14
#: Smallest importance-sampling effective sample size accepted without a flag.
IS_ESS_MIN = 1000.0
FLAG_IS = "importance sampling effective sample size below {n:g}"

Counts = Mapping[str, tuple[np.ndarray, np.ndarray]]


# -- specifications --------------------------------------------------------------------
@dataclass(frozen=True)
class TauPrior:
    """Log-normal priors of the between-arm standard deviations ``tau``.

    Parameters
    ----------
    median : (float, float)
        Prior medians of ``tau`` for ``log alpha`` and ``log beta``.
    sd_log : (float, float)
        Standard deviations of ``log tau`` (default: a factor 2 with 95% probability).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.TauPrior(median=(0.25, 0.125)).median
    (0.25, 0.125)
    """

    median: tuple[float, float] = (0.25, 0.125)
    sd_log: tuple[float, float] = (MODERATE_SD_LOG, MODERATE_SD_LOG)

    def __post_init__(self) -> None:
        for name in ("median", "sd_log"):
            v = getattr(self, name)
            if np.ndim(v) == 0 and not isinstance(v, (str, bytes)):
                v = (v, v)
            object.__setattr__(self, name, checks.reals("TauPrior", f"field {name!r}", v, 2,
                                                        low=0, low_open=True))  # fmt: skip

    def spec(self) -> dict[str, Any]:
        return {"median": list(self.median), "sd_log": list(self.sd_log)}


def _check_rho(rho: Any, owner: str = "borrowing") -> float | str:
    if isinstance(rho, str):
        if rho != "uniform":
            raise ValueError(f"{owner}: rho must be 'uniform' or a number in (-1, 1), got {rho!r}")
        return rho
    return checks.real(owner, "rho", rho, low=-1, high=1, low_open=True, high_open=True)


@dataclass(frozen=True)
class Exchangeable:
    """The single-agent parameters of the two arms are exchangeable (hierarchical model).

    Parameters
    ----------
    tau_prior : TauPrior
        Priors of the between-arm standard deviations of ``log alpha`` and ``log beta``.
    rho : float or "uniform"
        Correlation of the arms' ``(log alpha, log beta)`` around ``mu``: fixed, or a
        uniform prior on (-1, 1).
    mu_prior : BLRMPrior, optional
        Prior of the hyper-mean ``mu`` (default: the monotherapy design's prior).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.Exchangeable(tau_prior=bd.TauPrior(median=(0.5, 0.25))).rho
    'uniform'
    """

    tau_prior: TauPrior = field(default_factory=TauPrior)
    rho: float | str = "uniform"
    mu_prior: BLRMPrior | None = None

    kind = "exchangeable"

    def __post_init__(self) -> None:
        if not isinstance(self.tau_prior, TauPrior):
            raise ValueError(
                f"{type(self).__name__}: tau_prior must be a TauPrior, got {type(self.tau_prior).__name__}"
            )
        if self.mu_prior is not None and not isinstance(self.mu_prior, BLRMPrior):
            raise ValueError(f"{type(self).__name__}: mu_prior must be a BLRMPrior")
        object.__setattr__(self, "rho", _check_rho(self.rho, type(self).__name__))

    def spec(self) -> dict[str, Any]:
        return {
            "borrowing": self.kind,
            "tau_prior": self.tau_prior.spec(),
            "rho": self.rho,
            "mu_prior": None if self.mu_prior is None else self.mu_prior.spec(),
        }


@dataclass(frozen=True)
class EXNEX(Exchangeable):
    """Exchangeable with prior probability ``p_exch``, else non-exchangeable (EXNEX).

    Parameters
    ----------
    p_exch : float
        Prior probability that the combination arm's single-agent parameters are exchangeable
        with the monotherapy arm's, in (0, 1).
    tau_prior, rho, mu_prior
        As in :class:`Exchangeable` (the EX component).
    nex_prior : BLRMPrior, optional
        Prior of the non-exchangeable component (default: the monotherapy design's).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.EXNEX(p_exch=0.5).p_exch
    0.5
    """

    p_exch: float = 0.5
    nex_prior: BLRMPrior | None = None

    kind = "exnex"

    def __post_init__(self) -> None:
        super().__post_init__()
        p = checks.real("EXNEX", "p_exch", self.p_exch, low=0, high=1, low_open=True,
                        high_open=True)  # fmt: skip
        object.__setattr__(self, "p_exch", p)
        if self.nex_prior is not None and not isinstance(self.nex_prior, BLRMPrior):
            raise ValueError("EXNEX: nex_prior must be a BLRMPrior")

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["p_exch"] = self.p_exch
        out["nex_prior"] = None if self.nex_prior is None else self.nex_prior.spec()
        return out


# -- the likelihood, once ----------------------------------------------------------------
def binomial_loglik(xp: Any, n: Any, y: Any, eta: Any) -> Any:
    """Binomial log likelihood (without the constant) at logits ``eta``, summed over doses
    (the last axis); ``xp`` is ``numpy`` or ``pytensor.tensor``."""
    term = -y * _softplus(xp, -eta) - (n - y) * _softplus(xp, eta)
    return term.sum(axis=-1)


def _ncdf(xp: Any, z: Any) -> Any:
    if xp is np:
        return special.ndtr(z)
    return 0.5 * (1.0 + xp.erf(z / np.sqrt(2.0)))


@dataclass(frozen=True)
class HierarchicalCombinationModel:
    """Joint model of both arms with exchangeable (or EXNEX) single-agent parameters.

    Parameters
    ----------
    combo : CombinationModel
        Doses, reference dose, target interval, partner and interaction priors.
    mu_prior : BLRMPrior
        Prior of the hyper-mean of ``(log alpha, log beta)``.
    tau_prior : TauPrior
    rho : float or None
        Fixed between-arm correlation; None: uniform prior on (-1, 1).
    p_exch : float
        Prior EX probability of the combination arm (1: exchangeable model).
    nex_prior : BLRMPrior, optional
        NEX component's prior (EXNEX only).
    """

    combo: CombinationModel
    mu_prior: BLRMPrior
    tau_prior: TauPrior
    rho: float | None = None
    p_exch: float = 1.0
    nex_prior: BLRMPrior | None = None

    arms = ("mono", "combo")
    decision_arm = "combo"

    def __post_init__(self) -> None:
        if self.p_exch < 1.0 and self.nex_prior is None:
            raise ValueError("HierarchicalCombinationModel: EXNEX needs nex_prior")

    # -- layout ---------------------------------------------------------------------
    @property
    def exnex(self) -> bool:
        return self.p_exch < 1.0

    @property
    def z_names(self) -> tuple[str, ...]:
        names = ["z_mu_b", "z_mu_a", "z_tau_a", "z_tau_b"]
        if self.rho is None:
            names.append("z_rho")
        names += ["z_mono_a", "z_mono_b", "z_combo_a", "z_combo_b", "z_partner", "z_eta"]
        if self.exnex:
            names += ["z_nex_b", "z_nex_a"]
        return tuple(names)

    @property
    def n_z(self) -> int:
        return len(self.z_names)

    @property
    def param_names(self) -> tuple[str, ...]:
        names = ("mu_log_alpha", "mu_log_beta", "tau_log_alpha", "tau_log_beta", "rho",
                 "mono_log_alpha", "mono_log_beta", "log_alpha", "log_beta",
                 "logit_partner", "eta")  # fmt: skip
        if self.exnex:
            names += ("nex_log_alpha", "nex_log_beta")
        return names

    @property
    def cuts(self) -> tuple[float, float]:
        return self.combo.cuts

    @property
    def n_doses(self) -> int:
        return self.combo.n_doses

    def arm_doses(self, arm: str) -> tuple[float, ...]:
        return self.combo.arm_doses(arm)

    # -- parameters and likelihood (NumPy or PyTensor) ---------------------------------
    def params(self, z: Any, xp: Any = np) -> dict[str, Any]:
        """Model parameters from whitened coordinates ``z[..., k]`` (order :attr:`z_names`)."""
        k = iter(range(self.n_z))
        zb, za = z[..., next(k)], z[..., next(k)]
        mu_a, mu_b = _blrm_terms(self.mu_prior, zb, za)
        (ma, mb), (sa, sb) = self.tau_prior.median, self.tau_prior.sd_log
        tau_a = xp.exp(np.log(ma) + sa * z[..., next(k)])
        tau_b = xp.exp(np.log(mb) + sb * z[..., next(k)])
        if self.rho is None:
            rho = 2.0 * _ncdf(xp, z[..., next(k)]) - 1.0
        else:
            rho = self.rho + 0.0 * tau_a
        s = xp.sqrt(1.0 - rho * rho)
        out = {"mu_log_alpha": mu_a, "mu_log_beta": mu_b, "tau_log_alpha": tau_a,
               "tau_log_beta": tau_b, "rho": rho}  # fmt: skip
        for arm in ("mono", "combo"):
            e1, e2 = z[..., next(k)], z[..., next(k)]
            pre = "mono_" if arm == "mono" else ""
            out[pre + "log_alpha"] = mu_a + tau_a * e1
            out[pre + "log_beta"] = mu_b + tau_b * (rho * e1 + s * e2)
        p2, pe = self.combo.partner_prior, self.combo.interaction_prior
        out["logit_partner"] = p2.mean + p2.sd * z[..., next(k)]
        out["eta"] = pe.mean + pe.sd * z[..., next(k)]
        if self.exnex:
            zb, za = z[..., next(k)], z[..., next(k)]
            out["nex_log_alpha"], out["nex_log_beta"] = _blrm_terms(self.nex_prior, zb, za)
        return out

    def logits(self, p: Mapping[str, Any], xp: Any = np) -> dict[str, Any]:
        """Logits per dose: ``mono``, ``combo`` (EX component) and ``combo_nex``."""
        c = self.combo
        part = {"logit_partner": p["logit_partner"], "eta": p["eta"]}
        out = {
            "mono": c.arm_logit({"log_alpha": p["mono_log_alpha"], "log_beta": p["mono_log_beta"]}, "mono", xp),
            "combo": c.arm_logit({"log_alpha": p["log_alpha"], "log_beta": p["log_beta"], **part}, "combo", xp),
        }  # fmt: skip
        if self.exnex:
            out["combo_nex"] = c.arm_logit(
                {"log_alpha": p["nex_log_alpha"], "log_beta": p["nex_log_beta"], **part}, "combo", xp
            )
        return out

    def log_lik(
        self, p: Mapping[str, Any], counts: Mapping[str, tuple[Any, Any]], xp: Any = np,
        component: str | None = None,
    ) -> tuple[Any, Any]:
        """Log likelihood of both arms and the EX responsibility of the combination arm.

        ``component``: None for the model (EXNEX: the mixture), ``"ex"`` / ``"nex"`` for
        one component alone.  Returns ``(loglik, responsibility)`` (responsibility None
        for the exchangeable model).
        """
        eta = self.logits(p, xp)
        n_m, y_m = counts["mono"]
        n_c, y_c = counts["combo"]
        ll_m = binomial_loglik(xp, n_m, y_m, eta["mono"])
        ll_ex = binomial_loglik(xp, n_c, y_c, eta["combo"])
        if not self.exnex or component == "ex":
            return ll_m + ll_ex, None
        ll_nex = binomial_loglik(xp, n_c, y_c, eta["combo_nex"])
        if component == "nex":
            return ll_m + ll_nex, None
        a = np.log(self.p_exch) + ll_ex
        b = np.log1p(-self.p_exch) + ll_nex
        mix = xp.logaddexp(a, b)
        return ll_m + mix, xp.exp(a - mix)

    # -- summaries (shared by both engines) --------------------------------------------
    def summarise_draws(
        self, p: Mapping[str, np.ndarray], w: np.ndarray, resp: np.ndarray | None,
        intervals: bool = True, engine: str = "grid",
    ) -> Estimate:
        """Estimate of one trial from weighted draws ``p`` (``w`` normalised, (S,)).

        EXNEX: each draw counts with weight ``w * resp`` in the EX component and
        ``w * (1 - resp)`` in the NEX component (the indicator summed out).
        """
        eta = self.logits(p)
        probs = [expit(eta["combo"])]
        lab = [(p["log_alpha"], p["log_beta"])]
        ws = [w if resp is None else w * resp]
        if resp is not None:
            probs.append(expit(eta["combo_nex"]))
            lab.append((p["nex_log_alpha"], p["nex_log_beta"]))
            ws.append(w * (1.0 - resp))
        prob = np.concatenate(probs)
        W = np.concatenate(ws)[None, :]
        params = {
            "log_alpha": np.concatenate([a for a, _ in lab]),
            "log_beta": np.concatenate([b for _, b in lab]),
        }
        for name in self.param_names:
            if name not in params and name in p:
                params[name] = np.concatenate([np.asarray(p[name]) * np.ones_like(w)] * len(probs))
        # the escalated drug alone at the combination doses, with the combination arm's parameters
        x_c = np.log(np.asarray(self.combo.combo_doses) / self.combo.mono.reference_dose)
        single = expit(params["log_alpha"][:, None] + np.exp(params["log_beta"])[:, None] * x_c)
        mono = expit(eta["mono"])
        extra: dict[str, np.ndarray] = {"prob_sd": np.sqrt(np.clip(W @ prob**2 - (W @ prob) ** 2, 0, None))}
        for pre, vals, ww in (("mono_", mono, w[None, :]), ("single_", single, W)):
            s = interval_summary(vals, ww, self.cuts, intervals=intervals)
            for key, val in s.items():
                extra[pre + key] = val
            q = weighted_quantiles(vals, ww, (0.025, 0.975))
            extra[pre + "q025"], extra[pre + "q975"] = q[0], q[1]
        extra["ex_weight"] = np.array([1.0 if resp is None else float(w @ resp)])
        # Monte Carlo error of the interval probabilities (per draw, the indicator summed
        # over the mixture components)
        lo, hi = self.cuts
        f_lo = (prob >= lo).astype(float)
        f_hi = (prob >= hi).astype(float)
        if resp is not None:
            S = w.size
            f_lo = resp[:, None] * f_lo[:S] + (1 - resp[:, None]) * f_lo[S:]
            f_hi = resp[:, None] * f_hi[:S] + (1 - resp[:, None]) * f_hi[S:]
        for name, f in (("under", 1.0 - f_lo), ("target", f_lo - f_hi), ("over", f_hi)):
            m = w @ f
            extra[f"mc_se_p_{name}"] = np.sqrt((w[:, None] ** 2 * (f - m) ** 2).sum(axis=0))[None, :]
        return interval_estimate(prob, W, self.cuts, params, None, intervals, engine, extra)

    def spec(self) -> dict[str, Any]:
        return {
            "model": "HierarchicalCombinationBLRM",
            "combo": self.combo.spec(),
            "mu_prior": self.mu_prior.spec(),
            "tau_prior": self.tau_prior.spec(),
            "rho": "uniform" if self.rho is None else self.rho,
            "p_exch": self.p_exch,
            "nex_prior": None if self.nex_prior is None else self.nex_prior.spec(),
        }


# -- importance sampling with exact weights ----------------------------------------------
def _num_grad(f: Any, z: np.ndarray, h: float = 1e-5) -> np.ndarray:
    K = z.size
    E = np.eye(K) * h
    v = f(np.vstack([z + E, z - E]))
    return (v[:K] - v[K:]) / (2 * h)


def _num_hess(f: Any, z: np.ndarray, h: float = 1e-3, g: float = 1e-5) -> np.ndarray:
    K = z.size
    E = np.eye(K)
    pts = np.vstack([z + h * E, z - h * E])  # (2K, K)
    Eg = E * g
    batch = np.concatenate([pts[:, None, :] + Eg[None], pts[:, None, :] - Eg[None]], axis=1)
    v = f(batch.reshape(-1, K)).reshape(2 * K, 2 * K)
    grads = (v[:, :K] - v[:, K:]) / (2 * g)
    H = (grads[:K] - grads[K:]) / (2 * h)
    return 0.5 * (H + H.T)


def _laplace(neg_logpost: Any, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Mode and covariance (inverse Hessian, eigenvalues clipped) of a posterior in z."""
    res = optimize.minimize(
        lambda z: float(neg_logpost(z[None])[0]), np.zeros(K),
        jac=lambda z: _num_grad(neg_logpost, z), method="BFGS", options={"gtol": 1e-6},
    )  # fmt: skip
    H = _num_hess(neg_logpost, res.x)
    vals, vecs = np.linalg.eigh(H)
    vals = np.clip(vals, 0.05, None)  # never wider than ~4.5 prior sds
    return res.x, (vecs / vals) @ vecs.T


class _Mixture:
    """A mixture of multivariate t proposals, sampled from scrambled Sobol points."""

    DF = 6.0
    SCALE = 1.2

    def __init__(self, comps: list[tuple[float, np.ndarray, np.ndarray]]) -> None:
        w = np.array([c[0] for c in comps])
        self.w = w / w.sum()
        self.means = [c[1] for c in comps]
        self.covs = [c[2] * self.SCALE**2 for c in comps]

    def sample(self, n: int, seed: int) -> np.ndarray:
        K = self.means[0].size
        u = stats.qmc.Sobol(K + 2, scramble=True, seed=seed).random(n)
        u = np.clip(u, 1e-12, 1 - 1e-12)
        z = special.ndtri(u[:, :K])
        g = stats.chi2.ppf(u[:, K], self.DF) / self.DF
        pick = np.searchsorted(np.cumsum(self.w), u[:, K + 1], side="right")
        pick = np.minimum(pick, len(self.w) - 1)
        out = np.empty_like(z)
        for j, (m, c) in enumerate(zip(self.means, self.covs, strict=True)):
            sel = pick == j
            L = np.linalg.cholesky(c)
            out[sel] = m + (z[sel] @ L.T) / np.sqrt(g[sel])[:, None]
        return out

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        parts = [
            np.log(w) + stats.multivariate_t(loc=m, shape=c, df=self.DF).logpdf(x)
            for w, m, c in zip(self.w, self.means, self.covs, strict=True)
        ]
        return special.logsumexp(np.stack(parts), axis=0)


def _one_state(
    model: HierarchicalCombinationModel, counts: Counts, n_draws: int, seed: int,
    intervals: bool,
) -> Estimate:
    K = model.n_z

    def neg(component: str | None) -> Any:
        def f(Z: np.ndarray) -> np.ndarray:
            ll, _ = model.log_lik(model.params(Z), counts, np, component)
            return 0.5 * (Z * Z).sum(axis=1) - ll

        return f

    comps: list[tuple[float, np.ndarray, np.ndarray]] = []
    if model.exnex:
        for c in ("ex", "nex"):
            m, C = _laplace(neg(c), K)
            comps.append((0.45, m, C))
    else:
        m, C = _laplace(neg(None), K)
        comps.append((0.9, m, C))
    comps.append((0.1, np.zeros(K), np.eye(K)))  # defensive: the prior, widened
    q = _Mixture(comps)
    Z = q.sample(n_draws, seed)
    p = model.params(Z)
    with np.errstate(over="ignore", invalid="ignore"):
        ll, resp = model.log_lik(p, counts, np)
    lw = -0.5 * (Z * Z).sum(axis=1) + ll - q.logpdf(Z)
    # draws far in the proposal's tails whose likelihood under- or overflows (log beta in
    # the hundreds) have no posterior mass: leave them out, and count them
    keep = np.isfinite(lw)
    if not keep.all():
        Z, lw = Z[keep], lw[keep]
        p = model.params(Z)
        ll, resp = model.log_lik(p, counts, np)
    lw -= lw.max()
    w = np.exp(lw)
    w /= w.sum()
    est = model.summarise_draws(p, w, resp, intervals=intervals, engine="grid")
    ess = 1.0 / float((w * w).sum())
    st = dict(est.stats)
    st["is_ess"] = np.array([ess])
    st["is_dropped"] = np.array([int(n_draws - keep.sum())])
    st["grid_flag"] = np.array([ess < IS_ESS_MIN])
    return Estimate(
        prob_mean=est.prob_mean, prob_lower=est.prob_lower, prob_upper=est.prob_upper,
        interval=est.interval, stats=st, engine="grid",
    )  # fmt: skip


def importance_estimate(
    model: HierarchicalCombinationModel,
    counts: Counts,
    n_draws: int = IS_DRAWS,
    seed: int = 20261206,
    intervals: bool | None = None,
) -> Estimate:
    """Posterior summaries of the combination arm by importance sampling, per trial.

    Parameters
    ----------
    model : HierarchicalCombinationModel
    counts : mapping arm -> (n, y)
        Patients and DLTs per dose of ``"mono"`` and ``"combo"``, shape (T, D_arm) or
        (D_arm,) (a missing arm counts as no patients).
    n_draws : int
        Draws per trial (scrambled Sobol points; a power of 2 is best).
    seed : int
        Scrambling seed: equal inputs give equal results.
    intervals : bool, optional
        90% credible bounds (default: for a single trial).

    Returns
    -------
    Estimate
        With ``stats`` ``is_ess``, ``mc_se_p_under`` / ``_target`` / ``_over``,
        ``ex_weight`` (EXNEX posterior EX probability; 1 for the exchangeable model),
        ``mono_*`` (monotherapy arm) and ``single_*`` (the escalated drug alone at the
        combination doses, with the combination arm's parameters), each with the 95%
        bounds ``*_q025`` / ``*_q975``; ``is_dropped``: draws whose likelihood under- or
        overflowed (no posterior mass), left out.
    """
    full: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    T = 1
    for arm in model.arms:
        if arm in counts:
            n, y = (np.atleast_2d(np.asarray(a, dtype=np.int64)) for a in counts[arm])
            T = max(T, n.shape[0])
    for arm in model.arms:
        D = len(model.arm_doses(arm))
        if arm in counts:
            n, y = (np.atleast_2d(np.asarray(a, dtype=np.int64)) for a in counts[arm])
            if n.shape[1] != D:
                raise ValueError(f"borrowing: arm {arm!r} has {n.shape[1]} doses, model {D}")
            n, y = np.broadcast_to(n, (T, D)), np.broadcast_to(y, (T, D))
        else:
            n = y = np.zeros((T, D), dtype=np.int64)
        full[arm] = (n, y)
    if intervals is None:
        intervals = T == 1
    stacked = np.concatenate([a for arm in model.arms for a in full[arm]], axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ests = []
    for row in uniq:
        col, sub = 0, {}
        for arm in model.arms:
            D = len(model.arm_doses(arm))
            sub[arm] = (row[col : col + D].astype(float), row[col + D : col + 2 * D].astype(float))
            col += 2 * D
        ests.append(_one_state(model, sub, int(n_draws), int(seed), bool(intervals)))

    def cat(get: Any) -> np.ndarray | None:
        vals = [get(e) for e in ests]
        if vals[0] is None:
            return None
        return np.concatenate(vals, axis=0)[inverse]

    st = {k: cat(lambda e, k=k: e.stats[k]) for k in ests[0].stats}
    flag = np.asarray(st["grid_flag"])
    msgs = (FLAG_IS.format(n=IS_ESS_MIN),) if flag.any() else ()
    return Estimate(
        prob_mean=cat(lambda e: e.prob_mean), prob_lower=cat(lambda e: e.prob_lower),
        prob_upper=cat(lambda e: e.prob_upper), interval=0.9, stats=st, engine="grid",
        grid_flags=msgs,
    )  # fmt: skip


# -- engines -------------------------------------------------------------------------------
class HierarchicalAdapter(BLRMAdapter):
    """Engines for :class:`HierarchicalCombinationModel` (see the module docstring)."""

    def grid(self, model: Any, evidence: Counts, *, resolution: Any = None, **options: Any) -> Estimate:
        intervals = options.pop("intervals", None)
        n_draws = options.pop("is_draws", IS_DRAWS)
        seed = options.pop("is_seed", 20261206)
        if options:
            raise TypeError(f"grid engine: unexpected arguments {sorted(options)}")
        return importance_estimate(model, evidence, n_draws=n_draws, seed=seed, intervals=intervals)

    def constants(self, model: Any) -> None:
        return None

    def key(self, model: Any, shared: bool = False) -> Hashable:
        return ("hierarchical", model)

    def graph(self, model: Any, shared: bool = False) -> Graph:
        import pymc as pm
        import pytensor.tensor as pt

        with pm.Model() as pm_model:
            data = {}
            for arm in model.arms:
                D = len(model.arm_doses(arm))
                data[arm] = (pm.Data(f"n_{arm}", np.zeros(D)), pm.Data(f"y_{arm}", np.zeros(D)))
            z = pm.Normal("z", 0.0, 1.0, shape=model.n_z)
            ll, resp = model.log_lik(model.params(z, pt), data, pt)
            pm.Potential("loglik", ll)
            # a fixed correlation is a constant, not a sampled variable (no R-hat)
            names = tuple(n for n in model.param_names if n != "rho" or model.rho is None)
            if resp is not None:
                pm.Deterministic("ex_resp", resp)
                names += ("ex_resp",)
        return Graph(pm_model, names)

    def derive(self, model: Any, posterior: Any) -> dict[str, np.ndarray]:
        z = np.asarray(posterior["z"].values)
        return {k: np.asarray(v) for k, v in model.params(z).items()}

    def summarise(self, model: Any, draws: Mapping[str, np.ndarray], **options: Any) -> Estimate:
        S = next(iter(draws.values())).shape[0]
        w = np.full(S, 1.0 / S)
        resp = draws.get("ex_resp") if model.exnex else None
        return model.summarise_draws(dict(draws), w, resp, intervals=True, engine="mcmc")


register_model(HierarchicalCombinationModel, HierarchicalAdapter())


# -- borrowing strength ------------------------------------------------------------------
@dataclass(frozen=True)
class BorrowingReport:
    """How much the combination arm borrows from the monotherapy arm.

    Attributes
    ----------
    method : str
        ``"full"``, ``"none"``, ``"exchangeable"`` or ``"exnex"``.
    ess : ndarray, shape (D,)
        Effective sample size (patients) of the monotherapy data in the combination
        arm's prior, per combination dose: the moment-matched beta ESS of the prior of
        the combination arm's P(DLT) given the monotherapy data, minus the same without
        them (0 without borrowing).
    ex_weight : float or None
        EXNEX: posterior probability that the combination arm is exchangeable with the
        monotherapy arm (prior ``p_exch``); 1 for full pooling and the exchangeable
        model; None without borrowing.
    p_exch : float or None
        EXNEX prior EX weight.
    ess_method : str
        How ``ess`` is computed.
    """

    method: str
    ess: np.ndarray
    ex_weight: float | None
    p_exch: float | None = None
    ess_method: str = (
        "moment-matched beta per combination dose: ESS = m(1-m)/v - 1 of the combination "
        "arm's prior P(DLT), with the monotherapy data minus without them"
    )

    def sentence(self) -> str:
        """One line for reports."""
        if self.method == "none":
            return "no borrowing from the monotherapy arm"
        ess = ", ".join(f"{e:.1f}" for e in self.ess)
        out = f"borrowing '{self.method}': ESS of the monotherapy data per combination dose {ess}"
        if self.p_exch is not None and self.ex_weight is not None:
            out += f"; posterior EX weight {self.ex_weight:.3f} (prior {self.p_exch:g})"
        return out


def _beta_ess(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    v = np.maximum(np.asarray(sd, dtype=float) ** 2, 1e-300)
    m = np.asarray(mean, dtype=float)
    return np.maximum(m * (1 - m) / v - 1.0, 0.0)


def _full_moments(model: CombinationModel, mono: tuple[np.ndarray, np.ndarray] | None,
                  n_draws: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and sd of the combination arm's P(DLT) under full pooling given the
    monotherapy counts (importance sampling from the prior, exact weights)."""
    ad = CombinationAdapter()
    u = stats.qmc.Sobol(4, scramble=True, seed=seed).random(n_draws * 4)
    z = special.ndtri(np.clip(u, 1e-12, 1 - 1e-12))
    p = ad.params(model, z)
    w = np.ones(z.shape[0])
    if mono is not None:
        eta = model.arm_logit(p, "mono")
        ll = binomial_loglik(np, np.asarray(mono[0], float), np.asarray(mono[1], float), eta)
        w = np.exp(ll - ll.max())
    w /= w.sum()
    prob = model.prob(p, "combo")
    m = w @ prob
    return m, np.sqrt(np.clip(w @ prob**2 - m**2, 0, None))


def borrowing_report(
    method: str,
    model: Any,
    mono_counts: tuple[np.ndarray, np.ndarray] | None,
    estimate: Estimate | None = None,
    n_draws: int = 2**12,
) -> BorrowingReport:
    """Borrowing strength of a combination model given the monotherapy counts.

    Parameters
    ----------
    method : str
        ``"full"``, ``"none"``, ``"exchangeable"`` or ``"exnex"``.
    model : CombinationModel or HierarchicalCombinationModel
    mono_counts : (n, y) per monotherapy dose, optional
    estimate : Estimate, optional
        The fit's posterior (EXNEX: its ``ex_weight``).
    n_draws : int
        Importance-sampling draws for the prior moments.
    """
    if method == "none" or mono_counts is None:
        D = model.n_doses
        return BorrowingReport("none" if method == "none" else method, np.zeros(D), None)
    n, y = (np.asarray(a, dtype=float).reshape(-1) for a in mono_counts)
    if isinstance(model, HierarchicalCombinationModel):
        zero_c = np.zeros(model.n_doses)
        with_m = importance_estimate(model, {"mono": (n, y), "combo": (zero_c, zero_c)}, n_draws)
        without = importance_estimate(
            model, {"mono": (0 * n, 0 * y), "combo": (zero_c, zero_c)}, n_draws
        )
        ess = _beta_ess(with_m.prob_mean[0], with_m.stats["prob_sd"][0]) - _beta_ess(
            without.prob_mean[0], without.stats["prob_sd"][0]
        )
        exw = None if estimate is None else float(np.asarray(estimate.stats["ex_weight"])[0])
        return BorrowingReport(method, ess, exw, model.p_exch if model.exnex else None)
    m1, s1 = _full_moments(model, (n, y), n_draws, 1)
    m0, s0 = _full_moments(model, None, n_draws, 1)
    return BorrowingReport(method, _beta_ess(m1, s1) - _beta_ess(m0, s0), 1.0)
