"""Combination BLRM posterior by quadrature in whitened posterior coordinates.

The 4-D prior grid of :class:`~bayes_dose.inference.blrm_grid.GridEngine` resolves
posteriors close to the prior; under prior-data conflict or a strong interaction the
posterior is a small, tilted region of it.  This engine follows each posterior:

1. **Mode.**  Damped Newton on the log posterior in the prior-whitened coordinates ``u``
   of the model (finite-difference gradient and Hessian), vectorised over states;
   ``C = H^-1`` is the Laplace covariance.
2. **One frame per dose.**  The combination logit of dose ``d`` is monotone in
   ``log alpha``, ``logit p2`` and ``eta`` and (with the sign of ``log(d / d*)``) in
   ``log beta``.  Along a direction whose parameter components have those signs it is
   monotone, so the interval cut crosses each line in that direction once.  Per dose the
   engine takes the direction of steepest change of the logit in whitened posterior
   coordinates (``C grad``), with any component of the wrong sign set to zero, and a
   basis ``A`` (``A A' = C``) whose last column points along it.
3. **Quadrature.**  ``u = m + A (w, t)``: a Gauss-Hermite product rule in the three outer
   coordinates ``w`` (the integrand divided by the standard normal weight) and a uniform
   grid in ``t`` (``+-width`` SDs).  Along ``t`` the cut is located by bracketing and
   regula falsi on the exact logit; the density is integrated cell by cell, and in the
   cut cell from the cut on, with its logarithm interpolated by the cubic through the
   four nearest nodes (exact for a normal density) and 3-point Gauss-Legendre.
   Normaliser, posterior means and interval probabilities of a dose all come from its
   own frame (consistent ratios).
4. **Certified.**  The Gauss-Hermite order is raised by 2 from ``order - 2`` until no
   interval probability and no posterior mean moves by more than ``tol`` between two
   successive orders (the error estimate, ``stats["grid_error"]``), the inner lines hold
   no mass at their ends and the mode search converged; a state that still fails at
   ``max_order`` keeps its finest result and is flagged (``stats["grid_flag"]``,
   ``Estimate.grid_flags``: never a silent result).

Results are cached per count state (:class:`StateCache`): simulations revisit the same
count tables in many trials and in ``decide`` and ``select``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, log_expit

from .. import checks
from .blrm_grid import _logpost
from .blrm_model import CATEGORIES, weighted_quantiles
from .estimate import Estimate

__all__ = ["ComboQuadrature", "QuadratureSettings", "combo_quadrature"]

Counts = Mapping[str, tuple[np.ndarray, np.ndarray]]

#: Flags of states whose result could not be certified.
FLAG_NOT_CONVERGED = "quadrature did not converge to the tolerance"
FLAG_EDGE = "posterior mass at the end of the quadrature lines"
FLAG_MODE = "posterior mode not found (Newton did not converge)"

#: Largest posterior mass allowed in the end cells of the inner lines.
EDGE_TOL = 1e-6


@dataclass(frozen=True)
class QuadratureSettings:
    """Resolution of :class:`ComboQuadrature`.

    Parameters
    ----------
    order : int
        Gauss-Hermite points per outer axis of the first accepted pass (compared with
        ``order - 2``); raised by 2 until the result settles.
    step : float
        Inner grid step, in posterior SDs along the line.
    width : float
        Inner lines span ``+-width`` posterior SDs.
    tol : float
        Largest change of any interval probability or posterior mean between two
        successive orders for a result to be accepted (the error estimate; with the
        default, a quarter of the 1e-3 requirement, accepted results are within 4e-4 of
        an independent integration in tests/test_combo_engine.py).
    max_order : int
        Highest Gauss-Hermite order tried before flagging.
    cache_size : int
        States kept in the result cache (0: no cache).

    Examples
    --------
    >>> from bayes_dose.inference.combo_quadrature import QuadratureSettings
    >>> QuadratureSettings().order
    6
    """

    order: int = 6
    step: float = 0.7
    width: float = 11.0
    tol: float = 2.5e-4
    max_order: int = 12
    cache_size: int = 100_000

    def __post_init__(self) -> None:
        own = "QuadratureSettings"
        for name, low in (("order", 4), ("max_order", 4), ("cache_size", 0)):
            object.__setattr__(self, name, checks.whole(own, name, getattr(self, name), low=low))
        if self.max_order < self.order:
            raise ValueError(f"{own}: need 4 <= order <= max_order, got {self.order}, "
                             f"{self.max_order}")  # fmt: skip
        for name in ("step", "width", "tol"):
            object.__setattr__(self, name, checks.real(own, name, getattr(self, name), low=0,
                                                       low_open=True))  # fmt: skip

    @classmethod
    def coerce(cls, value: Any) -> QuadratureSettings:
        """``value`` as settings: None (defaults), settings, or a mapping of fields."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - set(cls.__dataclass_fields__)
            if unknown:
                raise ValueError(
                    f"QuadratureSettings: unknown field(s) {sorted(unknown)}; fields are "
                    f"{sorted(cls.__dataclass_fields__)}"
                )
            return cls(**value)
        raise ValueError(f"QuadratureSettings: expected a mapping of fields, got {value!r}")

    def spec(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _gh(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilists' Gauss-Hermite nodes and log weights (weights sum to 1)."""
    x, w = np.polynomial.hermite_e.hermegauss(int(n))
    return x, np.log(w / w.sum())


def _outer_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """3-D Gauss-Hermite product rule of order ``n``: nodes (3, S) and
    ``log weight + |w|^2 / 2`` (S,) (the integrand is divided by the normal weight)."""
    x, lw = _gh(n)
    g = np.meshgrid(x, x, x, indexing="ij")
    lg = np.meshgrid(lw, lw, lw, indexing="ij")
    nodes = np.stack([a.ravel() for a in g])
    return nodes, sum(a.ravel() for a in lg) + 0.5 * (nodes * nodes).sum(axis=0)


# -- cell rules on a uniform line ------------------------------------------------------
#: 3-point Gauss-Legendre on [0, 1].
_GLX = (np.array([-np.sqrt(0.6), 0.0, np.sqrt(0.6)]) + 1.0) / 2.0
_GLW = np.array([5.0, 8.0, 5.0]) / 18.0


def _basis(x: np.ndarray) -> np.ndarray:
    """Cubic Lagrange basis at local ``x`` for nodes at -1, 0, 1, 2: shape (4, *x.shape)."""
    return np.stack([
        -x * (x - 1) * (x - 2) / 6,
        (x + 1) * (x - 1) * (x - 2) / 2,
        -(x + 1) * x * (x - 2) / 2,
        (x + 1) * x * (x - 1) / 6,
    ])  # fmt: skip


_BQ = _basis(_GLX)  # (4, 3)


def _pad_log(G: np.ndarray) -> np.ndarray:
    """Log density on the line, extended linearly by one node at each end."""
    return np.concatenate(
        [2 * G[..., :1] - G[..., 1:2], G, 2 * G[..., -1:] - G[..., -2:-1]], axis=-1
    )


def _cells(G: np.ndarray) -> np.ndarray:
    """Integrals (in units of the step) of ``exp(G)`` over the cells between consecutive
    nodes of the last axis: the log density interpolated by the cubic through the four
    nearest nodes (exact for a normal density), integrated by 3-point Gauss-Legendre."""
    P = _pad_log(G)
    N = G.shape[-1]
    stack = np.stack([P[..., k : k + N - 1] for k in range(4)], axis=-1)  # (..., N-1, 4)
    return np.exp(stack @ _BQ) @ _GLW


def _tail_cell(G: np.ndarray, lo: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``int_s^1`` of the interpolated density of the cell starting at node ``lo``
    (local coordinate, unit step); ``lo`` and ``s`` shaped as ``G`` without its last axis."""
    P = _pad_log(G)
    vals = np.stack(
        [np.take_along_axis(P, (lo + k)[..., None], axis=-1)[..., 0] for k in range(4)], axis=-1
    )  # nodes lo-1 .. lo+2 (padded index lo .. lo+3)
    x = s[..., None] + (1.0 - s[..., None]) * _GLX  # (..., 3)
    Bx = _basis(x)  # (4, ..., 3)
    logf = np.einsum("...k,k...q->...q", vals, Bx)
    return (1.0 - s) * (np.exp(logf) @ _GLW)


def _householder_to(q: np.ndarray) -> np.ndarray:
    """Orthogonal ``H`` (B, K, K) with ``H e_K = q`` (unit vectors q, shape (B, K))."""
    B, K = q.shape
    e = np.zeros(K)
    e[-1] = 1.0
    v = q - e
    nv = np.linalg.norm(v, axis=1)
    H = np.broadcast_to(np.eye(K), (B, K, K)).copy()
    ok = nv > 1e-12
    vv = v[ok] / nv[ok, None]
    H[ok] -= 2.0 * vv[:, :, None] * vv[:, None, :]
    return H  # reflection: maps e to q (and q to e)


class StateCache:
    """Per-state results (a least-recently-used dict of row dicts)."""

    def __init__(self, size: int) -> None:
        self.size = int(size)
        self._d: OrderedDict[bytes, dict[str, Any]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> dict[str, Any] | None:
        if self.size == 0:
            return None
        row = self._d.get(key)
        if row is not None:
            self._d.move_to_end(key)
        return row

    def put(self, key: bytes, row: dict[str, Any]) -> None:
        if self.size == 0:
            return
        self._d[key] = row
        self._d.move_to_end(key)
        while len(self._d) > self.size:
            self._d.popitem(last=False)

    def __len__(self) -> int:
        return len(self._d)


class ComboQuadrature:
    """Combination-BLRM posterior summaries, certified per state (see module docstring).

    Parameters
    ----------
    model : CombinationModel
    settings : QuadratureSettings, optional

    Examples
    --------
    >>> import numpy as np
    >>> import bayes_dose as bd
    >>> from bayes_dose.inference.combo_quadrature import ComboQuadrature
    >>> mono = bd.BLRM(bd.protocols.bat6021().arm("mono").doses_mg, reference_dose=300)
    >>> combo = bd.CombinationBLRM(mono=mono)
    >>> counts = {"mono": (np.array([[1, 1, 1, 3, 3, 6, 3, 0]]), np.array([[0, 0, 0, 0, 0, 1, 2, 0]])),
    ...           "combo": (np.array([[3, 6, 6, 0, 0]]), np.array([[0, 0, 2, 0, 0]]))}
    >>> est = ComboQuadrature(combo.model).estimate(counts)
    >>> bool(est.stats["grid_flag"][0]), est.grid_flags
    (False, ())
    >>> est.stats["p_over"].round(2).tolist()
    [[0.0, 0.0, 0.34, 0.79, 0.83]]
    """

    def __init__(self, model: Any, settings: QuadratureSettings | None = None) -> None:
        self.model = model
        self.settings = QuadratureSettings() if settings is None else settings
        self.cache = StateCache(self.settings.cache_size)
        self.n_axes = 4
        self._cut_logits = np.array([np.log(c / (1.0 - c)) for c in model.cuts])
        u0 = np.zeros((self.n_axes, 1))
        base = model.from_whitened(list(u0))
        names = model.param_names
        self._theta0 = np.array([float(np.ravel(base[k])[0]) for k in names])
        # u -> theta is affine: theta = theta0 + S u
        S = np.empty((len(names), self.n_axes))
        for k in range(self.n_axes):
            e = np.zeros((self.n_axes, 1))
            e[k] = 1.0
            p = model.from_whitened(list(e))
            S[:, k] = [float(np.ravel(p[n])[0]) for n in names]
        self._S = S - self._theta0[:, None]
        self._S_inv = np.linalg.inv(self._S)
        ref = model.mono.reference_dose
        x = np.log(np.asarray(model.combo_doses) / ref)
        self._x_combo = x
        self._r_combo = np.asarray(model.combo_doses) / ref
        self._x_mono = np.log(np.asarray(model.mono.doses) / ref)
        # sign of d logit / d theta per dose: + for log alpha, partner, eta; sign(x) for log beta
        sign = np.ones((len(x), len(names)))
        sign[:, names.index("log_beta")] = np.sign(x)
        self._sign = sign

    # -- log posterior and its derivatives ----------------------------------------------
    def _lp(self, u: np.ndarray, counts: Counts) -> np.ndarray:
        """Log posterior at ``u`` (B, K, S)."""
        return _logpost(self.model, u, counts)[0]

    def _mode(self, counts: Counts, B: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Posterior mode (B, K), Laplace covariance (B, K, K), converged (B,)."""
        K = self.n_axes
        m = np.zeros((B, K))
        scale = np.ones((B, 1))
        ok = np.zeros(B, dtype=bool)
        # stencil of the finite differences: 0, +-e_i, +-e_i+-e_j
        pts = [np.zeros(K)]
        for i in range(K):
            for s in (1, -1):
                v = np.zeros(K)
                v[i] = s
                pts.append(v)
        pairs = []
        for i in range(K):
            for j in range(i + 1, K):
                for si in (1, -1):
                    for sj in (1, -1):
                        v = np.zeros(K)
                        v[i], v[j] = si, sj
                        pts.append(v)
                        pairs.append((i, j, si * sj))
        stencil = np.stack(pts, axis=1)  # (K, P)
        H = np.broadcast_to(np.eye(K), (B, K, K)).copy()
        for _ in range(60):
            eps = 1e-3 * scale  # (B, 1)
            u = m[:, :, None] + eps[:, :, None] * stencil[None]
            f = self._lp(u, counts)  # (B, P)
            f0 = f[:, 0]
            g = np.empty((B, K))
            Hn = np.empty((B, K, K))
            e2 = eps[:, 0] ** 2
            for i in range(K):
                fp, fm = f[:, 1 + 2 * i], f[:, 2 + 2 * i]
                g[:, i] = (fp - fm) / (2 * eps[:, 0])
                Hn[:, i, i] = (fp - 2 * f0 + fm) / e2
            col = 1 + 2 * K
            for i in range(K):
                for j in range(i + 1, K):
                    fpp, fpm, fmp, fmm = (f[:, col + r] for r in range(4))
                    Hn[:, i, j] = Hn[:, j, i] = (fpp - fpm - fmp + fmm) / (4 * e2)
                    col += 4
            negH = -Hn
            # regularise to positive definite
            lam = np.zeros(B)
            ev = np.linalg.eigvalsh(negH)
            low = ev[:, 0] <= 1e-8 * np.maximum(ev[:, -1], 1.0)
            lam[low] = np.abs(ev[low, 0]) + 1e-3 * np.maximum(ev[low, -1], 1.0)
            Hr = negH + lam[:, None, None] * np.eye(K)
            step = np.linalg.solve(Hr, g[:, :, None])[:, :, 0]
            # backtracking line search on the log posterior
            t = np.ones(B)
            for _ in range(30):
                cand = m + t[:, None] * step
                fc = self._lp(cand[:, :, None], counts)[:, 0]
                worse = fc < f0 - 1e-12 * np.abs(f0)
                if not worse.any():
                    break
                t = np.where(worse, t / 2, t)
            m = np.where(ok[:, None], m, cand)
            H = np.where(ok[:, None, None], H, negH)
            scale = np.minimum(1.0, 1.0 / np.sqrt(np.clip(ev[:, -1], 1e-12, None)))[:, None]
            newton_dec = np.einsum("bk,bk->b", g, step)
            ok |= (~low) & (newton_dec < 1e-10) & (np.abs(step).max(axis=1) < 1e-6 * scale[:, 0])
            if ok.all():
                break
        ev = np.linalg.eigvalsh(H)
        good = ok & (ev[:, 0] > 0)
        Hs = H + (~good)[:, None, None] * np.eye(K)
        C = np.linalg.inv(Hs)
        return m, 0.5 * (C + np.swapaxes(C, 1, 2)), good

    def _loglik(
        self, u: np.ndarray, counts: Counts
    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Log posterior at the nodes ``u`` (B, D, K, N) of the D frames, the logit of
        each frame's own dose there (B, D, N), and the parameters (B, D * N).

        The model's likelihood written out for speed (doses without patients skipped,
        ``log(1 - p) = log p - logit p``); the same formulas as
        :meth:`CombinationModel.arm_logit` (checked in tests against ``_logpost``).
        """
        model = self.model
        B, D, _, N = u.shape
        th = self._theta0[None, None, :, None] + np.einsum("pk,bdkn->bdpn", self._S, u)
        la, lb, p2, eta = (th[:, :, i] for i in range(4))  # param_names order
        lp = -0.5 * np.einsum("bdkn,bdkn->bdn", u, u)
        eb = np.exp(lb)
        if "mono" in counts:
            n, y = (np.asarray(a, dtype=float) for a in counts["mono"])
            for j, x in enumerate(self._x_mono):
                if not n[:, j].any():
                    continue
                e1 = la + eb * x
                lp += n[:, j, None, None] * log_expit(e1) - (n - y)[:, j, None, None] * e1
        nc, yc = (np.asarray(a, dtype=float) for a in counts.get(
            "combo", (np.zeros((B, D)), np.zeros((B, D)))))  # fmt: skip
        sp2 = np.logaddexp(0.0, p2)
        own = np.empty((B, D, N))
        for j, (x, r) in enumerate(zip(self._x_combo, self._r_combo, strict=True)):
            used = bool(nc[:, j].any())
            sl = slice(None) if used else slice(j, j + 1)
            e1 = la[:, sl] + eb[:, sl] * x
            log_q0 = -np.logaddexp(0.0, e1) - sp2[:, sl]
            lg = np.log(-np.expm1(log_q0)) - log_q0 + eta[:, sl] * r
            if used:
                lp += nc[:, j, None, None] * log_expit(lg) - (nc - yc)[:, j, None, None] * lg
                own[:, j] = lg[:, j]
            else:
                own[:, j] = lg[:, 0]
        params = {name: th[:, :, i].reshape(B, D * N) for i, name in enumerate(model.param_names)}
        return lp, own, params

    # -- frames ---------------------------------------------------------------------
    def _directions(self, m: np.ndarray, C: np.ndarray) -> np.ndarray:
        """Per state and dose the inner direction in ``u`` (B, D, K), monotone."""
        model = self.model
        K = self.n_axes
        B = m.shape[0]
        eps = 1e-5
        pts = np.concatenate(
            [m[:, :, None] + eps * np.eye(K)[None], m[:, :, None] - eps * np.eye(K)[None]],
            axis=2,
        )
        params = model.from_whitened(list(np.moveaxis(pts, 1, 0)))
        lg = model.arm_logit(params, model.decision_arm)  # (B, 2K, D)
        grad_u = (lg[:, :K] - lg[:, K:]) / (2 * eps)  # (B, K, D)
        ideal = np.einsum("bkl,bld->bdk", C, grad_u)  # C grad: steepest in whitened coords
        d_theta = np.einsum("pk,bdk->bdp", self._S, ideal)
        sign = self._sign[None]
        d_theta = np.where(d_theta * sign > 0, d_theta, 0.0)
        d_theta = np.where(sign == 0, 0.0, d_theta)
        d_u = np.einsum("kp,bdp->bdk", self._S_inv, d_theta)
        bad = np.linalg.norm(d_u, axis=2) < 1e-14
        if bad.any():  # fall back on log alpha alone (always monotone)
            la = np.zeros(len(model.param_names))
            la[model.param_names.index("log_alpha")] = 1.0
            d_u = np.where(bad[..., None], self._S_inv @ la, d_u)
        return d_u.reshape(B, -1, K)

    def _frames(self, m: np.ndarray, C: np.ndarray) -> np.ndarray:
        """Bases ``A`` (B, D, K, K) with ``A A' = C`` and last column along each dose's
        direction (scaled to one posterior SD along it)."""
        L = np.linalg.cholesky(C + 1e-14 * np.eye(self.n_axes))
        d = self._directions(m, C)  # (B, D, K)
        q = np.linalg.solve(L[:, None], d[..., None])[..., 0]
        q /= np.linalg.norm(q, axis=2, keepdims=True)
        B, D, K = q.shape
        Hh = _householder_to(q.reshape(B * D, K)).reshape(B, D, K, K)
        return L[:, None] @ Hh

    # -- one pass -------------------------------------------------------------------
    def _pass(
        self,
        counts: Counts,
        m: np.ndarray,
        A: np.ndarray,
        order: int,
        step: float,
        intervals: bool,
    ) -> dict[str, Any]:
        st = self.settings
        B, D, K, _ = A.shape
        wo, lwo = _outer_rule(order)
        n_in = int(np.ceil(st.width / step))
        t = step * np.arange(-n_in, n_in + 1)
        So, Ni = wo.shape[1], t.size
        # nodes: (B, D, K, So, Ni)
        u = (
            m[:, None, :, None, None]
            + np.einsum("bdkj,js->bdks", A[..., :3], wo)[..., None]
            + A[..., 3][..., None, None] * t[None, None, None, None, :]
        )
        lp, own, params = self._loglik(u.reshape(B, D, K, So * Ni), counts)
        lp = lp.reshape(B, D, So, Ni) + lwo[None, None, :, None]
        own = own.reshape(B, D, So, Ni)
        lp -= lp.max(axis=(2, 3), keepdims=True)
        F = np.exp(lp)  # (B, D, So, Ni)
        cells = _cells(lp)  # (B, D, So, Ni - 1): cell c between nodes c and c + 1
        total_line = cells.sum(axis=3)  # (B, D, So)
        total = total_line.sum(axis=2)  # (B, D)
        edge = (F[..., :2].sum(axis=3) + F[..., -2:].sum(axis=3)).sum(axis=2) / (
            F.sum(axis=(2, 3))
        )
        W = F / total[:, :, None, None]  # node weights (per unit step): sum of W*step ~ 1
        mean_own = np.einsum("bdsn,bdsn->bd", W, expit(own))
        Wf = W.reshape(B, D, So * Ni)
        above = np.empty((2, B, D))
        for ci, lc in enumerate(self._cut_logits):
            above[ci] = self._above(counts, m, A, wo, t, lp, cells, own, lc, total)
        # credible bounds on each dose's own frame
        out = {"mean": mean_own, "above": above, "edge": edge, "W": Wf, "params": params}
        if intervals:
            lo_hi = np.empty((2, B, D))
            for d in range(D):
                vals = expit(own[:, d].reshape(B, -1))
                for b in range(B):
                    q = weighted_quantiles(vals[b][:, None], Wf[b, d][None], (0.05, 0.95))
                    lo_hi[:, b, d] = q[:, 0, 0]
            out["bounds"] = lo_hi
        return out

    def _above(
        self,
        counts: Counts,
        m: np.ndarray,
        A: np.ndarray,
        wo: np.ndarray,
        t: np.ndarray,
        G: np.ndarray,
        cells: np.ndarray,
        own: np.ndarray,
        lc: float,
        total: np.ndarray,
    ) -> np.ndarray:
        """``P(logit >= lc)`` per state and dose (B, D)."""
        model = self.model
        B, D, So, Ni = G.shape
        h = t[1] - t[0]
        # index of the first node at or above the cut (logit increasing along t)
        i1 = (own < lc).sum(axis=3)  # (B, D, So) in 0..Ni
        # cell c lies between nodes c and c + 1; the cells above the cut are c >= i1
        csum = np.cumsum(cells[..., ::-1], axis=3)[..., ::-1]  # csum[c] = sum of cells >= c
        full_from = np.minimum(i1, Ni - 2)
        above_full = np.take_along_axis(csum, full_from[..., None], axis=3)[..., 0]
        above_full = np.where(i1 <= Ni - 2, above_full, 0.0)
        # the cut cell lies between nodes i1-1 and i1 (where 1 <= i1 <= Ni-1... or Ni)
        inside = (i1 >= 1) & (i1 <= Ni - 1)
        lo_i = np.clip(i1 - 1, 0, Ni - 2)
        tl = t[lo_i]
        # regula falsi on the exact logit
        a_t, b_t = tl, tl + h
        fa = np.take_along_axis(own, lo_i[..., None], axis=3)[..., 0] - lc
        fb = np.take_along_axis(own, (lo_i + 1)[..., None], axis=3)[..., 0] - lc
        d_idx = np.arange(D)
        for _ in range(4):
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(fb - fa > 0, a_t - fa * (b_t - a_t) / (fb - fa), 0.5 * (a_t + b_t))
            x = np.clip(x, a_t, b_t)
            pt = (
                m[:, None, :, None]
                + np.einsum("bdkj,js->bdks", A[..., :3], wo)
                + A[..., 3][..., None] * x[:, :, None, :]
            )  # (B, D, K, So)
            flat = np.moveaxis(pt, 2, 1).reshape(B, -1, D * So)
            pr = model.from_whitened(list(np.moveaxis(flat, 1, 0)))
            lg = model.arm_logit(pr, model.decision_arm).reshape(B, D, So, D)
            fx = lg[:, d_idx, :, d_idx].transpose(1, 0, 2) - lc  # (B, D, So)
            pos = fx >= 0
            b_t, fb = np.where(pos, x, b_t), np.where(pos, fx, fb)
            a_t, fa = np.where(pos, a_t, x), np.where(pos, fa, fx)
        xs = np.where(fb - fa > 0, a_t - fa * (b_t - a_t) / np.where(fb - fa > 0, fb - fa, 1.0),
                      0.5 * (a_t + b_t))  # fmt: skip
        s = np.clip((xs - tl) / h, 0.0, 1.0)
        part = _tail_cell(G, lo_i, s)
        line = np.where(inside, part + above_full, np.where(i1 == 0, cells.sum(axis=3), 0.0))
        return line.sum(axis=2) / total

    # -- estimate ---------------------------------------------------------------------
    def _solve(self, counts: Counts, intervals: bool) -> list[dict[str, Any]]:
        """Certified summaries of ``B`` states (one row dict per state).

        Gauss-Hermite orders ``order, order + 2, ...`` on each state's Laplace frames; a
        state is accepted at the first order whose interval probabilities and posterior
        means differ from the previous order's by less than ``tol`` (the error estimate),
        with no mass at the ends of its lines and a converged mode.
        """
        st = self.settings
        first = next(iter(counts.values()))[0]
        B = np.asarray(first).shape[0]
        m, C, mode_ok = self._mode(counts, B)
        A = self._frames(m, C)
        rows: list[dict[str, Any] | None] = [None] * B
        todo = np.arange(B)
        prev = None
        order = st.order
        while todo.size and order <= st.max_order:
            sub = {a: (np.asarray(n)[todo], np.asarray(y)[todo]) for a, (n, y) in counts.items()}
            if prev is None:
                prev = self._pass(sub, m[todo], A[todo], order - 2, st.step, False)
            cur = self._pass(sub, m[todo], A[todo], order, st.step, intervals)
            dp = np.abs(cur["above"] - prev["above"]).max(axis=(0, 2))
            dm = np.abs(cur["mean"] - prev["mean"]).max(axis=1)
            edge_ok = cur["edge"].max(axis=1) < EDGE_TOL
            conv = (dp < st.tol) & (dm < st.tol)
            last = order + 2 > st.max_order
            keep = np.zeros(todo.size, dtype=bool)
            for j, b in enumerate(todo):
                done = conv[j] and edge_ok[j] and mode_ok[b]
                if not (done or last):
                    keep[j] = True
                    continue
                row = self._row(cur, j, intervals)
                row["flags"] = tuple(
                    f for f, bad in ((FLAG_MODE, not mode_ok[b]), (FLAG_EDGE, not edge_ok[j]),
                                     (FLAG_NOT_CONVERGED, not conv[j]))
                    if bad
                )  # fmt: skip
                row["err"] = max(float(dp[j]), float(dm[j]))
                row["order"] = order
                rows[b] = row
            prev = {"above": cur["above"][:, keep], "mean": cur["mean"][keep]}
            todo = todo[keep]
            order += 2
        return rows  # type: ignore[return-value]

    def _row(self, res: dict[str, Any], j: int, intervals: bool) -> dict[str, Any]:
        model = self.model
        W = res["W"][j]  # (D, S)
        D = W.shape[0]
        params = res["params"]
        row: dict[str, Any] = {"prob_mean": res["mean"][j]}
        a_lo = np.clip(res["above"][0, j], 0.0, 1.0)
        a_hi = np.clip(res["above"][1, j], 0.0, 1.0)
        row["p_under"] = 1.0 - a_lo
        row["p_target"] = np.clip(a_lo - a_hi, 0.0, 1.0)
        row["p_over"] = a_hi
        S = W.shape[1]
        for name in model.param_names:
            v = np.asarray(params[name]).reshape(-1, D, S)[j]
            row[f"{name}_mean"] = float((W * v).sum(axis=1).mean())
        mono_prob = expit(model.arm_logit(
            {k: np.asarray(params[k]).reshape(-1, D * S)[j] for k in model.param_names}, "mono"
        )).reshape(D, S, -1)  # fmt: skip
        row["mono_prob_mean"] = np.einsum("ds,dsk->k", W, mono_prob) / D
        row["edge"] = float(res["edge"][j].max())
        if intervals:
            row["prob_lower"] = res["bounds"][0, j]
            row["prob_upper"] = res["bounds"][1, j]
        return row

    def estimate(self, counts: Counts, intervals: bool | None = None) -> Estimate:
        """Posterior summaries of the combination arm for every trial.

        Parameters
        ----------
        counts : mapping arm -> (n, y)
            Patients and DLTs per dose, each (T, D_arm).
        intervals : bool, optional
            Credible bounds (default: only for a single trial).
        """
        arms = sorted(counts)
        unknown = set(arms) - set(self.model.arms)
        if unknown:
            raise ValueError(
                f"quadrature engine: unknown arm(s) {sorted(unknown)}; model arms {self.model.arms}"
            )
        full = {a: (np.atleast_2d(np.asarray(counts[a][0], dtype=np.int64)),
                    np.atleast_2d(np.asarray(counts[a][1], dtype=np.int64))) for a in arms}  # fmt: skip
        T = full[arms[0]][0].shape[0]
        if intervals is None:
            intervals = T == 1
        for a in arms:
            n, y = full[a]
            D = len(self.model.arm_doses(a))
            if n.shape != (T, D) or y.shape != (T, D):
                raise ValueError(f"quadrature engine: arm {a!r} counts must be ({T}, {D})")
            if (y < 0).any() or (y > n).any():
                raise ValueError(f"quadrature engine: arm {a!r} needs 0 <= DLTs <= patients")
        # arms without patients are dropped from the key (same posterior)
        stacked = np.concatenate([x for a in arms for x in full[a]], axis=1)
        tag = ",".join(a for a in arms).encode()
        uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        keys = [tag + b"|" + bytes([int(intervals)]) + r.tobytes() for r in uniq]
        rows: list[dict[str, Any] | None] = [self.cache.get(k) for k in keys]
        miss = np.array([i for i, r in enumerate(rows) if r is None], dtype=int)
        widths = [len(self.model.arm_doses(a)) for a in arms]
        block = 16
        for s0 in range(0, miss.size, block):
            ix = miss[s0 : s0 + block]
            sub = {}
            col = 0
            for a, w in zip(arms, widths, strict=True):
                sub[a] = (uniq[ix, col : col + w], uniq[ix, col + w : col + 2 * w])
                col += 2 * w
            for i, row in zip(ix, self._solve(sub, intervals), strict=True):
                rows[i] = row
                self.cache.put(keys[i], row)
        self.cache.hits += len(keys) - miss.size
        self.cache.misses += miss.size
        return self._assemble(rows, inverse, intervals)  # type: ignore[arg-type]

    def _assemble(self, rows: list[dict[str, Any]], inverse: np.ndarray, intervals: bool) -> Estimate:
        def col(key: str) -> np.ndarray:
            return np.asarray([r[key] for r in rows])[inverse]

        stats = {f"p_{c}": col(f"p_{c}") for c in CATEGORIES}
        for name in self.model.param_names:
            stats[f"{name}_mean"] = col(f"{name}_mean")
        stats["mono_prob_mean"] = col("mono_prob_mean")
        flags = [r["flags"] for r in rows]
        flag = np.array([bool(f) for f in flags])[inverse]
        stats["grid_flag"] = flag
        stats["grid_edge_mass"] = col("edge")
        stats["grid_error"] = col("err")
        stats["grid_order"] = col("order")
        stats["grid_refined"] = np.ones(flag.shape, dtype=bool)
        msgs: list[str] = []
        for f in flags:
            for x in f:
                if x not in msgs:
                    msgs.append(x)
        return Estimate(
            prob_mean=col("prob_mean"),
            prob_lower=col("prob_lower") if intervals else None,
            prob_upper=col("prob_upper") if intervals else None,
            interval=0.9, stats=stats, engine="grid", grid_flags=tuple(msgs),
        )  # fmt: skip


_ENGINES: dict[Any, ComboQuadrature] = {}


def combo_quadrature(model: Any, settings: QuadratureSettings | None = None) -> ComboQuadrature:
    """The quadrature engine of ``(model, settings)``, built once and reused (cache kept)."""
    settings = QuadratureSettings() if settings is None else settings
    key = (model, settings)
    eng = _ENGINES.get(key)
    if eng is None:
        if len(_ENGINES) > 16:
            _ENGINES.clear()
        eng = _ENGINES[key] = ComboQuadrature(model, settings)
    return eng


def replace_rows(base: Estimate, rows: np.ndarray, new: Estimate) -> Estimate:
    """``base`` with trials ``rows`` taken from ``new`` (estimated on those trials only).

    Statistics present in only one of the two are filled with NaN (False for flags)
    elsewhere; ``grid_flags`` are those of the rows' engine plus the rest of ``base``'s.
    """
    rows = np.asarray(rows, dtype=int)
    T = np.asarray(base.prob_mean).shape[0]

    def put(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
        if a is None or b is None:
            return None
        out = np.array(a, dtype=np.result_type(a, b), copy=True)
        out[rows] = b
        return out

    stats: dict[str, np.ndarray] = {}
    for k in set(base.stats) | set(new.stats):
        a, b = base.stats.get(k), new.stats.get(k)
        ref = np.asarray(a if a is not None else b)
        if a is None:
            a = np.zeros((T, *ref.shape[1:]), dtype=bool) if ref.dtype == bool else np.full(
                (T, *ref.shape[1:]), np.nan)  # fmt: skip
        if b is None:
            b = np.zeros((rows.size, *ref.shape[1:]), dtype=bool) if ref.dtype == bool else np.full(
                (rows.size, *ref.shape[1:]), np.nan)  # fmt: skip
        stats[k] = put(np.asarray(a), np.asarray(b))
    keep = np.ones(T, dtype=bool)
    keep[rows] = False
    msgs = list(new.grid_flags)
    if np.asarray(base.stats.get("grid_flag", np.zeros(T, bool)))[keep].any():
        msgs += [m for m in base.grid_flags if m not in msgs]
    return Estimate(
        prob_mean=put(base.prob_mean, new.prob_mean),
        prob_lower=put(base.prob_lower, new.prob_lower),
        prob_upper=put(base.prob_upper, new.prob_upper),
        interval=base.interval, stats=stats, engine=base.engine, grid_flags=tuple(msgs),
    )  # fmt: skip
