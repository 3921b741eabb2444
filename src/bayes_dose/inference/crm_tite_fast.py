"""Fast TITE-CRM decisions: adaptive Gauss-Hermite quadrature of the one-parameter posterior.

A calendar-time TITE-CRM decides at every patient with some patients still in their DLT
window; each such state has its own weighted posterior, so the exact grid engine
(:mod:`.crm_grid`, 1,158 nodes) dominated the simulation.  The posterior of ``beta`` is
one-dimensional and smooth, so per trial:

1. the log posterior is scanned on :data:`SCAN` points of the grid range (shared tables);
   the parabola through the best point and its neighbours gives a centre ``m`` and scale
   ``s``, the scan the range where the log posterior is within :data:`DROP` of its peak;
2. adaptive Gauss-Hermite quadrature (Liu & Pierce 1994) at ``beta = m + sqrt(2) s x_i``
   of the two orders :data:`HERMITE`; accepted if the two differ by at most :data:`TOL`
   in every posterior mean DLT probability and in the curve at the posterior mean
   ``beta`` (skewed posteriors of early, prior-dominated states often fail: states with
   at most :data:`MIN_HERMITE` patients skip this stage);
3. otherwise the trapezoidal rule in ``z`` with ``beta = m + s sinh(z)`` over that range
   (fine steps at the mode, long ones in the tails; geometric convergence), with
   :data:`NODES` and ``2 NODES - 1`` nodes (nested), accepted on the same check and if
   the range's ends lie below the peak by :data:`DROP` (unless they are the grid's ends);
4. otherwise the exact grid (:func:`~bayes_dose.inference.crm_grid.crm_posterior`).

States with no pending patient (complete follow-up) go to the exact count path unchanged,
so a TITE-CRM with complete follow-up decides exactly like the CRM.

Only the quantities a CRM *decision* reads are returned (``prob_mean``, ``beta_mean``,
``beta_var``, ``prob_plugin``); credible intervals and ``p_over`` are absent from the
result (reading them is an error, not a silent value).  ``CRM.fit`` keeps the full grid.
Complete states get the same numbers as the exact engine bit for bit, without its credible
bounds (:func:`crm_curve_estimate`, also what ``CRM.select`` computes in simulations).

Cost: the log posterior is evaluated on sparse lists (the (trial, dose) cells with complete
DLT-free patients, and the pending patients), so ``log(1 - p)`` is taken only where a
patient is, and the pending terms are one logarithm of each trial's product per node.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..arrays import unique_rows
from .crm_grid import CHUNK, _nodes, _weighted, crm_posterior
from .crm_model import CRMModel, curve_mean
from .estimate import Estimate
from .evidence import CountEvidence as DoseData

__all__ = ["crm_curve_estimate", "crm_decision_estimate", "pending_rows"]

#: Gauss-Hermite orders of the first stage.
HERMITE = (10, 14)
#: States with at most this many patients skip stage 2 (Gauss-Hermite).
MIN_HERMITE = 6
#: Nodes of the coarse trapezoidal rule (the fine rule halves its step: 2 NODES - 1).
NODES = 20
#: Log-posterior drop (from the mode) that bounds the integration range.
DROP = 20.0
#: Largest difference between the two orders accepted (posterior mean DLT probability and
#: plug-in curve, absolute).
TOL = 1e-6
#: Points of the coarse scan for the mode (over the exact grid's range).
SCAN = 24
#: Products of pending factors below this are summed as logarithms instead.
TINY = 1e-250
DECISION_KEYS = ("beta_mean", "beta_var", "prob_plugin")


def pending_rows(data: DoseData) -> np.ndarray:
    """Boolean (T,): trials with at least one pending patient (no DLT, weight < 1)."""
    if data.patient_weight is None or data.patient_dose is None:
        return np.zeros(data.n_trials, dtype=bool)
    valid = data.patient_dose >= 0
    return (valid & (data.patient_dlt != 1) & (data.patient_weight < 1)).any(axis=1)


class _LogPost:
    """The TITE log posterior of each trial (counts of complete patients + pending terms)."""

    def __init__(self, model: CRMModel, data: DoseData) -> None:
        dose = np.asarray(data.patient_dose)
        y = np.asarray(data.patient_dlt) == 1
        w = np.asarray(data.patient_weight, dtype=float)
        valid = dose >= 0
        pend = valid & ~y & (w < 1)
        full = valid & ~pend
        D = model.n_doses
        lv = np.where(valid, dose, 0)
        T = dose.shape[0]
        cell = lv + D * np.arange(T)[:, None]  # (trial, dose) cell of each patient

        def count(mask: np.ndarray) -> np.ndarray:
            return np.bincount(cell[mask], minlength=T * D).reshape(T, D).astype(float)

        self.y = count(full & y)  # complete patients with a DLT per dose (T, D)
        self.f = count(full & ~y)  # complete patients without DLT
        self.pt, k = np.nonzero(pend & (w > 0))  # pending patients (weight 0: no term)
        self.pdd, self.pww = dose[self.pt, k], w[self.pt, k][:, None]
        self.n_trials = T
        self.model = model
        self.x = np.log(np.asarray(model.skeleton)) if model.link == "empiric" else model.x
        self.yx = np.einsum("td,d->t", self.y, self.x)  # empiric: sum of DLTs' log p is exp(beta) * yx
        self._cells()

    def n_pending(self) -> np.ndarray:
        """Pending patients with a positive weight per trial (T,)."""
        return np.bincount(self.pt, minlength=self.n_trials)

    def take(self, rows: np.ndarray) -> _LogPost:
        """The same for the trials ``rows``."""
        new = object.__new__(_LogPost)
        new.__dict__.update(self.__dict__)
        for k in ("y", "f", "yx"):
            setattr(new, k, getattr(self, k)[rows])
        new.n_trials = len(rows)
        inv = np.full(self.n_trials, -1)
        inv[rows] = np.arange(len(rows))  # rows ascending: trial order is kept
        keep = inv[self.pt] >= 0
        new.pt, new.pdd, new.pww = inv[self.pt[keep]], self.pdd[keep], self.pww[keep]
        new._cells()
        return new

    def _cells(self) -> None:
        """Sparse lists, in trial order, of the (trial, dose) cells with complete DLT-free
        patients (``ft``, ``fd``, ``fn``: trial, dose, count) and of the pending patients
        (``pt``, ``pdd``, ``pww``), with the first entry of each trial that has any
        (``*_start``) and those trials (``*_rows``), for ``np.*.reduceat``."""
        self.ft, self.fd = np.nonzero(self.f)
        self.fn = self.f[self.ft, self.fd][:, None]
        self.f_rows, self.f_start = _starts(self.ft)
        self.p_rows, self.p_start = _starts(self.pt)

    def pending(self, g: np.ndarray, out: np.ndarray) -> None:
        """Add ``sum_k log(1 - w_k p_k)`` of the pending patients to ``out`` (T, M), from
        the curve at their doses ``g`` (one row per pending patient, (P, M)): one logarithm
        of each trial's product per point (each factor is at least ``1 - p``, above 1e-7
        on the grid range, so a product of a few dozen factors stays normal; trials where
        it falls below :data:`TINY` are summed term by term)."""
        if not self.pt.size:
            return
        fac = 1.0 - self.pww * g
        prod = np.multiply.reduceat(fac, self.p_start, axis=0)
        small = prod.min(axis=1) < TINY
        if small.any():
            np.log(fac, out=fac)
            prod[small] = np.add.reduceat(fac, self.p_start, axis=0)[small]
            prod[~small] = np.log(prod[~small])
        else:
            np.log(prod, out=prod)
        out[self.p_rows] += prod

    def __call__(self, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Log posterior at ``beta`` (T, M) and the DLT curve there, dose-major (T, D, M)."""
        m = self.model
        T, M = beta.shape
        b = np.exp(beta)
        xd = self.x[None, :, None]
        if m.link == "empiric":  # log p = exp(beta) log s: the DLT terms are one product
            out = b * self.yx[:, None]
            if self.ft.size:  # log(1 - p) only where complete DLT-free patients are
                lq = b[self.ft] * self.x[self.fd][:, None]
                np.expm1(lq, out=lq)  # -(1 - p), accurate near p = 1
                np.negative(lq, out=lq)
                np.log(lq, out=lq)  # q > 0 on the grid range
                lq *= self.fn
                out[self.f_rows] += np.add.reduceat(lq, self.f_start, axis=0)
            p = np.multiply(b[:, None, :], xd)
            np.exp(p, out=p)
        else:
            eta = m.intercept + b[:, None, :] * xd
            lp, lq = -np.logaddexp(0.0, -eta), -np.logaddexp(0.0, eta)
            out = np.einsum("td,tdm->tm", self.y, lp)
            out += np.einsum("td,tdm->tm", self.f, np.where(self.f[:, :, None] > 0, lq, 0.0))
            p = np.exp(lp)
        D = p.shape[1]
        self.pending(p.reshape(T * D, M)[self.pt * D + self.pdd], out)
        out += m.log_prior(beta)
        return out, p


def _starts(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of the sorted ``t`` and where each run starts."""
    new = np.flatnonzero(np.r_[True, t[1:] != t[:-1]]) if t.size else t
    return t[new], new


def _scan(model: CRMModel, lpost: _LogPost, half: float) -> tuple[np.ndarray, ...]:
    """The log posterior on :data:`SCAN` equidistant points of the grid range (tables of
    the curve at those points are shared by all trials): the mode and scale from the
    parabola through the best scan point and its neighbours (NaN scale if not concave),
    the interval where the scan is within :data:`DROP` of its maximum (one scan step
    added on each side), and that maximum."""
    scan = np.linspace(-half, half, SCAN)
    step = scan[1] - scan[0]
    lp, lq = model.log_prob(scan)  # (S, D)
    # (T, S); einsum, not BLAS: these products are small, and BLAS threads contend on a
    # busy machine
    vals = np.einsum("td,sd->ts", np.concatenate([lpost.y, lpost.f], axis=1),
                     np.concatenate([lp, lq], axis=1), optimize=False)  # fmt: skip
    vals += model.log_prior(scan)
    T = vals.shape[0]
    lpost.pending(np.exp(lp).T[lpost.pdd], vals)  # curve table (D, S), shared
    j = np.clip(np.argmax(vals, axis=1), 1, SCAN - 2)
    r = np.arange(T)
    vm, v0, vp = vals[r, j - 1], vals[r, j], vals[r, j + 1]
    c = (vp - 2 * v0 + vm) / step**2
    conc = c < 0
    cc = np.where(conc, c, -1.0)
    m = scan[j] + np.clip((vm - vp) / (2 * step * cc), -step, step)
    sc = np.where(conc, 1.0 / np.sqrt(-cc), np.nan)
    lm = vals.max(axis=1)
    inside = vals > (lm - DROP)[:, None]
    first = np.argmax(inside, axis=1)
    last = SCAN - 1 - np.argmax(inside[:, ::-1], axis=1)
    lo = np.minimum(scan[np.maximum(first - 1, 0)], m)
    hi = np.maximum(scan[np.minimum(last + 1, SCAN - 1)], m)
    return m, sc, lo, hi, lm


def _summaries(beta: np.ndarray, lv: np.ndarray, p: np.ndarray, lm: np.ndarray
               ) -> tuple[np.ndarray, ...]:  # fmt: skip
    """Posterior mean curve, mean and variance of ``beta`` from the log weights ``lv``
    (T, M) at nodes ``beta`` and the curve ``p`` (T, D, M)."""
    w = np.exp(lv - lm[:, None])
    w /= w.sum(axis=1, keepdims=True)
    mean = (w * beta).sum(axis=1)
    var = (w * (beta - mean[:, None]) ** 2).sum(axis=1)
    return np.einsum("tk,tdk->td", w, p), mean, var


@lru_cache(maxsize=8)
def _hermite(order: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Hermite nodes and log weights times ``exp(x^2)`` (cached; read-only)."""
    x, w = np.polynomial.hermite.hermgauss(order)
    lw = np.log(w) + x**2
    x.flags.writeable = lw.flags.writeable = False
    return x, lw


def _check(model: CRMModel, a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> np.ndarray:
    """Largest difference of two rules in the posterior mean and plug-in DLT curves."""
    return np.maximum(np.abs(a[0] - b[0]).max(axis=1),
                      np.abs(model.prob(a[1]) - model.prob(b[1])).max(axis=1))  # fmt: skip


def _stage_hermite(model: CRMModel, lpost: _LogPost, m: np.ndarray, sc: np.ndarray,
                   lm: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:  # fmt: skip
    """Adaptive Gauss-Hermite of the two :data:`HERMITE` orders: the higher order's
    summaries and the two rules' difference."""
    res = []
    for order in HERMITE:
        x, lw = _hermite(order)
        beta = m[:, None] + np.sqrt(2.0) * sc[:, None] * x
        lv, p = lpost(beta)
        res.append(_summaries(beta, lv + lw, p, lm))
    return res[1], _check(model, res[0], res[1])


def _stage_sinh(model: CRMModel, lpost: _LogPost, m: np.ndarray, sc: np.ndarray,
                lo: np.ndarray, hi: np.ndarray, lm: np.ndarray, half: float
                ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:  # fmt: skip
    """Trapezoidal rule in ``z`` with ``beta = m + sc sinh(z)`` over the range ``lo..hi``
    (fine steps at the mode, long ones in the tails), :data:`NODES` and ``2 NODES - 1``
    nodes (nested); where they differ by more than :data:`TOL`, the step is halved once
    more (``4 NODES - 3`` nodes, compared with ``2 NODES - 1``).  Returns the finest
    rule's summaries and the last difference (inf when the range does not cover the
    posterior)."""
    sc = sc[:, None]
    z_lo = -np.arcsinh((m[:, None] - lo[:, None]) / sc)
    z_hi = np.arcsinh((hi[:, None] - m[:, None]) / sc)
    u = np.linspace(0.0, 1.0, 2 * NODES - 1)
    z = z_lo + (z_hi - z_lo) * u
    beta = m[:, None] + sc * np.sinh(z)
    lv, p = lpost(beta)
    lm = np.maximum(lm, lv.max(axis=1))
    edge = ((lv[:, 0] > lm - DROP) & (lo > -half)) | ((lv[:, -1] > lm - DROP) & (hi < half))
    lv = lv + np.log(np.cosh(z))
    fine = _summaries(beta, lv, p, lm)
    coarse = _summaries(beta[:, ::2], lv[:, ::2], p[:, :, ::2], lm)
    diff = np.where(edge, np.inf, _check(model, coarse, fine))
    again = np.flatnonzero(np.isfinite(diff) & (diff > TOL))
    if again.size:  # the midpoints: 4 NODES - 3 nodes in all
        r = again
        zm = z_lo[r] + (z_hi[r] - z_lo[r]) * (u[:-1] + 0.5 * u[1])
        bm = m[r, None] + sc[r] * np.sinh(zm)
        lvm, pm = lpost.take(r)(bm)
        lmr = np.maximum(lm[r], lvm.max(axis=1))
        finer = _summaries(np.concatenate([beta[r], bm], axis=1),
                           np.concatenate([lv[r], lvm + np.log(np.cosh(zm))], axis=1),
                           np.concatenate([p[r], pm], axis=2), lmr)  # fmt: skip
        diff[r] = _check(model, _summaries(beta[r], lv[r], p[r], lmr), finer)
        for f, g in zip(fine, finer, strict=True):
            f[r] = g
    return fine, diff


def _quadrature(model: CRMModel, data: DoseData, target: float
                ) -> tuple[Estimate, np.ndarray, np.ndarray]:  # fmt: skip
    """Summaries for the trials of ``data`` (all with pending patients): adaptive
    Gauss-Hermite, else (self-check failed) the sinh-mapped trapezoid; the trials (bool)
    where both failed, and the stage used (1, 2; 0 = failed)."""
    lpost = _LogPost(model, data)
    half = float(_nodes(model.prior_sd)[-1])
    m, sc, lo, hi, lm = _scan(model, lpost, half)
    ok = np.isfinite(sc) & (sc > 0)
    sc = np.where(ok, sc, 1.0)
    T, D = data.n_trials, model.n_doses
    out = (np.empty((T, D)), np.empty(T), np.empty(T))
    stage = np.zeros(T, dtype=np.int8)
    # few patients: skewed, prior-dominated posteriors where Gauss-Hermite rarely passes
    n_pat = lpost.y.sum(axis=1) + lpost.f.sum(axis=1) + lpost.n_pending()
    rows = np.flatnonzero(ok & (n_pat > MIN_HERMITE))
    if rows.size:
        res, diff = _stage_hermite(model, lpost.take(rows), m[rows], sc[rows], lm[rows])
        good = diff <= TOL
        for o, r in zip(out, res, strict=True):
            o[rows[good]] = r[good]
        stage[rows[good]] = 1
    rows = np.flatnonzero(ok & (stage == 0))
    if rows.size:
        res, diff = _stage_sinh(model, lpost.take(rows), m[rows], sc[rows], lo[rows],
                                hi[rows], lm[rows], half)  # fmt: skip
        good = diff <= TOL
        for o, r in zip(out, res, strict=True):
            o[rows[good]] = r[good]
        stage[rows[good]] = 2
    est = Estimate(
        prob_mean=out[0], interval=0.9,
        stats={"beta_mean": out[1], "beta_var": out[2], "prob_plugin": model.prob(out[1])},
        engine="grid",
    )  # fmt: skip
    return est, stage == 0, stage


def crm_decision_estimate(model: CRMModel, data: DoseData, target: float,
                          interval: float = 0.9) -> Estimate:  # fmt: skip
    """The CRM summaries a decision reads, fast for TITE states with pending patients.

    Parameters
    ----------
    model : CRMModel
    data : DoseData
        Counts, with TITE patient arrays (``patient_weight`` < 1 for pending patients).
    target : float
    interval : float
        Credible mass (passed to the exact engine).

    Returns
    -------
    Estimate
        Without pending patients anywhere: exactly :func:`crm_posterior`.  Otherwise
        ``prob_mean`` and ``stats`` ``beta_mean``, ``beta_var``, ``prob_plugin`` (trials
        without pending patients from the exact count path, the others by adaptive
        quadrature or, when its self-checks fail, the exact grid) and
        ``stats["quadrature"]`` (True where stage 2 or 3 was used); no intervals.

    Examples
    --------
    >>> import numpy as np
    >>> import bayes_dose as bd
    >>> from bayes_dose.inference.crm_model import CRMModel
    >>> m = CRMModel((0.05, 0.1, 0.2, 0.35))
    >>> d = bd.DoseData(np.array([[3, 2, 0, 0]]), np.array([[0, 1, 0, 0]]),
    ...                 np.array([1]), np.array([2]), np.array([1]), np.array([0]),
    ...                 np.array([[0, 0, 0, 1, 1]]), np.array([[0, 0, 0, 1, 0]]),
    ...                 np.array([[1.0, 1.0, 1.0, 1.0, 0.4]]))
    >>> fast = crm_decision_estimate(m, d, 0.2)
    >>> bool(fast.stats["quadrature"][0])
    True
    >>> exact = crm_posterior(m, d, 0.2)
    >>> bool(np.abs(fast.prob_mean - exact.prob_mean).max() < 1e-6)
    True
    """
    if not _weighted(data):
        return crm_posterior(model, data, target, interval)
    pend = pending_rows(data)
    T = data.n_trials
    prob_mean = np.empty((T, model.n_doses))
    stats = {"beta_mean": np.empty(T), "beta_var": np.empty(T),
             "prob_plugin": np.empty((T, model.n_doses)), "quadrature": np.zeros(T, bool)}
    exact_rows = [np.flatnonzero(~pend)]
    idx = np.flatnonzero(pend)
    if idx.size:
        fast, bad, _ = _quadrature(model, data.take(idx), target)
        good = idx[~bad]
        prob_mean[good] = fast.prob_mean[~bad]
        for k in DECISION_KEYS:
            stats[k][good] = np.asarray(fast.stats[k])[~bad]
        stats["quadrature"][good] = True
        exact_rows.append(idx[bad])
    for rows, strip in zip(exact_rows, (True, False), strict=True):
        if not rows.size:
            continue
        sub = data.take(rows)
        if strip:  # complete follow-up: the count path of the plain CRM, decision summaries
            est = _complete_decision(model, sub.n, sub.dlt, interval)
        else:
            est = crm_posterior(model, sub, target, interval)
        prob_mean[rows] = est.prob_mean
        for k in DECISION_KEYS:
            stats[k][rows] = np.asarray(est.stats[k])
    return Estimate(prob_mean=prob_mean, interval=interval, stats=stats, engine="grid")


def crm_curve_estimate(model: CRMModel, data: DoseData, target: float,
                       interval: float = 0.9) -> Estimate:  # fmt: skip
    """The CRM summaries a selection reads (``prob_mean``, ``beta_mean``, ``beta_var``,
    ``prob_plugin``): for complete counts (no pending patient) bit for bit those of
    :func:`crm_posterior`, without its credible bounds and ``p_over``; otherwise
    :func:`crm_decision_estimate`.

    Examples
    --------
    >>> import numpy as np
    >>> import bayes_dose as bd
    >>> from bayes_dose.inference.crm_model import CRMModel
    >>> m = CRMModel((0.05, 0.1, 0.2, 0.35))
    >>> d = bd.DoseData.from_counts([[3, 3, 0, 0]], [[0, 1, 0, 0]], current=[1])
    >>> a, b = crm_curve_estimate(m, d, 0.2), crm_posterior(m, d, 0.2)
    >>> bool(np.array_equal(a.prob_mean, b.prob_mean)), a.prob_lower is None
    (True, True)
    """
    if _weighted(data):
        return crm_decision_estimate(model, data, target, interval)
    return _complete_decision(model, np.asarray(data.n), np.asarray(data.dlt), interval)


def _complete_decision(model: CRMModel, n: np.ndarray, dlt: np.ndarray,
                       interval: float = 0.9) -> Estimate:  # fmt: skip
    """The decision summaries of :func:`crm_posterior` on complete counts, bit for bit
    (the same distinct rows, blocks and arithmetic as it and :meth:`CRMModel.summarise`),
    without the credible bounds and ``p_over`` that a decision does not read."""
    first, inverse = unique_rows(np.concatenate([n, dlt], axis=1))
    n, dlt = n[first], dlt[first]
    nodes = _nodes(model.prior_sd)
    lprior = model.log_prior(nodes)
    p = model.prob(nodes)  # (G, D)
    U = len(first)
    prob_mean, mean, var = np.empty((U, model.n_doses)), np.empty(U), np.empty(U)
    for a in range(0, U, CHUNK):
        sl = slice(a, a + CHUNK)
        w = model.loglik_counts(nodes, n[sl], dlt[sl])
        w += lprior
        w -= w.max(axis=1, keepdims=True)
        np.exp(w, out=w)
        w /= w.sum(axis=1, keepdims=True)
        prob_mean[sl] = curve_mean(w, p)
        tmp = np.multiply(w, nodes)
        mean[sl] = tmp.sum(axis=1)
        np.subtract(nodes, mean[sl, None], out=tmp)
        np.square(tmp, out=tmp)
        tmp *= w
        var[sl] = tmp.sum(axis=1)
    stats = {"beta_mean": mean[inverse], "beta_var": var[inverse],
             "prob_plugin": model.prob(mean)[inverse]}  # fmt: skip
    return Estimate(prob_mean=prob_mean[inverse], interval=interval, stats=stats, engine="grid")
