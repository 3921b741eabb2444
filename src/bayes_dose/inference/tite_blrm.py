"""TITE-BLRM: the BLRM posterior with time-to-event weights for pending patients.

The time-to-event weighted likelihood of Cheung & Chappell (2000, Biometrics 56:1177),
used with the two-parameter BLRM as in the TITE-EWOC literature (Mauguen, Le Deley &
Zohar 2011, Stat Med 30:1258, "Dose-finding approach for dose escalation with overdose
control considering incomplete observations"): a patient with a DLT contributes
``log p_d``, a patient with complete follow-up and no DLT ``log(1 - p_d)``, and a
patient still in the window without DLT ``log(1 - w p_d)`` with ``w`` the follow-up
weight (``min(days / window, 1)``).  Complete patients enter as counts per dose.

The posterior is computed per trial in the BLRM's whitened prior coordinates ``u``
(:meth:`BLRMModel.from_whitened`) with :func:`~bayes_dose.inference.blrm_grid.midpoint_axis`
grids: a prior grid gives the posterior mean and covariance, then a grid centred on the
mean and whitened by the covariance (``u = m + L v``) is iterated (moments recomputed,
re-centred, widened while mass sits at its edge).  Interval probabilities integrate the
indicator in each cell along the grid's second axis (the share of the cell above the cut,
the logit linear between the cell's edges), as the BLRM engine does.  Summaries are the BLRM's own
(:meth:`BLRMModel.summarise`: posterior mean, ``P(under/target/over)``, credible bounds);
``stats["grid_edge_mass"]`` is the posterior mass in the outermost layer of cells and
``stats["grid_flag"]`` marks trials where it stays above ``EDGE_TOL``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit, logit

from .blrm_grid import EDGE_TOL, midpoint_axis
from .blrm_model import BLRMModel
from .estimate import Estimate
from .evidence import CountEvidence as DoseData

__all__ = ["has_pending", "tite_blrm_posterior", "tite_estimate"]

#: Prior grid (points per axis, half-width in prior SDs) for the first moments.
PRIOR_GRID = (61, 8.0)
#: Posterior grid (points per axis, half-width in posterior SDs).
POST_GRID = (101, 7.0)


def has_pending(data: DoseData) -> np.ndarray:
    """Boolean (T,): trials with a pending patient (no DLT, weight < 1)."""
    if data.patient_weight is None or data.patient_dose is None:
        return np.zeros(data.n_trials, dtype=bool)
    valid = data.patient_dose >= 0
    return (valid & (data.patient_dlt != 1) & (data.patient_weight < 1)).any(axis=1)


def _terms(data: DoseData, t: int, D: int) -> tuple[np.ndarray, ...]:
    dose = np.asarray(data.patient_dose[t])
    y = np.asarray(data.patient_dlt[t]) == 1
    w = np.asarray(data.patient_weight[t], dtype=float)
    valid = dose >= 0
    pend = valid & ~y & (w < 1)
    full = valid & ~pend
    ny = np.bincount(dose[full & y], minlength=D).astype(float)
    nf = np.bincount(dose[full & ~y], minlength=D).astype(float)
    return ny, nf, dose[pend], w[pend]


def _logpost(model: BLRMModel, u1: np.ndarray, u2: np.ndarray, terms: tuple[np.ndarray, ...]
             ) -> tuple[np.ndarray, dict[str, np.ndarray]]:  # fmt: skip
    ny, nf, pd, pw = terms
    par = model.from_whitened((u1, u2))
    eta = model.logit(par["log_alpha"], par["log_beta"])  # (S, D)
    out = log_expit(eta) @ ny + log_expit(-eta) @ nf - 0.5 * (u1**2 + u2**2)
    if pd.size:
        p = np.exp(log_expit(eta[:, pd]))
        out += np.log1p(-p * pw).sum(axis=1)
    return out, par


def _moments(u: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = w @ u
    c = u - m
    return m, (c * w[:, None]).T @ c


def _one(model: BLRMModel, terms: tuple[np.ndarray, ...], intervals: bool
         ) -> tuple[Estimate, float]:  # fmt: skip
    n, width = PRIOR_GRID
    a, _ = midpoint_axis(n, width)
    u = np.stack([g.ravel() for g in np.meshgrid(a, a, indexing="ij")], axis=1)
    lv, _ = _logpost(model, u[:, 0], u[:, 1], terms)
    w = np.exp(lv - lv.max())
    w /= w.sum()
    m, cov = _moments(u, w)
    n, width = POST_GRID
    v1 = midpoint_axis(n, 1.0)[0]
    vv = np.stack([g.ravel() for g in np.meshgrid(v1, v1, indexing="ij")], axis=1)
    edge_layer = (np.abs(vv) > 1.0 - 2.0 / n).any(axis=1)
    for _ in range(6):
        L = np.linalg.cholesky(cov + 1e-12 * np.eye(2))
        uu = m + (width * vv) @ L.T
        lv, par = _logpost(model, uu[:, 0], uu[:, 1], terms)
        w = np.exp(lv - lv.max())
        w /= w.sum()
        edge = float(w[edge_layer].sum())
        m_new, cov_new = _moments(uu, w)
        moved = np.abs(np.linalg.solve(L, m_new - m)).max()
        m, cov = m_new, cov_new
        if edge < EDGE_TOL * 0.1 and moved < 0.05:
            break
        if edge >= EDGE_TOL * 0.1:
            width *= 1.3
    # interval probabilities: in each cell the share above a cut along the second axis
    # (the logit taken linear between the cell's two edges on that axis)
    step = (width * 2.0 / n) / 2.0 * L[:, 1]
    ends = []
    for sgn in (-1.0, 1.0):
        pe = model.from_whitened((uu[:, 0] + sgn * step[0], uu[:, 1] + sgn * step[1]))
        ends.append(model.logit(pe["log_alpha"], pe["log_beta"]))
    lo_e, hi_e = np.minimum(*ends), np.maximum(*ends)
    span = hi_e - lo_e
    above = []
    for c in logit(np.asarray(model.cuts)):
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(span > 0, np.clip((hi_e - c) / span, 0.0, 1.0),
                             (lo_e >= c).astype(float))  # fmt: skip
        above.append((w @ share)[None, :])
    est = model.summarise({k: par[k] for k in ("log_alpha", "log_beta")}, w[None, :],
                          above=(above[0], above[1]), intervals=intervals)  # fmt: skip
    return est, edge


def tite_blrm_posterior(model: BLRMModel, data: DoseData, intervals: bool = True) -> Estimate:
    """The TITE-weighted BLRM posterior of every trial in ``data``.

    Parameters
    ----------
    model : BLRMModel
    data : DoseData
        With patient arrays (``patient_dose`` 0-based, ``patient_dlt``,
        ``patient_weight``); patients without DLT and weight < 1 are pending.
    intervals : bool
        Also compute the 90% credible bounds.

    Returns
    -------
    Estimate
        As the BLRM's grid engine: ``prob_mean``, ``prob_lower``/``prob_upper``,
        ``stats`` ``p_under``, ``p_target``, ``p_over``, ``log_alpha_mean``,
        ``log_beta_mean``, ``grid_edge_mass``, ``grid_flag``; ``grid_flags`` names the
        trials whose posterior was not contained by the grid.

    Examples
    --------
    >>> import numpy as np
    >>> import bayes_dose as bd
    >>> b = bd.BLRM([1, 2, 4, 8, 16], 16)
    >>> d = bd.DoseData(np.array([[3, 3, 1, 0, 0]]), np.array([[0, 1, 0, 0, 0]]),
    ...                 np.array([2]), np.array([1]), np.array([0]), np.array([0]),
    ...                 np.array([[0, 0, 0, 1, 1, 1, 2]]), np.array([[0, 0, 0, 0, 1, 0, 0]]),
    ...                 np.array([[1.0, 1, 1, 1, 1, 1, 0.5]]))
    >>> est = tite_blrm_posterior(b.model, d)
    >>> bool(np.allclose(est.stats["p_under"] + est.stats["p_target"] + est.stats["p_over"], 1))
    True
    """
    if data.patient_dose is None or data.patient_weight is None:
        raise ValueError("tite_blrm_posterior: data have no patient arrays (TITE weights)")
    D = model.n_doses
    parts, edges = [], []
    for t in range(data.n_trials):
        est, edge = _one(model, _terms(data, t, D), intervals)
        parts.append(est)
        edges.append(edge)
    edge = np.array(edges)
    flag = edge >= EDGE_TOL
    stats = {k: np.concatenate([np.asarray(p.stats[k]) for p in parts]) for k in parts[0].stats}
    stats["grid_edge_mass"] = edge
    stats["grid_flag"] = flag

    def cat(k: str) -> np.ndarray | None:
        if getattr(parts[0], k) is None:
            return None
        return np.concatenate([getattr(p, k) for p in parts])

    flags = (f"TITE-BLRM: posterior mass at the grid edge in {int(flag.sum())} trial(s)",
             ) if flag.any() else ()  # fmt: skip
    return Estimate(prob_mean=cat("prob_mean"), prob_lower=cat("prob_lower"),
                    prob_upper=cat("prob_upper"), interval=0.9, stats=stats, engine="grid",
                    grid_flags=flags)  # fmt: skip


def tite_estimate(model: BLRMModel, data: DoseData, resolution: tuple[int, int],
                  intervals: bool | None = None) -> Estimate:  # fmt: skip
    """A TITE-BLRM's estimate: trials without pending patients by the BLRM's exact grid
    engine on their counts (so they decide exactly like the BLRM), the others by
    :func:`tite_blrm_posterior`; rows merged in trial order.

    Parameters
    ----------
    model : BLRMModel
    data : DoseData
    resolution : (int, int)
        The BLRM's grid (``BLRM.grid``).
    intervals : bool, optional
        Passed to both (``None``: the engine's default, credible bounds computed).
    """
    from .engines import engines

    pend = has_pending(data)
    kw = {} if intervals is None else {"intervals": intervals}
    full = engines["grid"].estimate(model, {"arm": (data.n, data.dlt)}, resolution=resolution,
                                    **kw) if not pend.all() else None  # fmt: skip
    if not pend.any():
        return full
    tite = tite_blrm_posterior(model, data.take(np.flatnonzero(pend)),
                               intervals=True if intervals is None else intervals)  # fmt: skip
    if full is None:
        return tite
    rows = np.flatnonzero(pend)

    def merge(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        if a is None or b is None:
            return None
        out = np.array(a, copy=True)
        out[rows] = b
        return out

    stats = {}
    for k, v in full.stats.items():
        if k in tite.stats:
            stats[k] = merge(np.asarray(v), np.asarray(tite.stats[k]))
        else:  # engine diagnostics the TITE posterior does not have: NaN there
            out = np.asarray(v, dtype=float).copy()
            out[rows] = np.nan
            stats[k] = out
    return Estimate(prob_mean=merge(full.prob_mean, tite.prob_mean),
                    prob_lower=merge(full.prob_lower, tite.prob_lower),
                    prob_upper=merge(full.prob_upper, tite.prob_upper), interval=full.interval,
                    stats=stats, engine="grid", grid_flags=full.grid_flags + tite.grid_flags)
