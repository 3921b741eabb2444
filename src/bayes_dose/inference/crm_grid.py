"""Exact CRM engine: the posterior of ``beta`` by quadrature, vectorised over trials.

The posterior of the one CRM parameter is evaluated on a fixed uniform grid
(``h = 0.02`` over ``±max(8, 10 prior_sd)``, at most 40) for all ``T`` trials at once:
``log L`` is a matrix product of the count arrays (T, D) with ``log p`` / ``log(1-p)`` on
the grid (G, D), or, with TITE weights, a sum over patients.  The trapezoidal rule on a
smooth, rapidly decaying integrand converges geometrically, so posterior means and
variances agree with dfcrm's adaptive ``integrate`` to ~1e-9.  Results are summarised by
:meth:`CRMModel.summarise`, the same code the PyMC engine uses.

``method="mle"`` gives dfcrm's maximum-likelihood CRM: ``beta`` maximises the likelihood
(trials without an MLE, i.e. no DLT or only DLTs, fall back to the Bayesian estimate).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.stats import norm

from ..arrays import unique_rows
from .crm_model import CRMModel
from .estimate import Estimate
from .evidence import CountEvidence as DoseData

__all__ = ["crm_mle", "crm_posterior", "grid_nodes"]

STEP = 0.02
CHUNK = 2048  # trials per block (bounds memory at ~CHUNK * G doubles)


@lru_cache(maxsize=16)
def _nodes(prior_sd: float) -> np.ndarray:
    half = float(np.clip(10 * prior_sd, 8.0, 40.0))
    g = round(2 * half / STEP) + 1
    return np.linspace(-half, half, g)


def grid_nodes(model: CRMModel) -> np.ndarray:
    """The quadrature nodes used for ``model`` (read-only view)."""
    v = _nodes(model.prior_sd).view()
    v.flags.writeable = False
    return v


def _weighted(data: DoseData) -> bool:
    w = data.patient_weight
    return (
        w is not None
        and data.patient_dose is not None
        and bool(np.any((w < 1) & (data.patient_dose >= 0)))
    )


def _loglik_grid(model: CRMModel, data: DoseData, nodes: np.ndarray, sl: slice) -> np.ndarray:
    if _weighted(data):
        return _loglik_tite(model, nodes, data.patient_dose[sl], data.patient_dlt[sl],
                            data.patient_weight[sl])  # fmt: skip
    return model.loglik_counts(nodes, data.n[sl], data.dlt[sl])


def _loglik_tite(model: CRMModel, nodes: np.ndarray, dose: np.ndarray, dlt: np.ndarray,
                 weight: np.ndarray) -> np.ndarray:  # fmt: skip
    """The TITE likelihood as counts of the patients with complete follow-up (a DLT, or
    weight 1) plus the weighted terms of the pending ones only (few per trial): the same
    sum as :meth:`CRMModel.loglik_weighted` over every patient, much cheaper."""
    dose = np.asarray(dose)
    y = np.asarray(dlt) == 1
    w = np.asarray(weight, dtype=float)
    valid = dose >= 0
    pend = valid & ~y & (w < 1)
    full = valid & ~pend
    D = model.n_doses
    lv = np.where(valid, dose, 0)
    onehot = lv[..., None] == np.arange(D)
    n_c = (onehot & full[..., None]).sum(axis=1)
    y_c = (onehot & (full & y)[..., None]).sum(axis=1)
    out = model.loglik_counts(nodes, n_c, y_c)
    count = pend.sum(axis=1)
    K = int(count.max(initial=0))
    if not K:
        return out
    order = np.argsort(~pend, axis=1, kind="stable")[:, :K]
    d_all = np.take_along_axis(dose, order, axis=1)
    w_all = np.take_along_axis(w, order, axis=1)
    pT = np.ascontiguousarray(model.prob(nodes).T)  # (D, G)
    for k in np.unique(count[count > 0]):  # trials with k pending patients: (t, k, G) terms
        rows = np.flatnonzero(count == k)
        step = max(1, int(4e6 // max(1, k * len(nodes))))
        for a in range(0, rows.size, step):
            r = rows[a:a + step]
            term = pT[d_all[r, :k]]
            term *= -w_all[r, :k, None]
            np.log1p(term, out=term)
            out[r] += term.sum(axis=1)
    return out


def crm_posterior(
    model: CRMModel,
    data: DoseData,
    target: float,
    interval: float = 0.9,
    method: str = "bayes",
) -> Estimate:
    """Posterior summaries of the CRM for every trial in ``data``.

    Parameters
    ----------
    model : CRMModel
    data : DoseData
        Counts (T, D); with ``patient_weight`` below 1 for some patient, the TITE
        weighted likelihood over ``patient_dose``/``patient_dlt``/``patient_weight``.
    target : float
        Target DLT rate (``stats["p_over"]``).
    interval : float
        Credible-interval mass.
    method : {"bayes", "mle"}

    Returns
    -------
    Estimate
        See :meth:`CRMModel.summarise` (``engine="grid"``).  With ``"mle"``,
        ``beta_mean`` is the MLE, ``beta_var`` dfcrm's approximate variance (see
        :func:`crm_mle`),
        ``prob_mean = prob_plugin`` the curve at the MLE and the interval the curve at
        ``MLE -/+ z sd`` (dfcrm's ``ptoxL``/``ptoxU``); ``stats["mle_exists"]``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> from bayes_dose.inference.crm_model import CRMModel
    >>> m = CRMModel((0.05, 0.10, 0.20, 0.35, 0.50, 0.70))
    >>> d = bd.DoseData.from_counts([[0, 3, 4, 3, 0, 0]], [[0, 0, 1, 2, 0, 0]], current=[1])
    >>> round(float(crm_posterior(m, d, 0.2).stats["beta_mean"][0]), 4)
    -0.2122
    """
    if method not in ("bayes", "mle"):
        raise ValueError(f"crm_posterior: method must be 'bayes' or 'mle', got {method!r}")
    if data.n_doses != model.n_doses:
        raise ValueError(
            f"crm_posterior: data have {data.n_doses} dose levels, the skeleton {model.n_doses}"
        )
    if not _weighted(data):
        # Trials with the same counts share a posterior: compute each distinct row once.
        first, inverse = unique_rows(np.concatenate([data.n, data.dlt], axis=1))
        if len(first) < data.n_trials:
            est = crm_posterior(model, data.take(first), target, interval, method)
            return _take(est, inverse)
    nodes = _nodes(model.prior_sd)
    lprior = model.log_prior(nodes)
    parts = []
    for a in range(0, data.n_trials, CHUNK):
        sl = slice(a, a + CHUNK)
        w = _loglik_grid(model, data, nodes, sl)
        w += lprior
        w -= w.max(axis=1, keepdims=True)
        np.exp(w, out=w)
        parts.append(model.summarise(nodes, w, target, interval, engine="grid"))
    est = parts[0] if len(parts) == 1 else _concat(parts)
    if method == "bayes":
        return est
    return _mle_estimate(model, data, target, interval, est)


def _take(est: Estimate, idx: np.ndarray) -> Estimate:
    return Estimate(
        prob_mean=est.prob_mean[idx],
        prob_lower=est.prob_lower[idx],
        prob_upper=est.prob_upper[idx],
        interval=est.interval,
        stats={k: np.asarray(v)[idx] for k, v in est.stats.items()},
        engine=est.engine,
    )


def _concat(parts: list[Estimate]) -> Estimate:
    first = parts[0]
    return Estimate(
        prob_mean=np.concatenate([p.prob_mean for p in parts]),
        prob_lower=np.concatenate([p.prob_lower for p in parts]),
        prob_upper=np.concatenate([p.prob_upper for p in parts]),
        interval=first.interval,
        stats={k: np.concatenate([p.stats[k] for p in parts]) for k in first.stats},
        engine=first.engine,
    )


def _loglik_at(model: CRMModel, data: DoseData, beta: np.ndarray) -> np.ndarray:
    """Log-likelihood of each trial at its own ``beta`` (T,)."""
    lp, lq = model.log_prob(beta)  # (T, D)
    if not _weighted(data):
        return (data.dlt * lp + (data.n - data.dlt) * lq).sum(axis=1)
    dose = data.patient_dose
    valid = dose >= 0
    idx = np.where(valid, dose, 0)
    p = np.take_along_axis(model.prob(beta), idx, axis=1)
    y = (data.patient_dlt == 1) & valid
    w = np.where(valid & ~y, data.patient_weight, 0.0)
    with np.errstate(divide="ignore"):
        term = np.where(y, np.log(p), np.log1p(-w * p))
    return np.where(valid, term, 0.0).sum(axis=1)


def crm_mle(model: CRMModel, data: DoseData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood ``beta`` per trial (search on [-10, 10] as dfcrm's ``optimize``).

    Returns
    -------
    beta_hat, var, exists : ndarray, shape (T,)
        The MLE; dfcrm's "approximate variance" ``E[beta²] - beta_hat²`` with ``E`` under
        the likelihood times a N(0, 500²) prior (evaluated on [-10, 10]; for the logistic
        model this flat-prior integral depends on the range because the likelihood
        does not vanish as beta -> -inf, and dfcrm's value reflects its quadrature); and
        whether an interior MLE exists (at least one DLT and one patient without DLT).
    """
    nodes = np.linspace(-10, 10, 2001)
    flat = -0.5 * (nodes / 500.0) ** 2
    T = data.n_trials
    e2 = np.empty(T)
    if _weighted(data):
        valid = data.patient_dose >= 0
        ny = ((data.patient_dlt == 1) & valid).sum(axis=1)
        nn = valid.sum(axis=1)
    else:
        ny, nn = data.dlt.sum(axis=1), data.n.sum(axis=1)
    exists = (ny > 0) & (ny < nn)
    beta = np.empty(T)
    for a in range(0, T, CHUNK):
        sl = slice(a, a + CHUNK)
        ll = _loglik_grid(model, data, nodes, sl)
        beta[sl] = nodes[np.argmax(ll, axis=1)]
        lw = ll + flat
        w = np.exp(lw - lw.max(axis=1, keepdims=True))
        e2[sl] = (w @ nodes**2) / w.sum(axis=1)
    h = 1e-4
    for _ in range(30):  # Newton steps with central differences
        f0 = _loglik_at(model, data, beta)
        fp = _loglik_at(model, data, beta + h)
        fm = _loglik_at(model, data, beta - h)
        d1 = (fp - fm) / (2 * h)
        d2 = (fp - 2 * f0 + fm) / h**2
        step = np.where(d2 < 0, -d1 / np.where(d2 < 0, d2, -1.0), 0.0)
        step = np.clip(step, -0.5, 0.5)
        beta = np.clip(beta + step, -10, 10)
        if np.all(np.abs(step) < 1e-10):
            break
    return beta, e2 - beta**2, exists


def _mle_estimate(
    model: CRMModel, data: DoseData, target: float, interval: float, bayes: Estimate
) -> Estimate:
    beta, var, exists = crm_mle(model, data)
    z = norm.ppf(0.5 + interval / 2)
    # trials without an MLE (no DLT / only DLTs) keep the Bayesian values below; their
    # Newton "variance" may be negative and is never used
    sd = np.sqrt(np.where(exists & (var >= 0), var, np.nan))
    plug = model.prob(beta)
    lower = model.prob(np.where(np.isfinite(sd), beta + z * sd, np.inf))
    upper = model.prob(np.where(np.isfinite(sd), beta - z * sd, -np.inf))
    e = exists[:, None]
    stats = dict(bayes.stats)
    stats.update(
        beta_mean=np.where(exists, beta, bayes.stats["beta_mean"]),
        beta_var=np.where(exists, var, bayes.stats["beta_var"]),
        prob_plugin=np.where(e, plug, bayes.stats["prob_plugin"]),
        p_over=np.where(e, (plug > target).astype(float), bayes.stats["p_over"]),
        mle_exists=exists,
    )
    return Estimate(
        prob_mean=np.where(e, plug, bayes.prob_mean),
        prob_lower=np.where(e, lower, bayes.prob_lower),
        prob_upper=np.where(e, upper, bayes.prob_upper),
        interval=interval,
        stats=stats,
        engine="grid",
    )
