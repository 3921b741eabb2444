"""Exact combination-BLRM summaries before any combination patient (tests only).

With monotherapy data and no combination patients the posterior factorises: the
single-agent parameters ``(log alpha, log beta)`` follow the monotherapy BLRM posterior,
``logit p2`` and ``eta`` keep their independent normal priors.  Given ``(log alpha,
log beta, logit p2)`` the combination logit is ``a0 + eta d / d*``, so

    P(p12(d) >= c | log alpha, log beta, logit p2) = Phi(-(eta*(c) - m_eta) / s_eta),
    eta*(c) = (logit c - a0) d* / d,

in closed form (or, symmetrically, the cut along ``logit p2`` given ``eta``); the other of
the two is integrated by the trapezoid rule on +-8 prior SDs (a smooth integrand, steep at
low doses: hence many points) and ``(log alpha, log beta)`` by the midpoint rule on a fine grid of the whitened prior
coordinates (the integrand is smooth there too: the rule converges geometrically).
Written from the model's definition, sharing no code with the engines; no frame, no box
chosen from the posterior, so heavy tails cannot be cut off unseen (``edge`` reports the
mass in the grid's outermost layer).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_expit, logit, ndtr


def _trapezoid(m, sd, n, width=8.0):
    x = np.linspace(-width, width, n)
    w = np.exp(-0.5 * x * x)
    return m + sd * x, w / w.sum()


def first_decision(model, mono_n, mono_dlt, n=800, span=9.0, n_other=161, exact="eta"):
    """``p_under``, ``p_target``, ``p_over`` per combination dose and the edge mass.

    ``exact``: the parameter integrated in closed form (``"eta"`` or ``"partner"``); the
    other one by the trapezoid rule on +-8 prior SDs (``n_other`` points).  The two
    choices are independent computations of the same integrals.
    """
    if exact not in ("eta", "partner"):
        raise ValueError(f"first_decision: exact must be 'eta' or 'partner', got {exact!r}")
    pr = model.mono.prior
    (ma, mb), (sa, sb), r = pr.mean, pr.sd, pr.corr
    ref = model.mono.reference_dose
    xm = np.log(np.asarray(model.mono.doses, float) / ref)
    dc = np.asarray(model.combo_doses, float)
    xc, rc = np.log(dc / ref), dc / ref
    h = 2 * span / n
    u = -span + h * (np.arange(n) + 0.5)
    u1, u2 = np.meshgrid(u, u, indexing="ij")
    lb = mb + sb * u1
    la = ma + sa * (r * u1 + np.sqrt(1 - r * r) * u2)
    lw = -0.5 * (u1 * u1 + u2 * u2)
    nm, ym = np.asarray(mono_n, float), np.asarray(mono_dlt, float)
    for j, x in enumerate(xm):
        if nm[j]:
            e = la + np.exp(lb) * x
            lw += ym[j] * log_expit(e) + (nm[j] - ym[j]) * log_expit(-e)
    w = np.exp(lw - lw.max())
    w /= w.sum()
    edge = w[[0, -1]].sum() + w[1:-1, [0, -1]].sum()
    keep = w > 1e-18 * w.max()
    wk, lak, lbk = w[keep], la[keep], lb[keep]
    pp, ip = model.partner_prior, model.interaction_prior
    p2, w2 = _trapezoid(pp.mean, pp.sd, n_other)
    eta, we = _trapezoid(ip.mean, ip.sd, n_other)
    above = np.empty((2, len(dc)))
    for d in range(len(dc)):
        e1 = (lak + np.exp(lbk) * xc[d])[:, None]
        for k, c in enumerate(model.cuts):
            if exact == "eta":
                lq0 = log_expit(-e1) + log_expit(-p2)[None, :]
                a0 = np.log(-np.expm1(lq0)) - lq0
                z = ((logit(c) - a0) / rc[d] - ip.mean) / ip.sd
                above[k, d] = wk @ (ndtr(-z) @ w2)
            else:
                ls = log_expit(-(logit(c) - rc[d] * eta))[None, :] - log_expit(-e1)  # log s
                with np.errstate(divide="ignore", invalid="ignore"):
                    p2s = np.log(-np.expm1(np.minimum(ls, -1e-300))) - ls
                z = np.where(ls < 0, (p2s - pp.mean) / pp.sd, -np.inf)
                above[k, d] = wk @ (ndtr(-z) @ we)
    return {"p_under": 1 - above[0], "p_target": above[0] - above[1], "p_over": above[1], "edge": edge}
