"""Combination BLRM: interval probabilities of the grid engine to 1e-3 (issue 10, item 5).

Independent reference, written here: the interval cut is integrated exactly along the
partner's ``logit p2`` (for fixed ``log alpha, log beta, eta`` the event ``p12 >= c`` is
``logit p2 >= t`` in closed form), by Gauss-Legendre on ``[t, Z]``; the outer integral
over ``(eta, log alpha, log beta)`` is a smooth function, integrated by a Gauss-Legendre
product rule on a box of +-8 posterior SDs (found by a first pass on the prior box).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, log_expit, logit

import bayes_dose as bd

Z = 8.0  # partner's standardised axis: +-8 prior SDs
BOX = 6.5  # outer box: +-6.5 posterior SDs (whitened)


def _gl(n, a, b):
    x, w = np.polynomial.legendre.leggauss(n)
    return a + (b - a) * (x + 1) / 2, w * (b - a) / 2


def reference(combo, mono_counts, combo_counts, levels, n_outer=(28, 28, 28), n_inner=24):
    """Posterior mean and P(under), P(target), P(over) of the combination arm."""
    mono = combo.mono
    prior = mono.prior
    ref = mono.reference_dose
    xm = np.log(np.asarray(mono.doses) / ref)
    dc = np.asarray(combo.doses)
    xc = np.log(dc / ref)
    (nm, ym), (nc, yc) = (tuple(np.asarray(a, float) for a in c) for c in (mono_counts, combo_counts))
    pp, ip = combo.partner_prior, combo.interaction_prior
    sa, sb = prior.sd
    cov = np.array([[sa * sa, prior.corr * sa * sb], [prior.corr * sa * sb, sb * sb]])
    prec = np.linalg.inv(cov)
    t_in, w_in = np.polynomial.legendre.leggauss(n_inner)
    t_a, w_a = np.polynomial.legendre.leggauss(n_outer[2])

    def log_outer(E, B, A):
        """Log prior of (eta, log beta, log alpha) + mono log likelihood."""
        dv = np.stack([A - prior.mean[0], B - prior.mean[1]])
        lw = -0.5 * np.einsum("is,ij,js->s", dv, prec, dv) - 0.5 * ((E - ip.mean) / ip.sd) ** 2
        eta = A[:, None] + np.exp(B)[:, None] * xm
        return lw + (ym * log_expit(eta) + (nm - ym) * log_expit(-eta)).sum(axis=1)

    def inner(E, B, A, zlo):
        """Partner z on [zlo, Z] by Gauss-Legendre: weights, combo logits, log density."""
        lo = np.clip(zlo, -Z, Z)[:, None]
        z = lo + (Z - lo) * (t_in + 1) / 2
        wz = w_in * (Z - lo) / 2
        lp2 = pp.mean + pp.sd * z
        e1 = (A + np.exp(B) * 0)[:, None, None] + np.exp(B)[:, None, None] * xc
        log_q0 = log_expit(-e1) + log_expit(-lp2)[..., None]
        eta = np.log(-np.expm1(log_q0)) - log_q0 + E[:, None, None] * (dc / ref)
        ll = (yc * log_expit(eta) + (nc - yc) * log_expit(-eta)).sum(axis=2)
        return wz, eta, ll - 0.5 * z * z

    def frame_nodes(m, L, split=None):
        """Nodes of (eta, log beta, log alpha) = m + L g (L lower triangular), g in
        [-8, 8]^3; with ``split(E, B)`` the log alpha axis is split at that value."""
        (g1, w1), (g2, w2) = (_gl(n, -BOX, BOX) for n in n_outer[:2])
        G1, G2 = (g.ravel() for g in np.meshgrid(g1, g2, indexing="ij"))
        W12 = np.outer(w1, w2).ravel()
        E = m[0] + L[0, 0] * G1
        B = m[1] + L[1, 0] * G1 + L[1, 1] * G2
        base = m[2] + L[2, 0] * G1 + L[2, 1] * G2
        pieces = [(-BOX * np.ones_like(E), BOX * np.ones_like(E))]
        if split is not None:
            g3s = np.clip((split(E, B) - base) / L[2, 2], -BOX, BOX)
            pieces = [(pieces[0][0], g3s), (g3s, pieces[0][1])]
        for lo, hi in pieces:
            g3 = lo[:, None] + (hi - lo)[:, None] * (t_a + 1) / 2
            w3 = w_a * (hi - lo)[:, None] / 2
            Er, Br = (np.broadcast_to(v[:, None], g3.shape).ravel() for v in (E, B))
            yield Er, Br, (base[:, None] + L[2, 2] * g3).ravel(), (W12[:, None] * w3).ravel()

    def moments_and_norm(m, L):
        tot, s1, s2, shift = 0.0, np.zeros(3), np.zeros((3, 3)), None
        for E, B, A, W in frame_nodes(m, L):
            wz, _, lz = inner(E, B, A, np.full(E.shape, -Z))
            lw = log_outer(E, B, A)[:, None] + lz
            shift = lw.max() if shift is None else shift
            mass = W * (np.exp(lw - shift) * wz).sum(axis=1)
            V = np.stack([E, B, A])
            tot, s1, s2 = tot + mass.sum(), s1 + V @ mass, s2 + (V * mass) @ V.T
        mean = s1 / tot
        return mean, s2 / tot - np.outer(mean, mean), shift

    m = np.array([ip.mean, prior.mean[1], prior.mean[0]])
    C = np.diag([ip.sd**2, sb**2, sa**2])
    C[1, 2] = C[2, 1] = cov[0, 1]
    for _ in range(4):  # locate: re-centre and re-whiten on the moments found
        m, C, _ = moments_and_norm(m, np.linalg.cholesky(C))
    L = np.linalg.cholesky(C)
    shift = moments_and_norm(m, L)[2]

    def integral(fun, split=None):
        tot = 0.0
        for E, B, A, W in frame_nodes(m, L, split):
            tot += (W * fun(E, B, A, log_outer(E, B, A) - shift)).sum()
        return tot

    def full(E, B, A, lo):
        wz, _, lz = inner(E, B, A, np.full(E.shape, -Z))
        return (np.exp(lo[:, None] + lz) * wz).sum(axis=1)

    total = integral(full)
    out = {}
    for d in levels:

        def mean_fun(E, B, A, lo, d=d):
            wz, eta, lz = inner(E, B, A, np.full(E.shape, -Z))
            return (np.exp(lo[:, None] + lz) * wz * expit(eta[..., d])).sum(axis=1)

        above = []
        for c in combo.target_interval:

            def p_star(E, c=c, d=d):
                return expit(logit(c) - E * dc[d] / ref)

            def cut_fun(E, B, A, lo, c=c, d=d):
                # p12 >= c  <=>  logit p2 >= t (closed form; t = -inf when p1 suffices)
                ps = p_star(E)
                p1 = expit(A + np.exp(B) * xc[d])
                with np.errstate(divide="ignore", invalid="ignore"):
                    t = np.where(p1 >= ps, -np.inf, logit((ps - p1) / (1 - p1)))
                wz, _, lz = inner(E, B, A, (t - pp.mean) / pp.sd)
                return (np.exp(lo[:, None] + lz) * wz).sum(axis=1)

            # log alpha is split where p1 alone reaches the cut (t -> -inf there)
            above.append(integral(cut_fun, lambda E, B, d=d, ps=p_star: logit(ps(E)) - np.exp(B) * xc[d]) / total)
        mean = integral(mean_fun) / total
        out[d] = (mean, 1 - above[0], above[0] - above[1], above[1])
    return out


def counts(combo, out_mono, out_combo):
    dm = bd.DoseData.from_outcomes(out_mono, combo.mono.n_doses)
    dc = bd.DoseData.from_outcomes(out_combo, combo.n_doses)
    return (dm.n[0], dm.dlt[0]), (dc.n[0], dc.dlt[0]), dc


def errors(combo, out_mono, out_combo):
    """Largest error per dose of the engine against the reference, and the estimate."""
    mono_c, combo_c, data = counts(combo, out_mono, out_combo)
    est = combo.estimate(data, mono_counts=mono_c)
    levels = range(combo.n_doses)
    ref = reference(combo, mono_c, combo_c, levels)
    err = []
    for d in levels:
        got = (est.prob_mean[0, d], *(est.stats[k][0, d] for k in ("p_under", "p_target", "p_over")))
        err.append(np.abs(np.asarray(got) - np.asarray(ref[d])).max())
    return np.asarray(err), est


def check(combo, out_mono, out_combo, tol=1e-3):
    err, est = errors(combo, out_mono, out_combo)
    assert err.max() < tol, err
    assert not est.stats["grid_flag"].any()


def check_never_silent(combo, out_mono, out_combo, tol=1e-3):
    """Either within ``tol`` of the reference, or flagged on the estimate."""
    err, est = errors(combo, out_mono, out_combo)
    assert err.max() < tol or (est.stats["grid_flag"].all() and est.grid_flags), err
    return err, est


@pytest.fixture(scope="module")
def mono():
    return bd.BLRM(bd.protocols.bat6021().arm("mono").doses_mg, reference_dose=300)


def test_reference_reproduces_the_closed_form_prior_at_the_partner_alone(mono):
    """Sanity check of the reference itself: no data, eta = 0 exactly (tiny sd) and
    log alpha very low: p12 ~ p2, so P(p12 >= c) = 1 - Phi((logit c - m2) / s2)."""
    from scipy.stats import norm

    tiny = bd.BLRM(mono.doses, reference_dose=300, prior=bd.BLRMPrior((-12.0, 0.0), (0.1, 0.1)))
    combo = bd.CombinationBLRM(mono=tiny, interaction_prior=bd.NormalPrior(0.0, 1e-3),
                               grid=(9, 9, 11, 11))  # fmt: skip
    z = np.zeros(len(combo.doses), dtype=int)
    ref = reference(combo, (np.zeros(8, int), np.zeros(8, int)), (z, z), [0])
    pp = combo.partner_prior
    want = 1 - norm.cdf((logit(0.33) - pp.mean) / pp.sd)
    assert ref[0][3] == pytest.approx(want, abs=1e-5)


def test_bundled_example_default_grid(mono):
    """The BAT6021 example with the default grid (was up to 0.013 off)."""
    out = bd.examples.bat6021_outcomes()
    check(bd.CombinationBLRM(mono=mono), out.arm("mono"), out.arm("combo"))


def test_bundled_spec_grid(mono):
    """The grid of the bundled bat6021_designs.toml (was up to 0.10 off)."""
    import tomllib
    from importlib.resources import files

    spec = tomllib.loads((files("bayes_dose") / "data" / "bat6021_designs.toml").read_text())
    grid = tuple(spec["designs"]["combo BLRM"]["grid"])
    out = bd.examples.bat6021_outcomes()
    check(bd.CombinationBLRM(mono=mono, grid=grid), out.arm("mono"), out.arm("combo"))


CONFLICT = ("4NNN 5NNN 6NNN 6NNN 7NNN 7NNN", "1NTT 1TNT 1NTN")
NEGATIVE = ("4NNN 5NNN 6NTN 6TNN 7TTN", "1NNN 2NNN 3NNN 4NNN 5NNN 5NNN")


def _outcomes(case):
    return bd.Outcomes.parse(case[0], arm="mono"), bd.Outcomes.parse(case[1], arm="combo")


def test_prior_data_conflict_is_accurate_or_flagged(mono):
    """Monotherapy clean to 600 mg, combination toxic at its lowest dose: the partner and
    interaction posteriors move far from their priors, past what the default prior grid
    resolves: the result is within 1e-3 or flagged."""
    check_never_silent(bd.CombinationBLRM(mono=mono), *_outcomes(CONFLICT))


def test_negative_interaction_is_accurate_or_flagged(mono):
    """Monotherapy toxic at 300-600 mg, combination clean up to its top dose: eta < 0."""
    combo = bd.CombinationBLRM(mono=mono)
    _, est = check_never_silent(combo, *_outcomes(NEGATIVE))
    assert est.stats["eta_mean"][0] < -0.5


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the default prior grid does not resolve these "
                   "posteriors (flagged, not silent); 4-D posterior grids (adaptive=True, "
                   "capped at 300k nodes) still miss 1e-3 by up to 1.8e-3")
@pytest.mark.parametrize("case", [CONFLICT, NEGATIVE], ids=["conflict", "negative"])
def test_conflict_and_negative_interaction_to_1e3(mono, case):
    check(bd.CombinationBLRM(mono=mono), *_outcomes(case))
