"""Bayesian hierarchical model of response rates across tumour cohorts (basket trials).

Cohort ``j`` has ``y_j`` responders of ``n_j``; ``theta_j = logit(p_j)``.

* ``model="exchangeable"``: ``theta_j ~ N(mu, tau^2)``, ``mu ~ N(mu_mean, mu_sd^2)``,
  ``tau ~ HalfNormal(tau_scale)``.
* ``model="exnex"`` (Neuenschwander et al. 2016, Pharm Stat 15:123-134): with prior
  probability ``p_ex`` cohort ``j`` is exchangeable (the distribution above), otherwise
  non-exchangeable with its own prior ``theta_j ~ N(nex_mean, nex_sd^2)``.

Two engines give the same posterior: ``engine="grid"`` (exact up to the grid: ``mu`` and
``theta`` share one uniform logit grid, ``tau`` a grid dense near 0; each cohort's
``theta_j`` is integrated out on the grid) and ``engine="pymc"`` (NUTS, non-centred; the
EXNEX mixture is marginalised in the likelihood and each cohort's membership drawn after).
The shrinkage is shown by :meth:`HierarchicalFit.table` (raw vs posterior ORR per cohort)
and :func:`bayes_dose.plots.plot_shrinkage`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

__all__ = ["HierarchicalFit", "HierarchicalPrior", "hierarchical_orr"]


@dataclass(frozen=True)
class HierarchicalPrior:
    """Priors of the hierarchical model (logit scale).

    Defaults: ``mu ~ N(logit 0.2, 2^2)``, ``tau ~ HalfNormal(1)`` (moderate heterogeneity),
    NEX ``theta_j ~ N(logit 0.2, 2^2)`` (about one patient's worth of information), prior
    probability of exchangeability ``p_ex = 0.5`` per cohort.
    """

    mu_mean: float = float(special.logit(0.2))
    mu_sd: float = 2.0
    tau_scale: float = 1.0
    nex_mean: float = float(special.logit(0.2))
    nex_sd: float = 2.0
    p_ex: float = 0.5

    def __post_init__(self) -> None:
        for k in ("mu_sd", "tau_scale", "nex_sd"):
            v = getattr(self, k)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"HierarchicalPrior.{k} must be positive, got {v}")
        if not 0.0 <= self.p_ex <= 1.0:
            raise ValueError(f"HierarchicalPrior.p_ex must be in [0, 1], got {self.p_ex}")


@dataclass
class HierarchicalFit:
    """Posterior of the hierarchical model: per-cohort ORR, heterogeneity, diagnostics."""

    cohorts: tuple[str, ...]
    n: np.ndarray
    y: np.ndarray
    model: str
    engine: str
    prior: HierarchicalPrior
    post_mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    prob_ex: np.ndarray
    tau_mean: float
    pooled_mean: float
    conf_level: float
    diagnostics: dict[str, Any] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Raw vs posterior ORR per cohort (the shrinkage).

        Columns: ``cohort``, ``n``, ``responders``, ``raw_orr``, ``post_mean``, ``lower``,
        ``upper`` (equal-tailed credible interval), ``prob_ex`` (posterior probability the
        cohort is exchangeable; 1 in the exchangeable model), ``shrinkage`` (fraction of
        the way from the raw ORR to the pooled posterior mean, 0 = none, 1 = complete;
        NaN when the raw ORR equals the pooled mean).
        """
        raw = self.y / self.n
        den = raw - self.pooled_mean
        with np.errstate(invalid="ignore", divide="ignore"):
            shrink = np.where(np.abs(den) > 1e-9, (raw - self.post_mean) / den, np.nan)
        return pd.DataFrame(
            {"cohort": list(self.cohorts), "n": self.n, "responders": self.y, "raw_orr": raw,
             "post_mean": self.post_mean, "lower": self.lower, "upper": self.upper,
             "prob_ex": self.prob_ex, "shrinkage": shrink}
        )  # fmt: skip

    def summary(self) -> str:
        """One sentence: model, engine and how much the cohorts borrow."""
        return (
            f"{self.model} model ({self.engine} engine) over {len(self.cohorts)} cohorts: "
            f"posterior mean tau {self.tau_mean:.2f} on the logit scale; pooled ORR "
            f"{self.pooled_mean:.3f}; prior {asdict(self.prior)}"
        )


def _counts(data: pd.DataFrame | Sequence, cohort: str) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    if isinstance(data, pd.DataFrame):
        if "bor" in data.columns:  # one row per subject
            from .response import orr

            data = orr(data, by=[cohort])
        need = [cohort, "n", "responders"]
        miss = [c for c in need if c not in data.columns]
        if miss:
            raise ValueError(f"hierarchical_orr: missing column(s) {miss}")
        names = tuple(str(v) for v in data[cohort])
        n = data["n"].to_numpy()
        y = data["responders"].to_numpy()
    else:
        names = tuple(str(r[0]) for r in data)
        n = np.array([r[1] for r in data])
        y = np.array([r[2] for r in data])
    if len(names) < 2:
        raise ValueError("hierarchical_orr: need at least 2 cohorts to borrow between")
    if len(set(names)) != len(names):
        raise ValueError(f"hierarchical_orr: cohort names repeat: {names}")
    for nm, nn, yy in zip(names, n, y, strict=True):
        if not (float(nn) == int(nn) and float(yy) == int(yy) and 0 <= yy <= nn and nn >= 1):
            raise ValueError(f"hierarchical_orr: cohort {nm!r}: need whole 0 <= responders <= n, n >= 1 (got {yy}/{nn})")
    return names, n.astype(int), y.astype(int)


def hierarchical_orr(
    data: pd.DataFrame | Sequence[tuple[str, int, int]],
    model: str = "exnex",
    engine: str = "grid",
    prior: HierarchicalPrior | None = None,
    *,
    cohort: str = "cohort",
    conf_level: float = 0.95,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = 1,
) -> HierarchicalFit:
    """Borrow between tumour cohorts: exchangeable or EXNEX model of the response rates.

    Parameters
    ----------
    data
        Per-cohort counts (a frame with ``cohort``, ``n``, ``responders``, e.g. from
        ``orr(bor, by=["cohort"])``, a per-subject BOR table, or ``(name, n, y)`` tuples).
    model
        ``"exchangeable"`` or ``"exnex"``.
    engine
        ``"grid"`` (exact quadrature) or ``"pymc"`` (NUTS; ``draws``, ``tune``, ``chains``,
        ``random_seed``; R-hat / ESS / divergences in ``diagnostics``).

    Examples
    --------
    >>> from bayes_dose.basket import hierarchical_orr
    >>> fit = hierarchical_orr([("A", 20, 2), ("B", 20, 5), ("C", 20, 12)], model="exchangeable")
    >>> t = fit.table()
    >>> bool(t.post_mean.iloc[0] > t.raw_orr.iloc[0]) and bool(t.post_mean.iloc[2] < t.raw_orr.iloc[2])
    True
    """
    if model not in ("exchangeable", "exnex"):
        raise ValueError(f"model must be 'exchangeable' or 'exnex', got {model!r}")
    if engine not in ("grid", "pymc"):
        raise ValueError(f"engine must be 'grid' or 'pymc', got {engine!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be in (0, 1), got {conf_level}")
    prior = prior or HierarchicalPrior()
    names, n, y = _counts(data, cohort)
    p_ex = 1.0 if model == "exchangeable" else prior.p_ex
    fn = _fit_grid if engine == "grid" else _fit_pymc
    kw = {} if engine == "grid" else {"draws": draws, "tune": tune, "chains": chains,
                                      "random_seed": random_seed}  # fmt: skip
    mean, lo, hi, pex, tau, pooled, diag = fn(n, y, prior, p_ex, conf_level, **kw)
    return HierarchicalFit(
        cohorts=names, n=n, y=y, model=model, engine=engine, prior=prior, post_mean=mean,
        lower=lo, upper=hi, prob_ex=pex, tau_mean=tau, pooled_mean=pooled,
        conf_level=conf_level, diagnostics=diag,
    )  # fmt: skip


# -- grid engine ---------------------------------------------------------------------------
THETA_GRID = np.linspace(-9.0, 9.0, 721)  # spacing 0.025 on the logit scale
MU_STEP = 4  # mu on every 4th theta point (spacing 0.1)
N_TAU = 80


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    c = np.cumsum(w)
    c = c / c[-1]
    return [float(np.interp(q, c, x)) for q in qs]


def _fit_grid(n, y, prior: HierarchicalPrior, p_ex: float, conf_level: float):
    th = THETA_GRID
    h = th[1] - th[0]
    mu = th[::MU_STEP]
    # tau: dense near 0 (quadratic spacing) up to 6 prior scales; midpoints with widths
    edges = prior.tau_scale * 6.0 * np.linspace(0.0, 1.0, N_TAU + 1) ** 2
    tau = 0.5 * (edges[1:] + edges[:-1])
    log_prior = (
        stats.norm.logpdf(mu, prior.mu_mean, prior.mu_sd)[:, None]
        + stats.halfnorm.logpdf(tau, scale=prior.tau_scale)[None, :]
        + np.log(np.diff(edges))[None, :]
    )
    # conditional prior of theta given (mu, tau) on the grid, normalised per cell (a point
    # mass at theta = mu when tau is below the grid spacing)
    z = (th[None, None, :] - mu[:, None, None]) / tau[None, :, None]
    k = np.exp(-0.5 * z**2)
    k /= k.sum(axis=-1, keepdims=True)  # (M, T, G)
    p = special.expit(th)
    nex = stats.norm.pdf(th, prior.nex_mean, prior.nex_sd) * h
    nex /= nex.sum()
    like = np.exp(
        stats.binom.logpmf(y[:, None], n[:, None], p[None, :])
    )  # (J, G)
    m_ex = np.einsum("mtg,jg->jmt", k, like)  # (J, M, T)
    m_nex = like @ nex  # (J,)
    d = p_ex * m_ex + (1 - p_ex) * m_nex[:, None, None]
    logw = log_prior + np.log(d).sum(axis=0)
    w = np.exp(logw - logw.max())
    w /= w.sum()
    tau_mean = float(np.sum(w.sum(axis=0) * tau))
    pooled = float(np.sum(w * (k @ p)))  # posterior mean of expit(theta_new) for a new EX cohort
    mean, lo, hi, pex = [], [], [], []
    a = (1 - conf_level) / 2
    for j in range(len(n)):
        r = w / d[j]  # (M, T)
        dens = p_ex * np.einsum("mt,mtg->g", r, k) * like[j] + (1 - p_ex) * r.sum() * nex * like[j]
        dens /= dens.sum()
        mean.append(float(np.sum(dens * p)))
        q = _weighted_quantiles(p, dens, (a, 1 - a))
        lo.append(q[0])
        hi.append(q[1])
        pex.append(float(np.sum(r * p_ex * m_ex[j])))
    return (np.array(mean), np.array(lo), np.array(hi), np.array(pex), tau_mean, pooled,
            {"grid": f"theta {th.size} points (step {h:g}), mu {mu.size}, tau {tau.size}"})  # fmt: skip


# -- PyMC engine ----------------------------------------------------------------------------
def _fit_pymc(n, y, prior: HierarchicalPrior, p_ex: float, conf_level: float, *, draws: int,
              tune: int, chains: int, random_seed: int | None):  # fmt: skip
    import warnings

    import pymc as pm
    import pytensor.tensor as pt

    from .inference.pymc_engine import diagnose

    j = len(n)
    with pm.Model():
        mu = pm.Normal("mu", prior.mu_mean, prior.mu_sd)
        tau = pm.HalfNormal("tau", prior.tau_scale)
        eta = pm.Normal("eta", 0.0, 1.0, shape=j)
        th_ex = pm.Deterministic("theta_ex", mu + tau * eta)

        def loglik(theta):  # binomial log-likelihood without the constant
            return y * theta - n * pt.softplus(theta)

        if p_ex >= 1.0:
            pm.Potential("loglik", pt.sum(loglik(th_ex)))
            names = ["mu", "tau", "eta"]
        else:
            th_nex = pm.Normal("theta_nex", prior.nex_mean, prior.nex_sd, shape=j)
            lex = loglik(th_ex) + (np.log(p_ex) if p_ex > 0 else -np.inf)
            lnex = loglik(th_nex) + np.log1p(-p_ex)
            pm.Potential("loglik", pt.sum(pt.logaddexp(lex, lnex)))
            names = ["mu", "tau", "eta", "theta_nex"]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*samples per chain.*")
            idata = pm.sample(
                draws=draws, tune=tune, chains=chains, cores=1, random_seed=random_seed,
                progressbar=False, compute_convergence_checks=False, quiet=True,
                target_accept=0.95,
            )  # fmt: skip
    post = idata.posterior
    tex = post["theta_ex"].values.reshape(-1, j)
    ll_ex = y * tex - n * np.logaddexp(0.0, tex)
    rng = np.random.default_rng(random_seed)
    if p_ex >= 1.0:
        prob = np.ones_like(tex)
        theta = tex
    else:
        tnex = post["theta_nex"].values.reshape(-1, j)
        ll_nex = y * tnex - n * np.logaddexp(0.0, tnex)
        with np.errstate(divide="ignore"):
            logit_w = (np.log(p_ex) if p_ex > 0 else -np.inf) + ll_ex - np.log1p(-p_ex) - ll_nex
        prob = special.expit(logit_w)
        theta = np.where(rng.random(tex.shape) < prob, tex, tnex)
    p = special.expit(theta)
    a = (1 - conf_level) / 2
    mu_d = post["mu"].values.reshape(-1)
    tau_d = post["tau"].values.reshape(-1)
    # pooled: mean of expit(theta_new), theta_new ~ N(mu, tau) (Gauss-Hermite per draw)
    z, wz = np.polynomial.hermite_e.hermegauss(40)
    pooled = float(np.mean(special.expit(mu_d[:, None] + tau_d[:, None] * z[None, :]) @ (wz / wz.sum())))
    diag = diagnose(idata, tuple(names))
    import arviz as az

    ess = np.asarray(az.ess(az.convert_to_dataset(p.reshape(chains, -1, j)))["x"].values)
    diag["mcse_post_mean"] = tuple(float(v) for v in p.std(axis=0) / np.sqrt(ess))
    return (p.mean(axis=0), np.quantile(p, a, axis=0), np.quantile(p, 1 - a, axis=0),
            prob.mean(axis=0), float(tau_d.mean()), pooled, diag)  # fmt: skip
