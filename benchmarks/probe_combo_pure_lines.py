"""Probe (issue 13 item 5): the combination BLRM on per-state frames with pure-parameter lines.

Not used by the library.  It measures what a per-state engine built on the model's
closed-form interval cuts costs and how accurate it is, on the 39 stored programme states
of ``tests/reference_data/combo_programme_scenarios.json`` (references from the tests'
independent integration, ``tests/combo_engine_reference.py``).

Method (numba, one state at a time):

* **frame**: ``(log alpha, log beta)`` whitened by their posterior moments (a 2-D grid
  on the monotherapy data, cached per monotherapy state, then one coarse 9^4 pass of the
  same kernel on all data)
  ``logit p2`` and ``eta`` on an axis-aligned box centred on
  their regression on ``(log alpha, log beta)`` with their conditional SDs, so that grid
  lines along either inner axis move that parameter alone;
* **cuts in closed form** along those lines: along ``eta``
  ``l_d = logit p0 + eta d / d*`` (doses 2-5)
  along ``logit p2``
  ``p2 >= (p* - p1) / (1 - p1)`` (dose 1, 30 mg, where ``eta d / d*`` barely moves the
  logit)
  the tail of each line from its cut by the trapezoid rule with Euler-Maclaurin
  end terms and, in the cut cell, a cubic in ``log f`` and 3-point Gauss-Legendre;
* **certified pruning**: nodes whose prior x monotherapy likelihood x *saturated*
  combination likelihood is ``prune`` log units below a computed node are skipped
  the
  bound on the skipped mass relative to the posterior is reported (``dropped``).

Run: ``PYTHONPATH=src python benchmarks/probe_combo_pure_lines.py [--configs
25,8,21,6.5 31,8,21,6.5 41,8,31,7]`` (outer points, outer half-width in SDs, inner
points, inner half-width).  Results: ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

import numpy as np
from numba import njit
from scipy.special import log_expit

MA, MB, SA, SB = -1.0986, 0.0, 2.0, 1.0  # BLRM prior of (log alpha, log beta)
MP, SP = -2.9444389791664403, 0.8  # logit P(DLT) of tislelizumab alone
ME, SE = 0.0, 1.121  # interaction
REF = 300.0
XM = np.log(np.array([1, 3, 10, 30, 100, 300, 600, 900.0]) / REF)
DC = np.array([30, 100, 300, 600, 900.0])
XC = np.log(DC / REF)
R = DC / REF
LCS = np.log(np.array([0.16, 0.33]) / (1 - np.array([0.16, 0.33])))
STATES = Path(__file__).resolve().parents[1] / "tests" / "reference_data" / "combo_programme_scenarios.json"


@njit(cache=True, error_model="numpy")
def _softplus(x):
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@njit(cache=True, error_model="numpy")
def _tail_s(f, suf, j0, stride, n, h, tstar, t0):
    """int_{tstar}^{inf} of a line density f[j0 + stride*j] (nodes t0 + h*j); suf[j] =
    h*(f_j/2 + sum_{i>j} f_i)."""
    x = (tstar - t0) / h
    k = 0 if x <= 0.0 else math.ceil(x)
    if k >= n:
        return 0.0
    s = suf[k]
    if k >= 2 and k <= n - 3:
        fm2 = f[j0 + (k - 2) * stride]
        fm1 = f[j0 + (k - 1) * stride]
        fp1 = f[j0 + (k + 1) * stride]
        fp2 = f[j0 + (k + 2) * stride]
        d1 = (fm2 - 8.0 * fm1 + 8.0 * fp1 - fp2) / (12.0 * h)
        d3 = (fp2 - 2.0 * fp1 + 2.0 * fm1 - fm2) / (2.0 * h * h * h)
        s += h * h / 12.0 * d1 - h ** 4 / 720.0 * d3
    if x <= 0.0:
        return s
    a = max(k - 2, 0)
    if a + 3 > n - 1:
        a = n - 4
    g0 = f[j0 + a * stride]
    g1 = f[j0 + (a + 1) * stride]
    g2 = f[j0 + (a + 2) * stride]
    g3 = f[j0 + (a + 3) * stride]
    if g0 <= 0.0 or g1 <= 0.0 or g2 <= 0.0 or g3 <= 0.0:
        lo = f[j0 + (k - 1) * stride]
        hi = f[j0 + k * stride]
        frac = k - x
        fx = hi + (lo - hi) * frac
        return s + 0.5 * (fx + hi) * frac * h
    L0 = math.log(g0)
    L1 = math.log(g1)
    L2 = math.log(g2)
    L3 = math.log(g3)
    xa = x - a
    xb = k - a
    half = 0.5 * (xb - xa)
    mid = 0.5 * (xb + xa)
    tot = 0.0
    for q in range(3):
        z = (-0.7745966692414834, 0.0, 0.7745966692414834)[q]
        wq = (0.5555555555555556, 0.8888888888888888, 0.5555555555555556)[q]
        u = mid + half * z
        lg = (L0 * (u - 1) * (u - 2) * (u - 3) / (-6.0) + L1 * u * (u - 2) * (u - 3) / 2.0
             + L2 * u * (u - 1) * (u - 3) / (-2.0) + L3 * u * (u - 1) * (u - 2) / 6.0)
        tot += wq * math.exp(lg)
    return s + tot * half * h


@njit(cache=True, error_model="numpy")
def fused(base_o, log1mp1, lp2_off, eta_off, t, s_p, s_e, mp, sp, me, se,
           nc, yc, r, lcs, la_o, lb_o, prune, eta_from, llsat):
    no = base_o.shape[0]
    ni = t.shape[0]
    D = r.shape[0]
    h = t[1] - t[0]
    NEG = -1e300
    logf = np.full((no, ni, ni), NEG)
    A = np.zeros((no, ni, D))
    bmax = NEG
    for o in range(no):
        if base_o[o] > bmax:
            bmax = base_o[o]
    M = NEG
    # a lower bound on the largest log density: the node of largest base at the inner centre
    ob = 0
    for o in range(no):
        if base_o[o] == bmax:
            ob = o
    jc = ni // 2
    lp2 = lp2_off[ob] + s_p * t[jc]
    eta = eta_off[ob] + s_e * t[jc]
    zp = (lp2 - mp) / sp
    ze = (eta - me) / se
    mest = bmax - 0.5 * zp * zp - 0.5 * ze * ze
    l1m2 = -_softplus(lp2)
    for d in range(D):
        if nc[d] > 0:
            lq0 = log1mp1[ob, d] + l1m2
            lg = math.log(-math.expm1(lq0)) - lq0 + r[d] * eta
            mest += yc[d] * lg - nc[d] * _softplus(lg)
    # prune where prior x monotherapy likelihood x saturated combination likelihood is small
    thr = mest - prune - llsat
    for o in range(no):
        if base_o[o] < thr:
            continue
        for j1 in range(ni):
            lp2 = lp2_off[o] + s_p * t[j1]
            zp = (lp2 - mp) / sp
            pp = base_o[o] - 0.5 * zp * zp
            if pp < thr:
                continue
            l1m2 = -_softplus(lp2)
            for d in range(D):
                lq0 = log1mp1[o, d] + l1m2
                A[o, j1, d] = math.log(-math.expm1(lq0)) - lq0
            for j2 in range(ni):
                eta = eta_off[o] + s_e * t[j2]
                ze = (eta - me) / se
                ll = pp - 0.5 * ze * ze
                if ll < thr:
                    continue
                for d in range(D):
                    if nc[d] > 0:
                        lg = A[o, j1, d] + r[d] * eta
                        ll += yc[d] * lg - nc[d] * _softplus(lg)
                logf[o, j1, j2] = ll
                if ll > M:
                    M = ll
    f = np.zeros((no, ni, ni))
    Z = 0.0
    mom = np.zeros(4)
    sec = np.zeros((4, 4))
    pmean = np.zeros(D)
    edge_i = 0.0
    th = np.empty(4)
    cut = M - 40.0
    for o in range(no):
        for j1 in range(ni):
            for j2 in range(ni):
                lv = logf[o, j1, j2]
                if lv < cut:
                    continue
                v = math.exp(lv - M)
                f[o, j1, j2] = v
                Z += v
                eta = eta_off[o] + s_e * t[j2]
                th[0] = la_o[o]
                th[1] = lb_o[o]
                th[2] = lp2_off[o] + s_p * t[j1]
                th[3] = eta
                for a in range(4):
                    mom[a] += v * th[a]
                    for b in range(a, 4):
                        sec[a, b] += v * th[a] * th[b]
                if v > 1e-12:
                    for d in range(D):
                        pmean[d] += v / (1.0 + math.exp(-(A[o, j1, d] + r[d] * eta)))
                if j1 == 0 or j1 == ni - 1 or j2 == 0 or j2 == ni - 1:
                    edge_i += v
    for a in range(4):
        for b in range(a):
            sec[a, b] = sec[b, a]
    P = np.zeros((2, D))
    fl = f.reshape(no * ni * ni)
    suf = np.empty(ni)
    t0 = t[0]
    for o in range(no):
        for j1 in range(ni):
            j0 = (o * ni + j1) * ni
            acc = 0.0
            for j in range(ni - 1, -1, -1):
                suf[j] = h * (0.5 * fl[j0 + j] + acc)
                acc += fl[j0 + j]
            if acc == 0.0:
                continue
            for d in range(eta_from, D):
                for k in range(2):
                    ts = ((lcs[k] - A[o, j1, d]) / r[d] - eta_off[o]) / s_e
                    P[k, d] += _tail_s(fl, suf, j0, 1, ni, h, ts, t0)
        if eta_from > 0:
            for j2 in range(ni):
                j0 = o * ni * ni + j2
                acc = 0.0
                for j in range(ni - 1, -1, -1):
                    suf[j] = h * (0.5 * fl[j0 + j * ni] + acc)
                    acc += fl[j0 + j * ni]
                if acc == 0.0:
                    continue
                eta = eta_off[o] + s_e * t[j2]
                for d in range(eta_from):
                    p1 = -math.expm1(log1mp1[o, d])
                    for k in range(2):
                        pst = 1.0 / (1.0 + math.exp(-(lcs[k] - r[d] * eta)))
                        if p1 >= pst:
                            ts = -1e300
                        elif pst >= 1.0:
                            ts = 1e300
                        else:
                            p2s = (pst - p1) / (1.0 - p1)
                            ts = (math.log(p2s / (1.0 - p2s)) - lp2_off[o]) / s_p
                        P[k, d] += _tail_s(fl, suf, j0, ni, ni, h, ts, t0)
    # certificate: bound on the pruned mass relative to Z (combination likelihood <= 1)
    dropped = 0.0
    for o in range(no):
        for j1 in range(ni):
            zp = (lp2_off[o] + s_p * t[j1] - mp) / sp
            for j2 in range(ni):
                if logf[o, j1, j2] == NEG:
                    ze = (eta_off[o] + s_e * t[j2] - me) / se
                    dropped += math.exp(base_o[o] - 0.5 * zp * zp - 0.5 * ze * ze + llsat - M)
    return Z, P / (Z * h), mom / Z, sec / Z, pmean / Z, edge_i / Z, f, dropped / Z


def mono_moments(n, y, cache, npts=61):
    """Mean and covariance of (log alpha, log beta) under the prior and the monotherapy
    counts (a 2-D grid, two passes), cached per monotherapy state."""
    key = (n.tobytes(), y.tobytes())
    if key in cache:
        return cache[key]
    m, L = np.zeros(2), np.eye(2) * 7.0 / 8.0
    for _ in range(2):
        t = -8 + 16 / npts * (np.arange(npts) + 0.5)
        V = np.stack(np.meshgrid(t, t, indexing="ij")).reshape(2, -1)
        U = m[:, None] + L @ V
        la, lb = MA + SA * U[0], MB + SB * U[1]
        eta = la[:, None] + np.exp(lb)[:, None] * XM
        lp = -0.5 * (U * U).sum(0) + log_expit(eta) @ y + log_expit(-eta) @ (n - y)
        w = np.exp(lp - lp.max())
        w /= w.sum()
        m = U @ w
        d = U - m[:, None]
        L = np.linalg.cholesky((d * w) @ d.T + 1e-12 * np.eye(2))
    th = np.stack([MA + SA * U[0], MB + SB * U[1]])
    mt = th @ w
    dt = th - mt[:, None]
    cache[key] = (mt, (dt * w) @ dt.T)
    return cache[key]


def run_frame(mean, cov, state, no, Ro, ni, Ri, prune=20.0, eta_from=1):
    """One pass of the kernel on the frame of ``mean``, ``cov`` (4-D posterior moments)."""
    nm, ym, nc, yc = state
    Lo = np.linalg.cholesky(cov[:2, :2])
    tv = np.linspace(-Ro, Ro, no)
    V = np.stack(np.meshgrid(tv, tv, indexing="ij")).reshape(2, -1)
    TH = mean[:2, None] + Lo @ V
    la, lb = TH
    B = cov[2:, :2] @ np.linalg.inv(cov[:2, :2])
    off = mean[2:, None] + B @ (TH - mean[:2, None])
    s_p, s_e = np.sqrt(np.diag(cov[2:, 2:] - B @ cov[:2, 2:]))
    base = -0.5 * (((la - MA) / SA) ** 2 + ((lb - MB) / SB) ** 2)
    em = la[:, None] + np.exp(lb)[:, None] * XM
    base = base + log_expit(em) @ ym + log_expit(-em) @ (nm - ym)
    log1mp1 = np.ascontiguousarray(log_expit(-(la[:, None] + np.exp(lb)[:, None] * XC)))
    t = np.linspace(-Ri, Ri, ni)
    q = np.where(nc > 0, yc / np.maximum(nc, 1), 0.5)
    with np.errstate(divide="ignore", invalid="ignore"):
        llsat = float(np.sum(np.where(yc > 0, yc * np.log(q), 0.0)
                             + np.where(nc - yc > 0, (nc - yc) * np.log1p(-q), 0.0)))
    _, P, mom, sec, _, edge_i, f, dropped = fused(
        base, log1mp1, off[0].copy(), off[1].copy(), t, s_p, s_e, MP, SP, ME, SE,
        nc.astype(float), yc.astype(float), R, LCS, la.copy(), lb.copy(), prune, eta_from, llsat)
    fo = f.sum(axis=(1, 2)).reshape(no, no)
    edge_o = (fo[0].sum() + fo[-1].sum() + fo[1:-1, 0].sum() + fo[1:-1, -1].sum()) / fo.sum()
    return {"P": P, "mean": mom, "cov": sec - np.outer(mom, mom), "edge_o": edge_o,
            "edge_i": edge_i, "dropped": dropped, "kept": float((f > 0).mean())}


def estimate(state, final, cache, prune=20.0):
    """``P(p >= 0.16)`` and ``P(p >= 0.33)`` per combination dose (shape (2, 5))."""
    nm, ym, _, _ = state
    mo, co = mono_moments(nm, ym, cache)
    mean = np.array([mo[0], mo[1], MP, ME])
    cov = np.zeros((4, 4))
    cov[:2, :2] = co
    cov[2, 2], cov[3, 3] = SP**2, SE**2
    out = run_frame(mean, cov, state, 9, 5.0, 9, 5.0, prune=prune)
    return run_frame(out["mean"], out["cov"], state, *final, prune=prune)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", nargs="+", default=["25,8,21,6.5", "31,8,21,6.5", "41,8,31,7"])
    ap.add_argument("--prune", type=float, default=20.0)
    args = ap.parse_args()
    data = json.loads(STATES.read_text())
    rows = data["first_decisions"] + data["states"]
    keys = ("mono_n", "mono_dlt", "combo_n", "combo_dlt")
    states = [tuple(np.array(s[k]) for k in keys) for s in rows]
    refs = [np.stack([np.add(s["p_target"], s["p_over"]), np.array(s["p_over"])]) for s in rows]
    estimate(states[0], (9, 5.0, 9, 5.0), {})  # compile
    print(json.dumps({"machine": platform.node(), "cpu": platform.processor() or platform.machine(),
                      "date": time.strftime("%Y-%m-%d"), "states": len(states)}))
    for c in args.configs:
        v = c.split(",")
        final = (int(v[0]), float(v[1]), int(v[2]), float(v[3]))
        cache: dict = {}
        t0 = time.process_time()
        out = [estimate(st, final, cache, args.prune) for st in states]
        cpu = (time.process_time() - t0) / len(states)
        err = np.array([np.abs(o["P"] - r).max(axis=0) for o, r in zip(out, refs, strict=True)])
        print(json.dumps({
            "config": c, "cpu_ms_per_state": round(cpu * 1e3, 1),
            "max_error_per_dose": err.max(axis=0).round(5).tolist(),
            "states_over_1e-3": int((err.max(axis=1) > 1e-3).sum()),
            "mean_kept_fraction": round(float(np.mean([o["kept"] for o in out])), 3),
            "max_pruned_mass_bound": float(max(o["dropped"] for o in out)),
            "max_edge_mass": float(max(max(o["edge_o"], o["edge_i"]) for o in out)),
        }))


if __name__ == "__main__":
    main()
