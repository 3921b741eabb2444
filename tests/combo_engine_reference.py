"""Independent reference integration of the combination BLRM posterior (tests only).

Written from the model's definition, sharing no code with the engines.  Per dose the
interval cut is integrated exactly along one parameter in closed form:

* along the interaction ``eta``: for fixed ``(logit p2, log beta, log alpha)`` the
  combination logit is ``logit p0 + eta d / d*``, so ``p12 >= c`` is
  ``eta >= (logit c - logit p0) d* / d``;
* along the partner's ``logit p2``: for fixed ``(eta, log beta, log alpha)``,
  ``p12 >= c`` is ``p2 >= (p* - p1) / (1 - p1)`` with ``p* = expit(logit c - eta d / d*)``
  (every ``p2`` when ``p1 >= p*``);

whichever moves the dose's logit more over its posterior spread (posterior SD times the
logit's derivative at the posterior mean): ``eta`` at high doses, the partner at low
doses, so that the outer integrand (the inner integral) is smooth.  Along the inner
parameter: composite Gauss-Legendre (panels of 8 points) on its posterior mean +- 10
SD, the panel holding the cut integrated from the cut by its own 8 points.  The outer
integral over the other three parameters is a Gauss-Legendre product rule on +-6
posterior SDs of a frame whitened by their posterior moments (iterated from a BFGS
estimate of the mode and curvature).

Returns posterior means and interval probabilities (``P(p < lo)``, ``P(lo <= p < hi)``,
``P(p >= hi)``) of every combination dose and the posterior means of the parameters.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy.special import expit, log_expit, logit

BOX = 6.0
PANEL = 8
NAMES = ("log_alpha", "log_beta", "logit_partner", "eta")


def _gl(n, a, b):
    x, w = np.polynomial.legendre.leggauss(n)
    a, b = np.asarray(a, float), np.asarray(b, float)
    return (a[..., None] + (b - a)[..., None] * (x + 1) / 2, (b - a)[..., None] * w / 2)


class _Posterior:
    """Log density and combination logit of the model, from its definition."""

    def __init__(self, model, mono_counts, combo_counts):
        mono = model.mono
        self.prior = mono.prior
        ref = mono.reference_dose
        self.xm = np.log(np.asarray(mono.doses, float) / ref)
        dc = np.asarray(model.combo_doses, float)
        self.xc = np.log(dc / ref)
        self.r = dc / ref
        self.nm, self.ym = (np.asarray(a, float) for a in mono_counts)
        self.nc, self.yc = (np.asarray(a, float) for a in combo_counts)
        self.pp, self.ip = model.partner_prior, model.interaction_prior
        sa, sb = self.prior.sd
        rho = self.prior.corr
        self.cov_ab = np.array([[sa * sa, rho * sa * sb], [rho * sa * sb, sb * sb]])
        self.prec_ab = np.linalg.inv(self.cov_ab)
        self.cuts = model.cuts

    def combo_logit(self, la, lb, p2, e):
        eta1 = la[..., None] + np.exp(lb)[..., None] * self.xc
        log_q0 = log_expit(-eta1) + log_expit(-p2)[..., None]
        return np.log(-np.expm1(log_q0)) - log_q0 + e[..., None] * self.r

    def logdens(self, la, lb, p2, e):
        pr = self.prior
        da, db = la - pr.mean[0], lb - pr.mean[1]
        P = self.prec_ab
        lw = -0.5 * (P[0, 0] * da * da + 2 * P[0, 1] * da * db + P[1, 1] * db * db)
        lw = lw - 0.5 * ((p2 - self.pp.mean) / self.pp.sd) ** 2
        lw = lw - 0.5 * ((e - self.ip.mean) / self.ip.sd) ** 2
        eta1 = la[..., None] + np.exp(lb)[..., None] * self.xm
        lw = lw + (self.ym * log_expit(eta1) + (self.nm - self.ym) * log_expit(-eta1)).sum(-1)
        lg = self.combo_logit(la, lb, p2, e)
        return lw + (self.yc * log_expit(lg) + (self.nc - self.yc) * log_expit(-lg)).sum(-1)

    def threshold(self, inner, d, c, la, lb, p2, e):
        """The inner parameter's value above which ``p12 >= c`` at dose ``d``."""
        if inner == "eta":
            eta1 = la + np.exp(lb) * self.xc[d]
            log_q0 = log_expit(-eta1) + log_expit(-p2)
            a0 = np.log(-np.expm1(log_q0)) - log_q0
            return (logit(c) - a0) / self.r[d]
        ps = expit(logit(c) - e * self.r[d])
        p1 = expit(la + np.exp(lb) * self.xc[d])
        with np.errstate(divide="ignore", invalid="ignore"):
            t = logit(np.clip((ps - p1) / (1 - p1), 1e-300, 1.0))
        return np.where(p1 >= ps, -np.inf, t)


class _Frame:
    """Outer Gauss-Legendre frame and inner panels for one inner parameter."""

    def __init__(self, post, inner, n_outer, n_panels, box=BOX):
        self.post, self.inner = post, inner
        self.n_outer, self.n_panels = n_outer, n_panels
        self.box = box
        # full parameter vector order (la, lb, p2, e); inner index
        self.k_in = 3 if inner == "eta" else 2
        self.k_out = [k for k in range(4) if k != self.k_in]

    def params(self, V, X):
        """Parameter arrays from outer values V (3, S) and inner values X (S, M)."""
        full = [None] * 4
        for j, k in enumerate(self.k_out):
            full[k] = np.broadcast_to(V[j][:, None], X.shape)
        full[self.k_in] = X
        return full

    def nodes(self, m, L):
        g, w = np.polynomial.legendre.leggauss(self.n_outer)
        g, w = g * self.box, w * self.box
        G = np.stack(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1)
        W = np.einsum("i,j,k->ijk", w, w, w).ravel()
        return m[:, None] + L @ G, W

    def evaluate(self, m, L, i_lo, i_hi):
        V, W = self.nodes(m, L)
        edges = np.linspace(i_lo, i_hi, self.n_panels + 1)
        x, w = _gl(PANEL, edges[:-1], edges[1:])
        X = np.broadcast_to(x.ravel(), (V.shape[1], x.size))
        ld = self.post.logdens(*self.params(V, X))
        return V, W, edges, X, w.ravel(), ld

    def moments(self, m, L, i_lo, i_hi):
        V, W, _, X, w, ld = self.evaluate(m, L, i_lo, i_hi)
        mass = W[:, None] * w * np.exp(ld - ld.max())
        tot = mass.sum()
        mv = mass.sum(axis=1)
        mean = V @ mv / tot
        dv = V - mean[:, None]
        cov = (dv * mv) @ dv.T / tot
        mi = (mass * X).sum() / tot
        si = np.sqrt(max((mass * (X - mi) ** 2).sum() / tot, 1e-30))
        return mean, cov, mi, si


def _prior_moments(post):
    m = np.array([post.prior.mean[0], post.prior.mean[1], post.pp.mean, post.ip.mean])
    C = np.zeros((4, 4))
    C[:2, :2] = post.cov_ab
    C[2, 2] = post.pp.sd**2
    C[3, 3] = post.ip.sd**2
    return m, C


def _start(post):
    """Posterior mode and inverse Hessian (BFGS from the prior mean): the first frame."""
    m4, C4 = _prior_moments(post)
    sd = np.sqrt(np.diag(C4))

    def neg(z):
        th = m4 + sd * z
        return -float(post.logdens(*(np.array(t) for t in th)))

    best = None
    for x0 in (np.zeros(4), np.array([2.0, 0, 0, 0]), np.array([-2.0, 0, 0, 0])):
        res = optimize.minimize(neg, x0, method="BFGS", options={"gtol": 1e-8})
        if best is None or res.fun < best.fun:
            best = res
    H = np.asarray(best.hess_inv)
    return m4 + sd * best.x, (sd[:, None] * H * sd[None, :]) * 1.5


def _locate(frame, locate):
    n_final = frame.n_outer
    frame.n_outer = 16  # locating needs moments only
    m4, C4 = _start(frame.post)
    ko, ki = frame.k_out, frame.k_in
    m, C = m4[ko], C4[np.ix_(ko, ko)]
    mi, si = m4[ki], np.sqrt(C4[ki, ki])
    for _ in range(locate):
        m, C, mi, si = frame.moments(m, np.linalg.cholesky(C), mi - 10 * si, mi + 10 * si)
    frame.n_outer = n_final
    m, C, mi, si = frame.moments(m, np.linalg.cholesky(C), mi - 10 * si, mi + 10 * si)
    return m, np.linalg.cholesky(C), mi - 10 * si, mi + 10 * si


def _summaries(frame, m, L, i_lo, i_hi, doses):
    post = frame.post
    V, W, edges, X, w, ld = frame.evaluate(m, L, i_lo, i_hi)
    shift = ld.max()
    dens = np.exp(ld - shift) * w  # (S, M)
    Wd = W[:, None] * dens
    total = Wd.sum()
    full = frame.params(V, X)
    lg = post.combo_logit(*full)
    out = {"mean": np.einsum("sm,smd->d", Wd, expit(lg)) / total}
    for k, name in enumerate(NAMES):
        out[name] = (Wd * full[k]).sum() / total
    S = V.shape[1]
    nP = frame.n_panels
    panel_mass = dens.reshape(S, nP, PANEL).sum(axis=2)
    tail = np.concatenate([np.cumsum(panel_mass[:, ::-1], axis=1)[:, ::-1], np.zeros((S, 1))], 1)
    pw = (i_hi - i_lo) / nP
    outer = [V[j] for j in range(3)]
    above = np.full((2, len(post.r)), np.nan)
    for ci, c in enumerate(post.cuts):
        for d in doses:
            args = [None] * 4
            for j, k in enumerate(frame.k_out):
                args[k] = outer[j]
            args[frame.k_in] = None
            t = post.threshold(frame.inner, d, c, *[a if a is not None else 0.0 for a in args])
            t = np.clip(t, i_lo, i_hi)
            k = np.clip(((t - i_lo) // pw).astype(int), 0, nP - 1)
            x, wx = _gl(PANEL, t, edges[k + 1])
            part = np.exp(post.logdens(*frame.params(V, x)) - shift) * wx
            above[ci, d] = (W * (part.sum(axis=1) + tail[np.arange(S), k + 1])).sum() / total
    out["above"] = above
    out["edge"] = float(dens[:, :PANEL].sum() + dens[:, -PANEL:].sum()) / float(dens.sum())
    n = frame.n_outer
    ijk = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij")).reshape(3, -1)
    layer = ((ijk == 0) | (ijk == n - 1)).any(axis=0)
    out["edge_outer"] = float(Wd[layer].sum() / total)
    return out


def reference(model, mono_counts, combo_counts, n_outer=24, n_panels=8, locate=5, inner=None,
              box=BOX):
    """Reference summaries of a ``CombinationModel`` posterior (see module docstring).

    ``box``: half-width of the outer box in posterior SDs.  The default (6) truncates
    posteriors with heavy tails (e.g. Part I data with a DLT at a low dose and the rest
    high up: the ``log beta`` tail); ``edge_outer`` in the result is the posterior mass
    in the outermost Gauss-Legendre layer of the box (of the ``eta`` frame), which shows it.

    ``inner``: force the inner parameter (``"eta"`` or ``"partner"``) for every dose;
    default: per dose, the one that moves its logit more over its posterior spread.
    Returns a dict of arrays over the combination doses (``mean``, ``p_under``,
    ``p_target``, ``p_over``, ``axis``) and the parameters' posterior means.
    """
    post = _Posterior(model, mono_counts, combo_counts)
    D = len(post.r)
    res = {}
    for ax in ("eta", "partner"):
        fr = _Frame(post, ax, n_outer, n_panels, box)
        res[ax] = (fr, *_locate(fr, locate))
    # moments of all four parameters (from the eta frame)
    fr, m, L, lo, hi = res["eta"]
    base = _summaries(fr, m, L, lo, hi, [])
    if inner is None:
        V, W, _, X, w, ld = fr.evaluate(m, L, lo, hi)
        mass = W[:, None] * w * np.exp(ld - ld.max())
        full = fr.params(V, X)
        mean = np.array([(mass * p).sum() for p in full]) / mass.sum()
        sd = np.sqrt(np.array([(mass * (p - mu) ** 2).sum() for p, mu in zip(full, mean, strict=True)]) / mass.sum())
        eps = 1e-5
        g = []
        for k in (2, 3):
            hi_, lo_ = mean.copy(), mean.copy()
            hi_[k] += eps
            lo_[k] -= eps
            g.append(np.abs(post.combo_logit(*hi_) - post.combo_logit(*lo_)) / (2 * eps) * sd[k])
        axis = np.where(g[1] >= g[0], "eta", "partner")
    else:
        axis = np.array([inner] * D)
    above = np.empty((2, D))
    for ax in ("eta", "partner"):
        doses = [d for d in range(D) if axis[d] == ax]
        if doses:
            s = _summaries(*res[ax], doses)
            above[:, doses] = s["above"][:, doses]
    out = {k: base[k] for k in ("mean", *NAMES, "edge", "edge_outer")}
    out["p_under"] = 1.0 - above[0]
    out["p_target"] = above[0] - above[1]
    out["p_over"] = above[1]
    out["axis"] = axis
    return out


def model_key(model):
    """What identifies a stored reference's model: priors and target interval."""
    pr = model.mono.prior
    return [list(pr.mean), list(pr.sd), pr.corr, model.partner_prior.mean,
            model.partner_prior.sd, model.interaction_prior.mean, model.interaction_prior.sd,
            list(model.cuts)]  # fmt: skip
