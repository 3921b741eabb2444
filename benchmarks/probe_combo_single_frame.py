"""Probe (issue 13 item 5, negative result): one pivoted Laplace frame per state.

Not part of the package: a record of a method tried for the 10,000-programme target and
why it is not used.  It integrates the combination-BLRM posterior in one frame per state
instead of the certified engine's five per-dose frames:

1. mode and Laplace covariance (the certified engine's vectorised Newton);
2. pivot coordinates ``phi = (eta_c, log beta, logit p2, eta)``, ``eta_c = log alpha +
   exp(log beta) x_c`` with ``x_c`` decorrelating ``eta_c`` and ``log beta`` at the mode
   (Jacobian 1), meant to straighten the curved ("banana") posteriors of monotherapy data
   concentrated at one dose;
3. inner lines along one direction in ``(eta_c, logit p2, eta)`` with non-negative
   components (the sum of the doses' C-metric steepest directions), along which every
   combination dose's logit increases, so each interval cut crosses a line once; cubic
   log-density cells and the cut located by regula falsi (helpers of
   :mod:`bayes_dose.inference.combo_quadrature`); Gauss-Hermite outer product rule;
4. self-check between orders ``order`` and ``order - 2``, else the certified quadrature.

Measured (benchmarks/RESULTS.md): on the 5 stored reference cases within 3.1e-4 at order
10, but on states captured from a programme simulation errors up to 5.6e-3 against the
certified quadrature at order 10, the order-8/10 difference is not a reliable error bar
(0.3e-3 with an error of 2.1e-3), 80 % of the states fail the self-check, and a state
costs ~60 ms: slower overall than the certified engine alone.

Run: ``PYTHONPATH=src python benchmarks/probe_combo_single_frame.py [--programmes 30]
[--states 24]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, log_expit

from bayes_dose.inference.blrm_model import CATEGORIES
from bayes_dose.inference.combo_quadrature import (
    EDGE_TOL,
    ComboQuadrature,
    QuadratureSettings,
    StateCache,
    _cells,
    _gh,
    _householder_to,
    _tail_cell,
)
from bayes_dose.inference.estimate import Estimate

__all__ = ["ComboFast", "FastSettings", "combo_fast"]

Counts = Mapping[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class FastSettings:
    """Resolution of :class:`ComboFast`.

    Parameters
    ----------
    order : int
        Gauss-Hermite points per outer axis (checked against ``order - 2``).
    step, width : float
        Inner lines: node spacing and half-width, in posterior SDs along the line.
    tol : float
        Largest difference between the two orders for a state to be accepted.
    block : int
        States integrated together (memory: ``block * order^3 * nodes per line``).
    cache_size : int
        States kept in the result cache.
    fallback : QuadratureSettings
        Settings of the certified quadrature for states that fail the self-check.

    Examples
    --------
    >>> from bayes_dose.inference.combo_fast import FastSettings
    >>> FastSettings().order
    6
    """

    order: int = 6
    step: float = 1.0
    width: float = 8.0
    tol: float = 2.5e-4
    block: int = 64
    cache_size: int = 200_000
    fallback: QuadratureSettings = QuadratureSettings()  # noqa: RUF009 (frozen)

    def __post_init__(self) -> None:
        if int(self.order) < 4:
            raise ValueError(f"FastSettings: order must be >= 4, got {self.order}")
        for name in ("step", "width", "tol"):
            v = float(getattr(self, name))
            if not (v > 0 and np.isfinite(v)):
                raise ValueError(f"FastSettings: {name!r} must be positive, got {v}")
        if int(self.block) < 1 or int(self.cache_size) < 0:
            raise ValueError("FastSettings: block must be >= 1 and cache_size >= 0")
        if not isinstance(self.fallback, QuadratureSettings):
            raise ValueError("FastSettings: fallback must be QuadratureSettings")
        for name in ("order", "block", "cache_size"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("step", "width", "tol"):
            object.__setattr__(self, name, float(getattr(self, name)))


def _outer(n: int) -> tuple[np.ndarray, np.ndarray]:
    """3-D Gauss-Hermite nodes (3, S) and ``log weight + |w|^2 / 2`` (S,)."""
    x, lw = _gh(n)
    g = np.meshgrid(x, x, x, indexing="ij")
    lg = np.meshgrid(lw, lw, lw, indexing="ij")
    nodes = np.stack([a.ravel() for a in g])
    return nodes, sum(a.ravel() for a in lg) + 0.5 * (nodes * nodes).sum(axis=0)


class ComboFast:
    """Combination-BLRM posterior summaries for simulation (module docstring).

    Parameters
    ----------
    model : CombinationModel
    settings : FastSettings, optional

    Examples
    --------
    >>> import numpy as np
    >>> import bayes_dose as bd
    >>> from bayes_dose.inference.combo_fast import ComboFast
    >>> mono = bd.BLRM(bd.protocols.bat6021().arm("mono").doses_mg, reference_dose=300)
    >>> combo = bd.CombinationBLRM(mono=mono, doses=bd.protocols.bat6021().arm("combo").doses_mg)
    >>> counts = {"mono": (np.array([[1, 1, 1, 3, 3, 6, 3, 0]]), np.array([[0, 0, 0, 0, 0, 1, 2, 0]])),
    ...           "combo": (np.array([[3, 6, 6, 0, 0]]), np.array([[0, 0, 2, 0, 0]]))}
    >>> est = ComboFast(combo.model).estimate(counts)
    >>> est.stats["p_over"].round(2).tolist()
    [[0.0, 0.0, 0.34, 0.79, 0.83]]
    """

    def __init__(self, model: Any, settings: FastSettings | None = None) -> None:
        self.model = model
        self.settings = FastSettings() if settings is None else settings
        self.cache = StateCache(self.settings.cache_size)
        self.certified = ComboQuadrature(model, self.settings.fallback)
        self.n_fallback = 0
        self.n_fast = 0
        q = self.certified
        self._theta0, self._S = q._theta0, q._S  # theta = theta0 + S u (prior-whitened u)
        pr = model.mono.prior
        self._mu_ab = np.asarray(pr.mean, dtype=float)
        self._prec_ab = np.linalg.inv(np.asarray(pr.cov, dtype=float))
        self._pp, self._ip = model.partner_prior, model.interaction_prior
        ref = model.mono.reference_dose
        self._x_mono = np.log(np.asarray(model.mono.doses, dtype=float) / ref)
        self._x_combo = np.log(np.asarray(model.combo_doses, dtype=float) / ref)
        self._r_combo = np.asarray(model.combo_doses, dtype=float) / ref
        self._cut_logits = np.array([np.log(c / (1.0 - c)) for c in model.cuts])

    # -- model pieces in phi = (eta_c, log beta, logit p2, eta) -----------------------------
    def _outer_terms(self, la: np.ndarray, lb: np.ndarray, counts: Counts) -> np.ndarray:
        """Log prior of (log alpha, log beta) plus the monotherapy log likelihood."""
        da, db = la - self._mu_ab[0], lb - self._mu_ab[1]
        P = self._prec_ab
        lp = -0.5 * (P[0, 0] * da * da + 2 * P[0, 1] * da * db + P[1, 1] * db * db)
        if "mono" in counts:
            n, y = (np.asarray(a, dtype=float) for a in counts["mono"])
            eb = np.exp(lb)
            for j, x in enumerate(self._x_mono):
                if not n[:, j].any():
                    continue
                e1 = la + eb * x
                sh = (slice(None),) + (None,) * (la.ndim - 1)
                lp = lp + n[:, j][sh] * log_expit(e1) - (n - y)[:, j][sh] * e1
        return lp

    def _combo_logits(self, e1: np.ndarray, p2: np.ndarray, eta: np.ndarray) -> np.ndarray:
        """Combination logit of every dose: ``e1`` (..., D) monotherapy logits, ``p2`` and
        ``eta`` (...) -> (..., D)."""
        log_q0 = -np.logaddexp(0.0, e1) - np.logaddexp(0.0, p2)[..., None]
        return np.log(-np.expm1(log_q0)) - log_q0 + eta[..., None] * self._r_combo

    # -- frame -----------------------------------------------------------------------------
    def _frame(self, m_u: np.ndarray, C_u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mode in phi (B, 4), frame ``A`` (B, 4, 4) and pivot ``x_c`` (B,)."""
        th = self._theta0[None] + m_u @ self._S.T  # (B, 4): la, lb, p2, eta
        Ct = np.einsum("pk,bkl,ql->bpq", self._S, C_u, self._S)
        la, lb = th[:, 0], th[:, 1]
        eb = np.exp(lb)
        xc = -Ct[:, 0, 1] / (eb * Ct[:, 1, 1])
        lo = min(self._x_mono.min(), self._x_combo.min())
        hi = max(self._x_mono.max(), self._x_combo.max())
        xc = np.clip(xc, lo, hi)
        B = th.shape[0]
        J = np.broadcast_to(np.eye(4), (B, 4, 4)).copy()
        J[:, 0, 1] = eb * xc
        Cp = J @ Ct @ np.swapaxes(J, 1, 2)
        Cp = 0.5 * (Cp + np.swapaxes(Cp, 1, 2))
        m = th.copy()
        m[:, 0] = la + eb * xc
        L = np.linalg.cholesky(Cp + 1e-14 * np.eye(4))
        # gradient of every dose's logit in phi at the mode: d/d eta_c, d/d p2, d/d eta
        # (d/d log beta is left out: the lines keep log beta fixed)
        e1 = m[:, 0, None] + eb[:, None] * (self._x_combo[None] - xc[:, None])  # (B, D)
        p1, p2 = expit(e1), expit(m[:, 2])[:, None]
        q0 = (1 - p1) * (1 - p2)
        dq = 1.0 / (1.0 - q0)  # d logit p0 / d log(1/q0)
        grad = np.zeros((B, len(self._r_combo), 4))
        grad[:, :, 0] = dq * p1
        grad[:, :, 2] = dq * p2
        grad[:, :, 3] = self._r_combo[None]
        vd = np.einsum("bpq,bdq->bdp", Cp, grad)
        vd /= np.sqrt(np.einsum("bdp,bdp->bd", vd, grad))[..., None]
        v = vd.sum(axis=1)
        v[:, 1] = 0.0
        v = np.clip(v, 0.0, None)
        v[:, 2:] = np.maximum(v[:, 2:], 1e-3 * np.sqrt(np.diagonal(Cp, axis1=1, axis2=2)[:, 2:]))
        q = np.linalg.solve(L, v[..., None])[..., 0]
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        A = L @ _householder_to(q)
        return m, A, xc

    # -- one pass ----------------------------------------------------------------------------
    def _pass(self, counts: Counts, m: np.ndarray, A: np.ndarray, xc: np.ndarray,
              order: int) -> dict[str, np.ndarray]:  # fmt: skip
        st = self.settings
        B = m.shape[0]
        D = len(self._r_combo)
        wo, lwo = _outer(order)
        n_in = int(np.ceil(st.width / st.step))
        t = st.step * np.arange(-n_in, n_in + 1)
        Ni = t.size
        base = m[:, :, None] + np.einsum("bkj,js->bks", A[:, :, :3], wo)  # (B, 4, So)
        dirn = A[:, :, 3]  # (B, 4): only the p2 and eta components are non-zero
        lb = base[:, 1]  # constant along each line
        ebo = np.exp(lb)
        etac = base[:, 0, :, None] + dirn[:, 0, None, None] * t  # (B, So, Ni)
        la = etac - (ebo * xc[:, None])[..., None]
        outer_lp = self._outer_terms(la, np.broadcast_to(lb[..., None], la.shape), counts)
        outer_lp = outer_lp + lwo[None, :, None]
        e1 = la[..., None] + ebo[:, :, None, None] * self._x_combo  # (B, So, Ni, D)
        p2 = base[:, 2, :, None] + dirn[:, 2, None, None] * t  # (B, So, Ni)
        eta = base[:, 3, :, None] + dirn[:, 3, None, None] * t
        lg = self._combo_logits(e1, p2, eta)  # (B, So, Ni, D)
        pp, ip = self._pp, self._ip
        lp = outer_lp - 0.5 * ((p2 - pp.mean) / pp.sd) ** 2 - 0.5 * ((eta - ip.mean) / ip.sd) ** 2
        nc, yc = (np.asarray(a, dtype=float) for a in counts["combo"])
        for d in range(D):
            if nc[:, d].any():
                g = lg[..., d]
                lp = lp + nc[:, d, None, None] * log_expit(g) - (nc - yc)[:, d, None, None] * g
        lp = lp - lp.max(axis=(1, 2), keepdims=True)
        F = np.exp(lp)
        cells = _cells(lp)  # (B, So, Ni - 1)
        total = cells.sum(axis=(1, 2))
        edge = (F[..., :2].sum(axis=2) + F[..., -2:].sum(axis=2)).sum(axis=1) / F.sum(axis=(1, 2))
        W = F / total[:, None, None]  # per unit step
        out: dict[str, np.ndarray] = {"edge": edge}
        out["mean"] = np.einsum("bsn,bsnd->bd", W, expit(lg))
        wl = W.sum(axis=2)  # (B, So): line masses
        out["log_alpha"] = np.einsum("bsn,bsn->b", W, la)
        out["log_beta"] = (wl * lb).sum(axis=1)
        out["logit_partner"] = np.einsum("bsn,bsn->b", W, p2)
        out["eta"] = np.einsum("bsn,bsn->b", W, eta)
        em = la[..., None] + ebo[:, :, None, None] * self._x_mono
        out["mono_prob"] = np.einsum("bsn,bsnd->bd", W, expit(em))
        above = np.empty((2, B, D))
        h = st.step
        for ci, lc in enumerate(self._cut_logits):
            for d in range(D):
                own = lg[..., d]
                i1 = (own < lc).sum(axis=2)  # (B, So) first node at or above the cut
                csum = np.cumsum(cells[..., ::-1], axis=2)[..., ::-1]
                full_from = np.minimum(i1, Ni - 2)
                above_full = np.take_along_axis(csum, full_from[..., None], axis=2)[..., 0]
                above_full = np.where(i1 <= Ni - 2, above_full, 0.0)
                inside = (i1 >= 1) & (i1 <= Ni - 1)
                lo_i = np.clip(i1 - 1, 0, Ni - 2)
                a_t = t[lo_i]
                b_t = a_t + h
                fa = np.take_along_axis(own, lo_i[..., None], axis=2)[..., 0] - lc
                fb = np.take_along_axis(own, (lo_i + 1)[..., None], axis=2)[..., 0] - lc
                xd = self._x_combo[d] - xc[:, None]
                for _ in range(5):
                    with np.errstate(divide="ignore", invalid="ignore"):
                        x = np.where(fb - fa > 0, a_t - fa * (b_t - a_t) / (fb - fa), 0.5 * (a_t + b_t))
                    x = np.clip(x, a_t, b_t)
                    px = base[:, 2] + dirn[:, 2, None] * x
                    ex = base[:, 3] + dirn[:, 3, None] * x
                    e1x = base[:, 0] + dirn[:, 0, None] * x + ebo * xd
                    log_q0 = -np.logaddexp(0.0, e1x) - np.logaddexp(0.0, px)
                    fx = np.log(-np.expm1(log_q0)) - log_q0 + ex * self._r_combo[d] - lc
                    pos = fx >= 0
                    b_t, fb = np.where(pos, x, b_t), np.where(pos, fx, fb)
                    a_t, fa = np.where(pos, a_t, x), np.where(pos, fa, fx)
                with np.errstate(divide="ignore", invalid="ignore"):
                    xs = np.where(fb - fa > 0, a_t - fa * (b_t - a_t) / np.where(fb - fa > 0, fb - fa, 1.0),
                                  0.5 * (a_t + b_t))  # fmt: skip
                s = np.clip((xs - t[lo_i]) / h, 0.0, 1.0)
                part = _tail_cell(lp, lo_i, s)
                line = np.where(inside, part + above_full, np.where(i1 == 0, cells.sum(axis=2), 0.0))
                above[ci, :, d] = line.sum(axis=1) / total
        out["above"] = above
        return out

    # -- estimate ----------------------------------------------------------------------------
    def _solve(self, counts: Counts) -> list[dict[str, Any] | None]:
        """Rows of accepted states; None where the self-check failed."""
        st = self.settings
        B = np.asarray(counts["combo"][0]).shape[0]
        m_u, C_u, ok = self.certified._mode(counts, B)
        m, A, xc = self._frame(m_u, C_u)
        hi = self._pass(counts, m, A, xc, st.order)
        lo = self._pass(counts, m, A, xc, st.order - 2)
        dp = np.abs(hi["above"] - lo["above"]).max(axis=(0, 2))
        dm = np.abs(hi["mean"] - lo["mean"]).max(axis=1)
        good = ok & (dp < st.tol) & (dm < st.tol) & (hi["edge"] < EDGE_TOL)
        good &= np.isfinite(hi["above"]).all(axis=(0, 2)) & np.isfinite(hi["mean"]).all(axis=1)
        rows: list[dict[str, Any] | None] = []
        for b in range(B):
            if not good[b]:
                rows.append(None)
                continue
            a_lo = np.clip(hi["above"][0, b], 0.0, 1.0)
            a_hi = np.clip(hi["above"][1, b], 0.0, 1.0)
            row = {
                "prob_mean": hi["mean"][b], "p_under": 1.0 - a_lo,
                "p_target": np.clip(a_lo - a_hi, 0.0, 1.0), "p_over": a_hi,
                "mono_prob_mean": hi["mono_prob"][b], "edge": float(hi["edge"][b]),
                "err": max(float(dp[b]), float(dm[b])), "order": st.order, "flags": (),
                "fast": True,
            }  # fmt: skip
            for name in self.model.param_names:
                row[f"{name}_mean"] = float(hi[name][b])
            rows.append(row)
        return rows

    def estimate(self, counts: Counts, intervals: bool | None = None) -> Estimate:
        """Posterior summaries of the combination arm for every trial (see module
        docstring); ``intervals=True`` (credible bounds) goes to the certified engine."""
        full = {a: (np.atleast_2d(np.asarray(counts[a][0], dtype=np.int64)),
                    np.atleast_2d(np.asarray(counts[a][1], dtype=np.int64))) for a in counts}  # fmt: skip
        T = full["combo"][0].shape[0]
        if intervals is None:
            intervals = T == 1
        if intervals:
            return self.certified.estimate(full, intervals=True)
        arms = sorted(full)
        unknown = set(arms) - set(self.model.arms)
        if unknown or "combo" not in full:
            raise ValueError(f"fast engine: arms must be {self.model.arms} (combo required), got {arms}")
        for a in arms:
            n, y = full[a]
            D = len(self.model.arm_doses(a))
            if n.shape != (T, D) or y.shape != (T, D):
                raise ValueError(f"fast engine: arm {a!r} counts must be ({T}, {D})")
            if (y < 0).any() or (y > n).any():
                raise ValueError(f"fast engine: arm {a!r} needs 0 <= DLTs <= patients")
        stacked = np.concatenate([x for a in arms for x in full[a]], axis=1)
        tag = ",".join(arms).encode()
        uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        keys = [tag + b"|" + r.tobytes() for r in uniq]
        rows: list[dict[str, Any] | None] = [self.cache.get(k) for k in keys]
        miss = np.array([i for i, r in enumerate(rows) if r is None], dtype=int)
        widths = [len(self.model.arm_doses(a)) for a in arms]

        def sub_of(ix: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
            sub, col = {}, 0
            for a, w in zip(arms, widths, strict=True):
                sub[a] = (uniq[ix, col : col + w], uniq[ix, col + w : col + 2 * w])
                col += 2 * w
            return sub

        failed: list[int] = []
        for s0 in range(0, miss.size, self.settings.block):
            ix = miss[s0 : s0 + self.settings.block]
            for i, row in zip(ix, self._solve(sub_of(ix)), strict=True):
                if row is None:
                    failed.append(int(i))
                else:
                    rows[i] = row
                    self.cache.put(keys[i], row)
        self.n_fast += miss.size - len(failed)
        self.n_fallback += len(failed)
        if failed:
            fx = np.asarray(failed)
            est = self.certified.estimate(sub_of(fx), intervals=False)
            for j, i in enumerate(fx):
                row = {k: np.asarray(est.stats[k][j]) for k in est.stats if k.endswith("_mean")}
                row.update(
                    prob_mean=est.prob_mean[j], p_under=est.stats["p_under"][j],
                    p_target=est.stats["p_target"][j], p_over=est.stats["p_over"][j],
                    edge=float(est.stats["grid_edge_mass"][j]), err=float(est.stats["grid_error"][j]),
                    order=int(est.stats["grid_order"][j]), fast=False,
                    flags=tuple(est.grid_flags) if est.stats["grid_flag"][j] else (),
                )  # fmt: skip
                rows[i] = row
                self.cache.put(keys[i], row)
        return self._assemble(rows, inverse)  # type: ignore[arg-type]

    def _assemble(self, rows: list[dict[str, Any]], inverse: np.ndarray) -> Estimate:
        def col(key: str) -> np.ndarray:
            return np.asarray([r[key] for r in rows])[inverse]

        stats = {f"p_{c}": col(f"p_{c}") for c in CATEGORIES}
        for name in self.model.param_names:
            stats[f"{name}_mean"] = col(f"{name}_mean").astype(float)
        stats["mono_prob_mean"] = col("mono_prob_mean")
        flags = [r["flags"] for r in rows]
        stats["grid_flag"] = np.array([bool(f) for f in flags])[inverse]
        stats["grid_edge_mass"] = col("edge")
        stats["grid_error"] = col("err")
        stats["grid_order"] = col("order")
        stats["grid_refined"] = np.ones(inverse.shape, dtype=bool)
        stats["fast_fallback"] = ~col("fast").astype(bool)
        msgs: list[str] = []
        for f in flags:
            for x in f:
                if x not in msgs:
                    msgs.append(x)
        return Estimate(prob_mean=col("prob_mean"), interval=0.9, stats=stats, engine="grid",
                        grid_flags=tuple(msgs))  # fmt: skip


_ENGINES: dict[Any, ComboFast] = {}


def combo_fast(model: Any, settings: FastSettings | None = None) -> ComboFast:
    """The fast engine of ``(model, settings)``, built once and reused (cache kept)."""
    settings = FastSettings() if settings is None else settings
    key = (model, settings)
    eng = _ENGINES.get(key)
    if eng is None:
        if len(_ENGINES) > 16:
            _ENGINES.clear()
        eng = _ENGINES[key] = ComboFast(model, settings)
    return eng


def main() -> None:
    import argparse
    import time

    import bayes_dose as bd
    from bayes_dose.designs.state import DoseData

    ap = argparse.ArgumentParser()
    ap.add_argument("--programmes", type=int, default=30)
    ap.add_argument("--states", type=int, default=24)
    ap.add_argument("--order", type=int, default=10)
    args = ap.parse_args()
    proto = bd.protocols.bat6021()
    mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300, max_n=30)
    combo = bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg, max_n=30,
                               grid=(9, 9, 15, 25))  # fmt: skip
    seen: list[np.ndarray] = []
    inner = combo.estimate

    def capture(data: DoseData, *a: Any, **k: Any) -> Estimate:
        seen.append(np.concatenate([data.n, data.dlt, data.source_n, data.source_dlt], axis=1))
        return inner(data, *a, **k)

    combo.estimate = capture  # type: ignore[method-assign]
    prog = bd.Programme(arms={"mono": {"b": mono}, "combo": {"b": combo}}, opens=bd.opens_after("mono"))
    prog.simulate({"mono": [0.02, 0.04, 0.06, 0.10, 0.16, 0.25, 0.35, 0.50],
                   "combo": [0.04, 0.10, 0.25, 0.45, 0.60]}, n_trials=args.programmes, seed=1)  # fmt: skip
    allst = np.unique(np.concatenate(seen), axis=0)
    S = allst[np.random.default_rng(0).permutation(len(allst))[: args.states]]
    counts = {"mono": (S[:, 10:18], S[:, 18:]), "combo": (S[:, :5], S[:, 5:10])}
    f = ComboFast(combo.model, FastSettings(order=args.order))
    t0 = time.process_time()
    m_u, C_u, _ = f.certified._mode(counts, len(S))
    m, A, xc = f._frame(m_u, C_u)
    hi = f._pass(counts, m, A, xc, args.order)
    lo = f._pass(counts, m, A, xc, args.order - 2)
    cpu = time.process_time() - t0
    e = f.certified.estimate(counts, intervals=False)
    ref = np.stack([1 - np.asarray(e.stats["p_under"]), np.asarray(e.stats["p_over"])])
    dp = np.abs(hi["above"] - lo["above"]).max(axis=(0, 2))
    err = np.abs(hi["above"] - ref).max(axis=(0, 2))
    print(f"{len(S)} states, {cpu / len(S) * 1e3:.0f} ms CPU per state (both orders)")
    print("order diff | error vs certified")
    for a, b in zip(dp, err, strict=True):
        print(f"{a:.1e} | {b:.1e}")
    print(f"max error {err.max():.1e}; pass self-check (diff < {f.settings.tol:g}): "
          f"{int((dp < f.settings.tol).sum())} / {len(S)}")  # fmt: skip


if __name__ == "__main__":
    main()
