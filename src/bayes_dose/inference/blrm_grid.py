"""Exact engine for the BLRM family: quadrature on grids that follow the posterior.

A model (BLRM, combination BLRM) maps *whitened* prior coordinates ``u`` (independent
standard normals, one per parameter) to its parameters (``from_whitened``) and gives the
logit of the DLT probability of every arm at those values (``arm_logit``).

Two stages, both vectorised over trials (identical count states are computed once):

1. **Prior grid.**  A fixed midpoint grid of ``+-width`` prior SDs.  ``log p`` and
   ``log(1 - p)`` at its nodes are precomputed once per model, so the posterior of ``T``
   trials is two matrix products ``(T, D) @ (D, S)`` followed by normalisation.  A trial's
   result is *accepted* only where the grid resolves its posterior: the posterior mass in
   the outermost layer of cells is below ``EDGE_TOL`` and the posterior spreads over at
   least ``MIN_CELLS`` cells in every direction (the smallest posterior SD of any linear
   combination of the coordinates, measured in cell widths).
2. **Posterior grids.**  Every other trial gets its own grid, centred on its posterior
   mean and whitened by its posterior covariance (``u = m + L v``, ``L`` the Cholesky
   factor; the moments start from stage 1 and are iterated on the new grid, widening it
   while mass sits at its edge), then refined (1.5x points per axis) until no interval
   probability moves by more than ``tol`` (1e-4) and no posterior mean by more than
   ``tol / 10``.  A trial whose posterior still touches the edge or whose refinement did
   not converge keeps the finest result and is *flagged*: ``stats["grid_flag"]`` is True
   and :attr:`Estimate.grid_flags` says why (fits carry it into their reason).

Accuracy.  Posterior means are integrals of smooth, rapidly decaying functions, for which
the midpoint rule converges geometrically once the posterior spans a few cells.
Interval probabilities integrate indicator functions: in every cell the engine integrates
the indicator exactly along the axis on which the logit changes most across that cell
(any axis the model lists in ``cut_axes``; e.g. the partner axis of the combination model
at low doses, log alpha at high doses), by the share of the cell above the cut (linear
interpolation of the logit between the cell's edges on that axis), and corrects for the
first-order variation of the posterior density across the cut cell and the
Euler-Maclaurin end term of the cells beyond it (the log-density gradient along that axis
from the log posterior at the two edges), so the remaining error is of third order in the
cell width.  Tests check both stages against independent adaptive quadrature
(``scipy.integrate``) to 1e-3, on vague, conflicting and large-sample cases.

Models with several cut axes (the combination model).  The cut's position in a cell comes
from the parabola through the logits at the cell's two edges and its node (the logit is
curved along the partner axis).  Every dose's cut is integrated along each axis; the
result kept is that of the axis along which the cut is crossed most sharply relative to
how coarsely the other axes sample it (``GridEngine._cut_scores``), and a trial whose
result differs from the runner-up axis's by more than ``CUT_TOL`` (1e-3) is flagged
(``stats["grid_cut_check"]``, :data:`FLAG_CUT`): on the count states of simulated
two-arm programmes (``tests/test_combo_programme_states.py``) the two axes disagree
where the kept one errs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from scipy.special import log_expit

from .estimate import Estimate

__all__ = ["EDGE_TOL", "MIN_CELLS", "GridEngine", "Quadrature", "midpoint_axis"]

#: Largest posterior mass allowed in the outermost layer of cells of a grid (a tenth of
#: the default tolerance on interval probabilities: the mass beyond the grid is smaller).
EDGE_TOL = 1e-5
#: Smallest lattice resolution (:func:`lattice_resolution`) accepted on the prior grid.
MIN_CELLS = 1.0
#: Half-width (posterior SDs) and points per axis of the first posterior grid.
POST_WIDTH = 6.5
#: Largest posterior grid (nodes) tried when refining.
MAX_POST_NODES = 300_000
#: Flags raised on trials whose result could not be verified.
FLAG_EDGE = "posterior mass at the grid edge"
FLAG_RES = "grid refinement did not converge to the tolerance"
#: Largest difference allowed between the interval probabilities integrated along the two
#: best cut axes (models with several, :meth:`GridEngine._above`).
CUT_TOL = 1e-3
FLAG_CUT = "interval cuts not settled (integrated along two axes, they differ by more than 1e-3)"


@dataclass(frozen=True)
class Quadrature:
    """Nodes of the prior grid.

    Attributes
    ----------
    params : mapping of str to ndarray, shape (S,)
        Parameter values at the nodes.
    u : ndarray, shape (K, S)
        Whitened prior coordinates of the nodes.
    log_weight : ndarray, shape (S,)
        Log prior weight of each node (up to a constant).
    h : tuple of float
        Cell width of each axis.
    """

    params: Mapping[str, np.ndarray]
    u: np.ndarray
    log_weight: np.ndarray
    h: tuple[float, ...]

    @property
    def size(self) -> int:
        return int(self.log_weight.shape[0])


def midpoint_axis(n: int, width: float) -> tuple[np.ndarray, float]:
    """``n`` cell midpoints covering ``[-width, width]`` and the cell width."""
    if n < 3:
        raise ValueError(f"grid: need at least 3 points per axis, got {n}")
    h = 2.0 * width / n
    return -width + h * (np.arange(n) + 0.5), h


def product_grid(
    shape: Sequence[int], widths: Sequence[float]
) -> tuple[np.ndarray, tuple[float, ...], np.ndarray]:
    """Nodes ``(K, S)`` of a midpoint product grid, the cell widths, and the edge mask
    ``(S,)`` (nodes in the outermost layer of any axis)."""
    if len(widths) != len(shape):
        raise ValueError(f"grid: {len(widths)} widths for {len(shape)} axes")
    axes = [midpoint_axis(int(n), float(w)) for n, w in zip(shape, widths, strict=True)]
    mesh = np.meshgrid(*(a for a, _ in axes), indexing="ij")
    idx = np.meshgrid(*(np.arange(int(n)) for n in shape), indexing="ij")
    edge = np.zeros(idx[0].shape, dtype=bool)
    for i, n in zip(idx, shape, strict=True):
        edge |= (i == 0) | (i == int(n) - 1)
    return np.stack([m.ravel() for m in mesh]), tuple(h for _, h in axes), edge.ravel()


def lattice_resolution(cov_cells: np.ndarray) -> np.ndarray:
    """Resolution of a posterior on a grid: ``min_k sqrt(k' C k)`` over small non-zero
    integer vectors ``k``, with ``C`` the posterior covariance in cell units.

    The midpoint rule's error for a smooth density is its Fourier transform at the
    reciprocal lattice, ``~ exp(-2 pi^2 k' C k)`` for a normal posterior: a thin ridge
    across the grid's diagonal is still resolved, a posterior inside one cell is not.
    """
    K = cov_cells.shape[-1]
    r = 3 if K <= 2 else (2 if K == 3 else 1)
    ks = np.array(list(itertools.product(range(-r, r + 1), repeat=K)), dtype=float)
    ks = ks[np.abs(ks).sum(axis=1) > 0]
    q = np.einsum("ik,tkl,il->ti", ks, cov_cells, ks)
    return np.sqrt(np.clip(q.min(axis=1), 0.0, None))


class GridModel(Protocol):
    """What :class:`GridEngine` needs from a model."""

    arms: tuple[str, ...]
    decision_arm: str
    cuts: tuple[float, float]
    cut_axes: tuple[int, ...]

    def axis_widths(self, width: float, n_axes: int) -> tuple[float, ...]: ...

    def from_whitened(self, u: Sequence[np.ndarray]) -> dict[str, np.ndarray]: ...

    def arm_logit(self, params: Mapping[str, np.ndarray], arm: str) -> np.ndarray: ...

    def summarise(self, param_values: Any, weights: np.ndarray, **kwargs: Any) -> Estimate: ...


def cut_share(
    lo: np.ndarray,
    hi: np.ndarray,
    cut: float,
    h: np.ndarray | float,
    mid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Share of a cell above a cut on the logit, and its density correction factor.

    ``lo`` / ``hi`` are the logits at the cell's two edges on its cut axis (width ``h``);
    the logit is interpolated linearly between them, or, given the logit ``mid`` at the
    node (the cell's centre), by the parabola through the three values (the cut's position
    in the cell then errs by third-order terms instead of ``h^2 / 8`` times the logit's
    curvature over its slope; the combination model's logits are curved along the
    partner axis).  Returns the share ``f`` and ``c``
    such that, with ``g`` the log-density gradient along the axis, ``f + g c`` is the
    cell's share of the mass above the cut including the Euler-Maclaurin end term of the
    cells beyond it (``c = 0`` where the cut does not cross the cell).
    """
    span = hi - lo
    aspan = np.abs(span)
    top = np.maximum(lo, hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(aspan > 1e-12, (top - cut) / aspan, (top >= cut) * 1.0)
        if mid is not None:
            # offset t of the cut from the node on the parabola through (-h/2, lo),
            # (0, mid), (h/2, hi): one Newton step from the tangent at the node
            b = span / h
            c2 = 2.0 * (hi + lo - 2.0 * mid) / (h * h)
            t0 = (cut - mid) / b
            t1 = t0 - c2 * t0 * t0 / (b + 2.0 * c2 * t0)
            t1 = np.clip(np.where(np.isfinite(t1), t1, t0), -0.5 * h, 0.5 * h)
            fq = np.where(span > 0, 0.5 - t1 / h, 0.5 + t1 / h)
            inside = (np.minimum(lo, hi) < cut) & (top > cut) & (aspan > 1e-12)
            f = np.where(inside & np.isfinite(fq), fq, f)
    f = np.clip(f, 0.0, 1.0)
    # a = offset of the cut from the node, |a| <= h/2.  For a density w (1 + g (t - a))
    # the cut cell holds f + s g (h^2/4 - a^2) / (2 h) of its weight above the cut (s the
    # side of the cell above it), and the midpoint rule over the cells beyond it errs by
    # s g h / 24 of the cut cell's weight (Euler-Maclaurin end term).
    a = (0.5 - f) * h
    crossed = (f > 0.0) & (f < 1.0)
    corr = np.where(crossed, np.sign(span) * ((h * h / 4.0 - a * a) / (2.0 * h) - h / 24.0), 0.0)
    return f, corr


class GridEngine:
    """Posterior of a BLRM-family model on grids, vectorised over trials.

    Parameters
    ----------
    model : BLRMModel or CombinationModel
    shape : tuple of int
        Prior-grid points per axis.
    width : float
        Half-width of the prior grid in prior standard deviations.
    chunk : int
        Maximum number of grid values held per block (memory bound).
    adaptive : bool, optional
        Recompute trials the prior grid does not resolve on posterior grids; ``False``
        only flags them.  Default: ``True`` for models with one cut axis (the BLRM);
        ``False`` for several (the 4-D combination model, whose posterior grids cost
        seconds per trial: choose a prior grid that resolves the posterior, the flag
        says when it does not).
    tol : float
        Convergence tolerance of the posterior grids' interval probabilities.
    """

    def __init__(
        self,
        model: GridModel,
        shape: tuple[int, ...],
        width: float = 6.5,
        chunk: int = 2**24,
        adaptive: bool | None = None,
        tol: float = 1e-4,
    ) -> None:
        self.model = model
        self.shape = tuple(int(s) for s in shape)
        self.width = float(width)
        self.chunk = int(chunk)
        if adaptive is None:
            adaptive = len(model.cut_axes) == 1
        self.adaptive = bool(adaptive)
        self.tol = float(tol)
        K = len(self.shape)
        self.n_axes = K
        widths = model.axis_widths(self.width, K)
        u, h, edge = product_grid(self.shape, widths)
        params = model.from_whitened(list(u))
        log_weight = -0.5 * (u * u).sum(axis=0)
        self.quad = Quadrature(params=params, u=u, log_weight=log_weight, h=h)
        self.log_prior = log_weight - log_weight.max()
        self._edge = edge.astype(float)
        self._logp: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for arm in model.arms:
            eta = model.arm_logit(params, arm)
            self._logp[arm] = (
                np.ascontiguousarray(log_expit(eta).T),
                np.ascontiguousarray(log_expit(-eta).T),
            )
        # moments of u / h (cell units): the resolution check
        uh = u / np.asarray(h)[:, None]
        iu, ju = np.triu_indices(K)
        self._moment_features = np.ascontiguousarray(
            np.concatenate([uh, uh[iu] * uh[ju]], axis=0).T
        )
        self._build_cut_tables()

    # -- prior grid tables -------------------------------------------------------------
    def _edge_params(self, u: np.ndarray, axis: int, sign: float) -> dict[str, np.ndarray]:
        v = u.copy()
        v[axis] += sign * self.quad.h[axis] / 2.0
        return self.model.from_whitened(list(v))

    def _build_cut_tables(self) -> None:
        """Interval-cut tables of the prior grid.

        One cut axis (the model's only monotone axis): per node and dose the share of
        the cell above each cut and its density correction, as dense tables.  Several
        axes (combination model): per axis, on the nodes whose cell the cut crosses along
        it, the change of share from the node's indicator, the correction, and the
        crossing indicator; ``_above`` then integrates each trial's dose along the axis
        whose posterior spread moves that dose's logit most (posterior mean of
        ``|d logit / d u_j|`` times the posterior SD of ``u_j``).  Either way, per
        axis, the log likelihood differences across the cells that need a gradient.
        """
        m, q = self.model, self.quad
        dec = m.decision_arm
        lcs = [float(np.log(c / (1.0 - c))) for c in m.cuts]
        self._single = len(m.cut_axes) == 1
        node_logit = None
        if not self._single:
            # several cut axes (combination model): the cut's position in a cell comes
            # from the parabola through the cell's edges and its node (``cut_share``)
            node_logit = m.arm_logit(q.params, dec)
            self._indicator = tuple((node_logit >= lc).astype(float) for lc in lcs)
        self._axis_tables = []
        for j in m.cut_axes:
            lo = m.arm_logit(self._edge_params(q.u, j, -1.0), dec)
            hi = m.arm_logit(self._edge_params(q.u, j, +1.0), dec)
            fr, corr = zip(*(cut_share(lo, hi, lc, q.h[j], node_logit) for lc in lcs), strict=True)
            crossed = [cc != 0 for cc in corr]
            slope = None if self._single else np.ascontiguousarray(np.abs(hi - lo) / q.h[j])
            idx = np.flatnonzero(crossed[0].any(axis=1) | crossed[1].any(axis=1))
            if self._single:
                self.fractions = (fr[0], fr[1])
                share = None
                cross = None
            else:
                share = tuple(
                    np.ascontiguousarray(f[idx] - ind[idx])
                    for f, ind in zip(fr, self._indicator, strict=True)
                )
                cross = slope
            cj = tuple(np.ascontiguousarray(cc[idx]) for cc in corr)
            del fr, corr, crossed, lo, hi
            sub = q.u[:, idx]
            plo = self._edge_params(sub, j, -1.0)
            phi = self._edge_params(sub, j, +1.0)
            diffs = {}
            for arm in m.arms:
                elo, ehi = m.arm_logit(plo, arm), m.arm_logit(phi, arm)
                d1 = log_expit(ehi) - log_expit(elo)
                d0 = log_expit(-ehi) - log_expit(-elo)
                if np.abs(d1).max(initial=0.0) == 0 and np.abs(d0).max(initial=0.0) == 0:
                    continue
                diffs[arm] = (np.ascontiguousarray(d1.T), np.ascontiguousarray(d0.T))
            self._axis_tables.append((j, idx, q.h[j], diffs, cj, share, cross))

    @property
    def size(self) -> int:
        """Number of prior-grid nodes."""
        return self.quad.size

    def log_posterior(self, counts: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Unnormalised log posterior at the prior-grid nodes, shape (T, S)."""
        out = None
        for arm, (n, y) in counts.items():
            logp, log1mp = self._logp[arm]
            n = np.asarray(n, dtype=float)
            y = np.asarray(y, dtype=float)
            term = y @ logp + (n - y) @ log1mp
            out = term if out is None else out + term
        return out + self.log_prior

    def weights(self, counts: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Normalised posterior weights at the prior-grid nodes, shape (T, S)."""
        lp = self.log_posterior(counts)
        lp -= lp.max(axis=1, keepdims=True)
        np.exp(lp, out=lp)
        lp /= lp.sum(axis=1, keepdims=True)
        return lp

    def _above(
        self,
        w: np.ndarray,
        counts: Mapping[str, tuple[np.ndarray, np.ndarray]],
        cov: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``P(p >= lo)`` and ``P(p >= hi)`` per trial and dose of the decision arm, and
        per trial the cut check (``cov``: posterior covariance of the whitened
        coordinates, shape (T, K, K)).

        Several cut axes: every dose's cut is integrated along each axis; the result
        kept is the axis along which the cut is crossed most sharply relative to how
        coarsely the other axes sample it (``_cut_scores``), and the check is its largest
        difference (over doses and both cuts) from the runner-up axis; 0 with one axis.
        """
        T = w.shape[0]
        if self._single:
            above = [w @ f for f in self.fractions]
        else:
            base = [w @ ind for ind in self._indicator]
            per_axis, slopes = [], []
        for j, idx, h, diffs, cj, share, cross in self._axis_tables:
            if idx.size == 0:
                if not self._single:
                    per_axis.append(np.stack(base))
                    slopes.append(w @ cross)
                continue
            # d log posterior / d u_j across each cell = prior part + likelihood difference / h
            g = np.broadcast_to(-self.quad.u[j, idx], (T, idx.size)).copy()
            for arm, (d1, d0) in diffs.items():
                if arm not in counts:
                    continue
                n, y = (np.asarray(a, dtype=float) for a in counts[arm])
                g += (y @ d1 + (n - y) @ d0) / h
            wj = w[:, idx]
            wg = wj * g
            if self._single:
                above = [above[k] + wg @ cj[k] for k in range(2)]
                continue
            per_axis.append(np.stack([base[k] + wj @ share[k] + wg @ cj[k] for k in range(2)]))
            slopes.append(w @ cross)
        if self._single:
            return above[0], above[1], np.zeros(T)
        if cov is None:
            cov = self._diagnose(w)[3]
        A = np.stack(per_axis)  # (axes, 2, T, D)
        score = self._cut_scores(np.stack(slopes), cov)  # (axes, T, D)
        order = np.argsort(-score, axis=0, kind="stable")
        best = np.take_along_axis(A, order[0][None, None], axis=0)[0]
        second = np.take_along_axis(A, order[1][None, None], axis=0)[0]
        check = np.abs(best - second).max(axis=(0, 2))
        return best[0], best[1], check

    def _cut_scores(self, slopes: np.ndarray, cov: np.ndarray) -> np.ndarray:
        """Per cut axis ``j``, trial and dose: ``|dl/du_j| s_j / max_k |dl/du_k| h_k``
        (``l`` the dose's logit, ``s_j`` the posterior SD of ``u_j`` given the other
        coordinates, ``h_k`` the cell width of another cut axis ``k``).  Integrated along
        ``j``, the cut leaves a function of the other coordinates whose transition spans
        ``|dl/du_j| s_j / |dl/du_k|`` along ``u_k``: the larger that width in cells, the
        more accurate the midpoint sums over the other axes."""
        axes = [t[0] for t in self._axis_tables]
        K = cov.shape[-1]
        prec = np.linalg.inv(cov + np.eye(K) * 1e-12 * np.trace(cov, axis1=1, axis2=2)[:, None, None])
        cond_sd = 1.0 / np.sqrt(np.clip(np.diagonal(prec, axis1=1, axis2=2), 1e-300, None))
        h = np.asarray(self.quad.h)
        spread = slopes * cond_sd[:, axes].T[:, :, None]  # (axes, T, D)
        sampled = slopes * h[axes][:, None, None]
        out = np.empty_like(spread)
        for a in range(len(axes)):
            others = np.delete(sampled, a, axis=0).max(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[a] = np.where(others > 0, spread[a] / others, np.inf)
        return out

    def _diagnose(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Edge mass, resolution (cells), posterior mean and covariance of ``u``."""
        K = self.n_axes
        edge = w @ self._edge
        mom = w @ self._moment_features
        h = np.asarray(self.quad.h)
        mean_c = mom[:, :K]
        second = np.zeros((w.shape[0], K, K))
        iu, ju = np.triu_indices(K)
        second[:, iu, ju] = mom[:, K:]
        second[:, ju, iu] = mom[:, K:]
        cov_c = second - mean_c[:, :, None] * mean_c[:, None, :]
        res = lattice_resolution(cov_c)
        mean = mean_c * h
        cov = cov_c * h[:, None] * h[None, :]
        return edge, res, mean, cov

    # -- estimate --------------------------------------------------------------------
    def estimate(
        self, counts: Mapping[str, tuple[np.ndarray, np.ndarray]], intervals: bool | None = None
    ) -> Estimate:
        """Posterior summaries of the decision arm for every trial.

        Parameters
        ----------
        counts : mapping arm -> (n, y)
            Patients and DLTs per dose, each of shape (T, D_arm).
        intervals : bool, optional
            Compute credible bounds (default: only for a single trial).
        """
        arms = list(counts)
        unknown = set(arms) - set(self.model.arms)
        if unknown:
            raise ValueError(
                f"grid engine: unknown arm(s) {sorted(unknown)}; model arms {self.model.arms}"
            )
        stacked = np.concatenate(
            [np.asarray(a, dtype=np.int64) for arm in arms for a in counts[arm]], axis=1
        )
        T = stacked.shape[0]
        if intervals is None:
            intervals = T == 1
        uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        widths = [np.asarray(counts[arm][0]).shape[1] for arm in arms]

        def split(u: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
            sub: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            col = 0
            for arm, w in zip(arms, widths, strict=True):
                sub[arm] = (u[:, col : col + w], u[:, col + w : col + 2 * w])
                col += 2 * w
            return sub

        block = max(1, self.chunk // self.size)
        parts = []
        for start in range(0, uniq.shape[0], block):
            u = uniq[start : start + block]
            sub = split(u)
            w = self.weights(sub)
            edge, res, mean, cov = self._diagnose(w)
            a_lo, a_hi, cut_check = self._above(w, sub, cov)
            est = self.model.summarise(
                self.quad.params, w, above=(a_lo, a_hi), intervals=intervals, engine="grid",
            )  # fmt: skip
            ok = (edge <= EDGE_TOL) & (res >= MIN_CELLS) & (cut_check <= CUT_TOL)
            stats = dict(est.stats)
            stats["grid_edge_mass"] = edge
            stats["grid_resolution"] = res
            if not self._single:
                stats["grid_cut_check"] = cut_check
            stats["grid_refined"] = np.zeros(u.shape[0], dtype=bool)
            stats["grid_flag"] = ~ok
            est = _with_stats(est, stats)
            bad = np.flatnonzero(~ok)
            if bad.size and self.adaptive:
                # cell spread: a posterior inside one cell still has width ~h / sqrt(12)
                h2 = np.asarray(self.quad.h) ** 2 / 12.0
                fixed = posterior_grid(
                    self, split(u[bad]), mean[bad], cov[bad] + np.diag(h2), intervals
                )
                est = _replace_rows(est, bad, fixed)
            parts.append(est)
        out = _concat_take(parts, inverse)
        flag = np.asarray(out.stats["grid_flag"])
        msgs = []
        if flag.any():
            edge = np.asarray(out.stats["grid_edge_mass"])[flag]
            cut = np.asarray(out.stats.get("grid_cut_check", np.zeros(flag.shape)))[flag]
            if (edge > EDGE_TOL).any():
                msgs.append(FLAG_EDGE)
            if ((edge <= EDGE_TOL) & (cut <= CUT_TOL)).any():
                msgs.append(FLAG_RES)
            if (cut > CUT_TOL).any():
                msgs.append(FLAG_CUT)
        return _with_stats(out, dict(out.stats), grid_flags=tuple(msgs))


# -- posterior grids -----------------------------------------------------------------
def _logpost(
    model: GridModel, u: np.ndarray, counts: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Log posterior ``(B, S)`` at per-trial nodes ``u`` (B, K, S), and the parameters."""
    params = model.from_whitened(list(np.moveaxis(u, 1, 0)))
    lp = -0.5 * (u * u).sum(axis=1)
    for arm, (n, y) in counts.items():
        eta = model.arm_logit(params, arm)  # (B, S, D)
        n = np.asarray(n, dtype=float)
        y = np.asarray(y, dtype=float)
        lp += np.einsum("bsd,bd->bs", log_expit(eta), y)
        lp += np.einsum("bsd,bd->bs", log_expit(-eta), n - y)
    return lp, params


def _evaluate(
    engine: GridEngine,
    counts: Mapping[str, tuple[np.ndarray, np.ndarray]],
    mean: np.ndarray,
    chol: np.ndarray,
    shape: tuple[int, ...],
    intervals: bool,
) -> dict[str, Any]:
    """Posterior summaries of ``B`` trials, each on its own grid ``u = mean + chol v``."""
    model = engine.model
    K = engine.n_axes
    v, h, edge_mask = product_grid(shape, (POST_WIDTH,) * K)
    u = mean[:, :, None] + chol @ v[None]  # (B, K, S)
    lp, params = _logpost(model, u, counts)
    w = lp - lp.max(axis=1, keepdims=True)
    np.exp(w, out=w)
    w /= w.sum(axis=1, keepdims=True)
    # cut integration: one-axis models along the last v axis (it moves only the last
    # whitened coordinate, chol being lower triangular, along which the logit is
    # monotone); several axes (diagonal chol): per trial and dose along the axis whose
    # posterior spread moves the logit most, as on the prior grid
    dec = model.decision_arm
    axes = (K - 1,) if len(model.cut_axes) == 1 else model.cut_axes
    best = None
    for j in axes:
        step = chol[:, :, j, None] * (h[j] / 2.0)
        lp_lo, p_lo = _logpost(model, u - step, counts)
        lp_hi, p_hi = _logpost(model, u + step, counts)
        lo, hi = model.arm_logit(p_lo, dec), model.arm_logit(p_hi, dec)
        g = np.broadcast_to(((lp_hi - lp_lo) / h[j])[:, :, None], lo.shape)
        score = np.einsum("bs,bsd->bd", w, np.abs(hi - lo))[:, None, :]
        cand = [score, lo, hi, g, np.full(lo.shape, h[j])]
        if best is None:
            best = cand
        else:
            better = score > best[0]
            best = [np.where(better, c, o) for c, o in zip(cand, best, strict=True)]
    _, lo, hi, g, hs = best  # type: ignore[misc]
    above = []
    for c in model.cuts:
        f, corr = cut_share(lo, hi, float(np.log(c / (1.0 - c))), hs)
        above.append(np.einsum("bs,bsd->bd", w, f + g * corr))
    ests = []
    for b in range(w.shape[0]):
        one = {k: val[b] for k, val in params.items()}
        ab = (above[0][b : b + 1], above[1][b : b + 1])
        ests.append(model.summarise(one, w[b : b + 1], above=ab, intervals=intervals))
    m = np.einsum("bs,bks->bk", w, u)
    d = u - m[:, :, None]
    cov = np.einsum("bs,bks,bls->bkl", w, d, d)
    edge = w @ edge_mask.astype(float)
    # resolution in cells of this grid: covariance of v / h
    vh = v / np.asarray(h)[:, None]
    mv = w @ vh.T
    dv = vh[None] - mv[:, :, None]
    cv = np.einsum("bs,bks,bls->bkl", w, dv, dv)
    res = lattice_resolution(cv)
    return {"est": ests, "mean": m, "cov": cov, "edge": edge, "res": res}


def _summary_vector(est: Estimate) -> np.ndarray:
    return np.concatenate(
        [np.asarray(est.stats[k], dtype=float).ravel() for k in ("p_under", "p_target", "p_over")]
    )


def posterior_grid(
    engine: GridEngine,
    counts: Mapping[str, tuple[np.ndarray, np.ndarray]],
    mean: np.ndarray,
    cov: np.ndarray,
    intervals: bool,
    base: int | None = None,
    max_locate: int = 10,
    max_refine: int = 4,
) -> list[Estimate]:
    """Summaries of ``B`` trials on grids centred and whitened on each posterior.

    ``mean`` (B, K) and ``cov`` (B, K, K) start the search (moments of ``u``); the grid is
    re-centred on the moments it finds, and widened while mass sits at its edge; then
    refined (1.5x points per axis) until the interval probabilities move by < ``tol``.
    Returns one single-trial :class:`Estimate` per trial, with ``grid_*`` statistics.
    """
    K = engine.n_axes
    if base is None:
        base = {1: 41, 2: 25, 3: 15}.get(K, 9)
    B = mean.shape[0]

    diagonal = len(engine.model.cut_axes) > 1

    def chol(c: np.ndarray) -> np.ndarray:
        c = 0.5 * (c + np.swapaxes(c, 1, 2))
        if diagonal:  # keep every monotone axis of the model an axis of the grid
            return np.sqrt(np.clip(np.diagonal(c, axis1=1, axis2=2), 1e-300, None))[
                :, :, None
            ] * np.eye(K)
        scale = np.sqrt(np.clip(np.diagonal(c, axis1=1, axis2=2), 1e-300, None))
        return np.linalg.cholesky(c + np.eye(K) * (1e-10 * scale[:, :, None] ** 2))

    out: list[Estimate | None] = [None] * B

    def subset(ix: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return {a: (np.asarray(n)[ix], np.asarray(y)[ix]) for a, (n, y) in counts.items()}

    # one trial at a time: a trial's grids (and so its result) never depend on which
    # other trials are computed with it (simulations stay identical under any chunking)
    for start in range(B):
        ix = np.array([start])
        m, c = mean[ix].copy(), cov[ix].copy()
        sub = subset(ix)
        # locate: re-centre and re-scale on the moments found; where mass sits at the
        # edge (tails heavier than normal, or a start far from the posterior) widen the
        # grid by 1.5x (and add points to keep the cell width)
        s = np.ones(ix.size)
        for _ in range(max_locate):
            n0 = min(int(np.ceil(base * s.max())) | 1, int(MAX_POST_NODES ** (1 / K)) | 1)
            r = _evaluate(engine, sub, m, chol(c) * s[:, None, None], (n0,) * K, False)
            at_edge = r["edge"] > EDGE_TOL
            sd_old = np.sqrt(np.diagonal(c, axis1=1, axis2=2))
            sd_new = np.sqrt(np.diagonal(r["cov"], axis1=1, axis2=2))
            moved = (np.abs(r["mean"] - m) / sd_old).max(axis=1)
            rescaled = np.abs(np.log(sd_new / sd_old)).max(axis=1)
            stable = (~at_edge) & (moved < 0.2) & (rescaled < 0.2)
            m, c = r["mean"], r["cov"]
            s = np.where(at_edge, 1.5 * s, s)
            if stable.all():
                break
        L = chol(c) * s[:, None, None]
        base_n = min(int(np.ceil(base * s.max())) | 1, int(MAX_POST_NODES ** (1 / K)) | 1)
        # refine until the interval probabilities and means settle
        n = base_n
        prev = cur = _evaluate(engine, sub, m, L, (n,) * K, intervals)
        done = np.zeros(ix.size, dtype=bool)
        final: list[Estimate | None] = [None] * ix.size
        edge = prev["edge"]
        res = prev["res"]
        for _ in range(max_refine):
            n = int(np.ceil(1.5 * n)) | 1
            if n**K > MAX_POST_NODES:
                break  # memory bound: keep the finest grid computed (flagged if unsettled)
            cur = _evaluate(engine, sub, m, L, (n,) * K, intervals)
            for b in range(ix.size):
                if done[b]:
                    continue
                a, e = prev["est"][b], cur["est"][b]
                dp = np.abs(_summary_vector(a) - _summary_vector(e)).max()
                dm = np.abs(a.prob_mean - e.prob_mean).max()
                if dp < engine.tol and dm < engine.tol / 10 and cur["edge"][b] <= EDGE_TOL:
                    done[b] = True
                    final[b] = e
                    edge[b], res[b] = cur["edge"][b], cur["res"][b]
            if done.all():
                break
            prev = cur
            edge = np.where(done, edge, cur["edge"])
            res = np.where(done, res, cur["res"])
        for b in range(ix.size):
            e = final[b] if final[b] is not None else cur["est"][b]
            stats = dict(e.stats)
            stats["grid_edge_mass"] = np.array([edge[b]])
            stats["grid_resolution"] = np.array([res[b]])
            stats["grid_refined"] = np.array([True])
            stats["grid_flag"] = np.array([not done[b]])
            out[ix[b]] = _with_stats(e, stats)
    return out  # type: ignore[return-value]


# -- assembling estimates ------------------------------------------------------------
def _with_stats(est: Estimate, stats: dict[str, np.ndarray], **kw: Any) -> Estimate:
    return Estimate(
        prob_mean=est.prob_mean, prob_lower=est.prob_lower, prob_upper=est.prob_upper,
        interval=est.interval, stats=stats, engine=est.engine,
        grid_flags=kw.get("grid_flags", est.grid_flags),
    )  # fmt: skip


def _replace_rows(est: Estimate, rows: np.ndarray, new: list[Estimate]) -> Estimate:
    """``est`` with trials ``rows`` replaced by the single-trial estimates ``new``."""

    def put(a: np.ndarray | None, get: Any) -> np.ndarray | None:
        if a is None:
            return None
        a = np.array(a, copy=True)
        for r, e in zip(rows, new, strict=True):
            a[r] = get(e)[0]
        return a

    stats = {k: put(v, lambda e, k=k: e.stats[k]) for k, v in est.stats.items()}
    return Estimate(
        prob_mean=put(est.prob_mean, lambda e: e.prob_mean),
        prob_lower=put(est.prob_lower, lambda e: e.prob_lower),
        prob_upper=put(est.prob_upper, lambda e: e.prob_upper),
        interval=est.interval, stats=stats, engine=est.engine,
    )  # fmt: skip


def _concat_take(parts: list[Estimate], index: np.ndarray) -> Estimate:
    """Concatenate block estimates and expand unique states back to trials."""

    def cat(get: Any) -> np.ndarray | None:
        vals = [get(p) for p in parts]
        if vals[0] is None:
            return None
        return np.concatenate(vals, axis=0)[index]

    first = parts[0]
    stats = {k: cat(lambda p, k=k: p.stats[k]) for k in first.stats}
    return Estimate(
        prob_mean=cat(lambda p: p.prob_mean),
        prob_lower=cat(lambda p: p.prob_lower),
        prob_upper=cat(lambda p: p.prob_upper),
        interval=first.interval,
        stats=stats,
        engine=first.engine,
    )


_ENGINES: dict[Any, GridEngine] = {}


def grid_engine(model: GridModel, shape: tuple[int, ...]) -> GridEngine:
    """The grid engine of ``(model, shape)``, built once and reused (at most 16 kept)."""
    key = (model, tuple(shape))
    eng = _ENGINES.get(key)
    if eng is None:
        if len(_ENGINES) > 16:
            _ENGINES.clear()
        eng = _ENGINES[key] = GridEngine(model, tuple(shape))
    return eng
