"""BOIN12: Bayesian optimal interval phase I/II design (Lin, Zhou, Yan, Li & Yuan 2020,
JCO Precision Oncology 4:1393-1402), finding the optimal biological dose (OBD) from
toxicity and efficacy.

**Utility.** Each patient scores ``u1`` (response without DLT, 100), ``u2`` (neither),
``u3`` (response and DLT) or ``u4`` (DLT without response, 0); default ``(100, 40, 60,
0)``.  At dose ``j`` with ``n_j`` patients the quasi-events ``x_j = sum(u) / 100`` give
the posterior ``Beta(1 + x_j, 1 + n_j - x_j)`` of the standardised utility.  The
benchmark is ``u_b = u_bar + (100 - u_bar) / 2`` with ``u_bar`` the utility of a dose at
the acceptability limits (``phi_T``, ``phi_E``, independent outcomes); the **desirability**
of a dose is ``P(utility > u_b / 100 | data)``.  Ranking these probabilities over every
``(n, x)`` gives the paper's rank-based desirability score (RDS, its Table 3,
:func:`desirability_table`); decisions compare the probabilities themselves, which orders
doses exactly as their RDS ranks do.

**Admissibility.** A dose is eliminated for toxicity when ``P(p_T > phi_T | Beta(1 + y, 1 +
n - y)) >= c_t`` (0.95), and then so is every higher dose; for futility when
``P(p_E < phi_E | Beta(1 + r, 1 + n - r)) >= c_e`` (0.9), that dose only.

**Dose finding**, at the current dose ``j`` with observed DLT rate ``p = y_j / n_j`` and
BOIN's boundaries ``lambda_e``, ``lambda_d`` for ``phi_T`` (:func:`~bayes_dose.boin_boundaries`):

1. exploration: ``n_j >= n_explore`` (9), ``p < lambda_d`` and dose ``j + 1`` untried and
   admissible: escalate to ``j + 1``;
2. ``p >= lambda_d``: de-escalate to ``j - 1`` (stay at the lowest dose);
3. ``lambda_e < p < lambda_d`` and ``n_j >= n_star`` (6): the more desirable admissible
   dose of ``j - 1, j`` (ties: the lower); neither admissible: the lowest dose;
4. otherwise: the most desirable admissible dose of ``j - 1, j, j + 1`` (ties: the
   higher); none admissible: stop.

The trial stops when the lowest dose is eliminated for toxicity (no OBD).

**OBD selection** (:meth:`BOIN12.select`): the MTD as BOIN's ``select.mtd`` finds it over
the treated doses (isotonic regression of ``(y + 0.05) / (n + 0.1)`` weighted by the
inverse variance; closest to ``phi_T``, ties broken by ``1e-10 x rank``), then among
treated, admissible doses at or below it the one with the highest posterior mean utility
``(1 + x_j) / (2 + n_j)`` (ties: the lower).  (The escalation R package ranks by the
desirability instead; the PKBOIN-12 authors' code, like the paper, by the estimated
utility.)

These are the rules of the paper's Table 2 with its supplement's exploration rule, as
cross-checked against the published RDS table (tests/test_boin12.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betainc, betaincc
from scipy.stats import beta as beta_dist

from .. import checks
from ..arrays import isotonic_rows, unique_rows
from ..inference.estimate import Estimate
from ..outcomes import Outcomes
from .base import Design, Fit
from .boin import _lambdas, probabilities
from .options import BaseOptions
from .state import NONE, Decision, DoseData, Selection
from .utility import DEFAULT_UTILITY, check_utility

__all__ = ["BOIN12", "BOIN12Fit", "desirability_table"]

EXPLORE, DEESCALATE, PAIR, PAIR_NONE, TRIPLE, STOP_NONE, STOP_LOWEST = range(7)


def _on_unique(fn: Any, *arrays: np.ndarray) -> np.ndarray:
    """``fn(*arrays)`` evaluated once per distinct tuple of (small, non-negative integer)
    entries: simulated count arrays repeat the same few cells across trials."""
    shape = arrays[0].shape
    key = np.zeros(arrays[0].size, dtype=np.int64)
    for a in arrays:
        key = key * 4096 + np.asarray(a, dtype=np.int64).ravel()
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    vals = fn(*(np.asarray(a).ravel()[first] for a in arrays))
    return np.asarray(vals)[inverse].reshape(shape)


def _benchmark(phi_t: float, phi_e: float, u: tuple[float, ...]) -> float:
    """``u_b``: halfway from the utility at the acceptability limits to 100."""
    u_bar = (u[0] * phi_e * (1 - phi_t) + u[1] * (1 - phi_t) * (1 - phi_e)
             + u[2] * phi_t * phi_e + u[3] * phi_t * (1 - phi_e))  # fmt: skip
    return u_bar + (100 - u_bar) / 2


def _quasi(n: np.ndarray, dlt: np.ndarray, resp: np.ndarray, both: np.ndarray,
           u: tuple[float, ...]) -> np.ndarray:  # fmt: skip
    """Quasi-events ``sum(u) / 100`` per dose from the joint cell counts."""
    y1 = resp - both  # response, no DLT
    y3 = both
    y4 = dlt - both
    y2 = n - y1 - y3 - y4
    return (u[0] * y1 + u[1] * y2 + u[2] * y3 + u[3] * y4) / 100.0


def desirability_table(
    sample_sizes: list[int] | tuple[int, ...],
    phi_t: float,
    phi_e: float,
    utility: tuple[float, float, float, float] = DEFAULT_UTILITY,
    c_t: float = 0.95,
    c_e: float = 0.9,
) -> pd.DataFrame:
    """BOIN12's rank-based desirability scores (the paper's Table 3) for marginal counts.

    One row per ``n`` in ``sample_sizes``, DLT count and response count (``0..n`` each);
    the quasi-events take the utility as additive (``u1 + u4 = u2 + u3``, as the default
    table is), so they depend on the marginal counts only.  ``admissible``: neither
    elimination rule fires; ``p_desirable``: ``P(utility > u_b | data)``; ``rds``: its
    rank among the admissible rows (average ranks for ties; NaN when eliminated).

    Examples
    --------
    >>> from bayes_dose.designs.boin12 import desirability_table
    >>> t = desirability_table([0, 3, 6, 9], phi_t=0.35, phi_e=0.25)
    >>> t.set_index(["n", "dlt", "resp"]).rds.loc[[(0, 0, 0), (3, 0, 3), (9, 3, 1)]].tolist()
    [60.0, 91.0, 7.0]
    """
    u = check_utility(utility, "desirability_table")
    if abs(u[0] + u[3] - u[1] - u[2]) > 1e-9:
        raise ValueError(
            "desirability_table: marginal counts define the utility only when it is additive "
            f"(u1 + u4 = u2 + u3), got {u}"
        )
    rows = [(n, t, e) for n in sample_sizes for t in range(n + 1) for e in range(n + 1)]
    df = pd.DataFrame(rows, columns=["n", "dlt", "resp"])
    n, t, e = (df[c].to_numpy(dtype=float) for c in ("n", "dlt", "resp"))
    p_tox = beta_dist.sf(phi_t, 1 + t, 1 + n - t)
    p_fut = beta_dist.cdf(phi_e, 1 + e, 1 + n - e)
    # additive: u(E, T) = u2 + (u1 - u2) E + (u4 - u2) T
    x = (u[1] * n + (u[0] - u[1]) * e + (u[3] - u[1]) * t) / 100.0
    ub = _benchmark(phi_t, phi_e, u)
    df["admissible"] = (p_tox < c_t) & (p_fut < c_e)
    df["p_desirable"] = beta_dist.sf(ub / 100.0, 1 + x, 1 + n - x)
    df["rds"] = df["p_desirable"].where(df["admissible"]).rank(method="average")
    return df


@dataclass(frozen=True, kw_only=True)
class BOIN12Fit(Fit):
    """A BOIN12 fit: ``mtd`` is the selected OBD; also ``desirability`` (P(utility >
    u_b) per dose), ``utility`` (posterior mean, 0..100), ``admissible`` (per dose) and
    ``tox_mtd`` (the isotonic MTD bounding the OBD)."""

    desirability: tuple[float, ...] = ()
    utility: tuple[float, ...] = ()
    admissible: tuple[bool, ...] = ()
    tox_mtd: int | None = None

    @property
    def obd(self) -> int | None:
        """The selected optimal biological dose (1-based), the same as ``mtd``."""
        return self.mtd

    @property
    def mtd_label(self) -> str:
        return "none" if self.mtd is None else "OBD"


class BOIN12(Design):
    """BOIN12 phase I/II design (module docstring: rules and sources).

    Parameters
    ----------
    target : float
        Highest acceptable DLT probability ``phi_T`` (BOIN's target for the boundaries).
    n_doses : int
    phi_e : float
        Lowest acceptable response probability ``phi_E``.
    utility : 4 numbers
        ``(u1, u2, u3, u4)``: response without DLT (100), neither, both, DLT only (0).
    n_star : int
        Patients at a dose from which, between the boundaries, only ``j - 1`` and ``j``
        are considered (``N*`` = 6).
    n_explore : int
        Patients at a dose from which an untried next dose is explored (9).
    c_t, c_e : float
        Elimination cut-offs for toxicity (0.95) and futility (0.9).
    p_saf, p_tox : float, optional
        BOIN's boundary parameters (defaults ``0.6 target``, ``1.4 target``).
    cohort_size, max_n, start_level, doses_mg, stopping
        As in :class:`~bayes_dose.Design` (no titration; no skipping).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> d = bd.BOIN12(target=0.35, n_doses=5, phi_e=0.25, max_n=36)
    >>> fit = d.fit(bd.Outcomes.parse("1NNN 2ENN"))
    >>> fit.next_dose, fit.mtd
    (3, 2)
    """

    label = "BOIN12"
    uses_estimate = False
    uses_last_cohort = False
    #: The rule reads responders per dose (``DoseData.resp``): simulate with ``efficacy=``.
    uses_efficacy = True
    own_reasons = (
        "{n} patients at level {dose} (>= {n_explore}), DLT rate {rate} below the "
        "de-escalation boundary {lam_d:.3f} and level {next} untried: explore level {next}",
        "{dlt} DLT in {n} patients at level {dose} (rate {rate} >= {lam_d:.3f}): de-escalate "
        "to level {next}",
        "{dlt} DLT in {n} patients at level {dose} (rate {rate} between {lam_e:.3f} and "
        "{lam_d:.3f}, n >= {n_star}): the more desirable of levels {lo}-{dose} is level {next} "
        "({desir})",
        "{dlt} DLT in {n} patients at level {dose} (between the boundaries, n >= {n_star}): "
        "neither level {lo} nor {dose} is admissible; treat at level {next}",
        "{dlt} DLT in {n} patients at level {dose}: the most desirable admissible level of "
        "{lo}-{hi} is level {next} ({desir})",
        "no admissible level among {lo}-{hi} (toxicity or futility eliminated): stop, no OBD",
        "the lowest level is too toxic (P(DLT rate > {phi_t:g}) >= {c_t:g}): stop, no OBD",
    )

    #: BOIN12 never skips a dose and has no accelerated titration.
    base_options = BaseOptions(
        fixed={"no_skip": True, "titration_grade2": False, "titration_levels": 0}
    )

    def __init__(
        self,
        target: float,
        n_doses: int,
        phi_e: float,
        utility: tuple[float, float, float, float] = DEFAULT_UTILITY,
        n_star: int = 6,
        n_explore: int = 9,
        c_t: float = 0.95,
        c_e: float = 0.9,
        cohort_size: int = 3,
        max_n: int | None = None,
        p_saf: float | None = None,
        p_tox: float | None = None,
    ) -> None:
        # n_doses, cohort_size and max_n: base options listed for their positions
        self.target, self.p_saf, self.p_tox = probabilities("BOIN12", target, p_saf, p_tox)
        self.phi_e = checks.real("BOIN12", "phi_e", phi_e)
        self.utility = check_utility(utility, "BOIN12")
        self.n_star = checks.whole("BOIN12", "n_star", n_star, low=1)
        self.n_explore = checks.whole("BOIN12", "n_explore", n_explore, low=1)
        self.c_t = checks.real("BOIN12", "c_t", c_t)
        self.c_e = checks.real("BOIN12", "c_e", c_e)
        if not 0 < self.target < 1:
            raise ValueError(f"BOIN12: target must be in (0, 1), got {target!r}")
        if not 0 < self.phi_e < 1:
            raise ValueError(f"BOIN12: phi_e must be in (0, 1), got {phi_e!r}")
        for name in ("c_t", "c_e"):
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"BOIN12: {name} must be in (0, 1), got {getattr(self, name)!r}")
        if self.n_star < 1 or self.n_explore < 1:
            raise ValueError(
                f"BOIN12: n_star and n_explore must be >= 1, got {self.n_star}, {self.n_explore}"
            )
        if not 0 < self.p_saf < self.target < self.p_tox < 1:
            raise ValueError(
                f"BOIN12: need 0 < p_saf < target < p_tox < 1, got {self.p_saf}, {self.target}, "
                f"{self.p_tox}"
            )

    @property
    def lambdas(self) -> tuple[float, float]:
        """BOIN's ``(lambda_e, lambda_d)`` for ``target``."""
        return _lambdas(self.target, self.p_saf, self.p_tox)

    @property
    def benchmark(self) -> float:
        """``u_b`` (0..100)."""
        return _benchmark(self.target, self.phi_e, self.utility)

    # -- evidence ------------------------------------------------------------------------
    def _resp(self, data: DoseData) -> tuple[np.ndarray, np.ndarray]:
        if data.resp is None:
            raise ValueError(
                "BOIN12 decides on response: the data have no responders per dose (give "
                "Outcomes with a 'response' column, or simulate with efficacy=)"
            )
        both = data.resp_dlt
        if both is None:
            if abs(self.utility[0] + self.utility[3] - self.utility[1] - self.utility[2]) > 1e-9:
                raise ValueError(
                    "BOIN12: a non-additive utility needs the joint DLT x response counts "
                    "(DoseData.resp_dlt)"
                )
            both = np.maximum(data.resp + data.dlt - data.n, 0)  # additive: any split will do
        return data.resp, both

    def admissible(self, data: DoseData) -> tuple[np.ndarray, np.ndarray]:
        """``(admissible, tox_eliminated)``, each (T, D): toxicity elimination carries to
        every higher dose; futility eliminates the dose only."""
        resp, _ = self._resp(data)
        n, y = data.n, data.dlt
        tox = _on_unique(lambda n, y: betaincc(1 + y, 1 + n - y, self.target) >= self.c_t, n, y)
        tox = np.logical_or.accumulate(tox, axis=1)
        fut = _on_unique(lambda n, r: betainc(1 + r, 1 + n - r, self.phi_e) >= self.c_e, n, resp)
        return ~tox & ~fut, tox

    def desirability(self, data: DoseData) -> np.ndarray:
        """``P(utility > u_b | data)`` per dose, shape (T, D)."""
        resp, both = self._resp(data)
        ub = self.benchmark / 100.0

        def p(n: np.ndarray, y: np.ndarray, r: np.ndarray, b: np.ndarray) -> np.ndarray:
            x = _quasi(n, y, r, b, self.utility)
            return betaincc(1 + x, 1 + n - x, ub)

        return _on_unique(p, data.n, data.dlt, resp, both)

    # -- the rule ------------------------------------------------------------------------
    def _rule(self, data: DoseData, estimate: Estimate | None) -> Decision:
        T, D = data.n_trials, self.n_doses
        lam_e, lam_d = self.lambdas
        rows = np.arange(T)
        d = np.clip(data.current, 0, None)
        n = data.at_current(data.n)
        y = data.at_current(data.dlt)
        rate = np.where(n > 0, y / np.maximum(n, 1), 0.0)
        adm, tox = self.admissible(data)
        des = self.desirability(data)
        lo = np.maximum(d - 1, 0)
        hi = np.minimum(d + 1, D - 1)
        idx = np.arange(D)[None, :]

        nxt = d.copy()
        code = np.full(T, TRIPLE)
        stop = np.zeros(T, dtype=bool)
        decided = np.zeros(T, dtype=bool)

        explore = ((n >= self.n_explore) & (rate < lam_d) & (d < D - 1)
                   & (data.n[rows, hi] == 0) & adm[rows, hi])  # fmt: skip
        nxt[explore], code[explore] = d[explore] + 1, EXPLORE
        decided |= explore

        de = ~decided & (rate >= lam_d)
        nxt[de], code[de] = lo[de], DEESCALATE
        decided |= de

        pair = ~decided & (rate > lam_e) & (rate < lam_d) & (n >= self.n_star)
        in_pair = (idx >= lo[:, None]) & (idx <= d[:, None]) & adm
        score = np.where(in_pair, des, -np.inf)
        best = np.argmax(score, axis=1)  # ties: the lower dose
        has = in_pair.any(axis=1)
        m = pair & has
        nxt[m], code[m] = best[m], PAIR
        m = pair & ~has
        nxt[m], code[m] = 0, PAIR_NONE
        decided |= pair

        rest = ~decided
        in_tri = (idx >= lo[:, None]) & (idx <= hi[:, None]) & adm
        score = np.where(in_tri, des, -np.inf)
        top = score.max(axis=1, keepdims=True)
        best = D - 1 - np.argmax((score >= top - 1e-12)[:, ::-1], axis=1)  # ties: the higher
        has = in_tri.any(axis=1)
        m = rest & has
        nxt[m] = best[m]
        m = rest & ~has
        code[m], stop[m] = STOP_NONE, True

        lowest = tox[:, 0]
        code[lowest], stop[lowest] = STOP_LOWEST, True
        nxt = np.where(stop, NONE, nxt)
        size = np.where(stop, 0, self.cohort_size)
        return Decision(nxt, size, stop, np.asarray(self._code(0)) + code)

    def explain(self, data: DoseData, decision: Decision, trial: int = 0) -> str:
        reason = int(decision.reason[trial]) - self._code(0)
        if reason < 0:
            return super().explain(data, decision, trial)
        cur = int(data.current[trial])
        n = int(data.n[trial, cur])
        y = int(data.dlt[trial, cur])
        lam_e, lam_d = self.lambdas
        lo, hi = max(cur - 1, 0), min(cur + 1, self.n_doses - 1)
        des = self.desirability(data.take(np.array([trial])))[0]
        adm, _ = self.admissible(data.take(np.array([trial])))
        desir = ", ".join(
            f"level {k + 1}: {des[k]:.3f}" + ("" if adm[0, k] else " (not admissible)")
            for k in range(lo, (cur if reason in (PAIR, PAIR_NONE) else hi) + 1)
        )
        nxt = int(decision.next_dose[trial])
        fields = {
            "dose": cur + 1, "n": n, "dlt": y, "rate": f"{y}/{n}", "lam_e": lam_e, "lam_d": lam_d,
            "n_star": self.n_star, "n_explore": self.n_explore, "lo": lo + 1, "hi": hi + 1,
            "next": nxt + 1 if nxt >= 0 else None, "desir": desir, "phi_t": self.target,
            "c_t": self.c_t,
        }  # fmt: skip
        return self.own_reasons[reason].format(**fields)

    # -- OBD selection -------------------------------------------------------------------
    def tox_mtd(self, data: DoseData) -> np.ndarray:
        """0-based MTD as BOIN's ``select.mtd`` over the treated doses (module docstring);
        -1 when nothing was treated."""
        treated = data.n > 0
        n, y = data.n.astype(float), data.dlt.astype(float)
        phat = (y + 0.05) / (n + 0.1)
        var = (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 0.1 + 1))
        keys = np.concatenate([data.n, data.dlt], axis=1)
        first, inverse = unique_rows(keys)
        iso = isotonic_rows(phat[first], 1.0 / var[first], treated[first])[inverse]
        rank = np.cumsum(treated, axis=1)
        dist = np.where(treated, np.abs(iso + rank * 1e-10 - self.target), np.inf)
        mtd = np.argmin(dist, axis=1)
        return np.where(treated.any(axis=1), mtd, NONE)

    def utility_estimate(self, data: DoseData) -> np.ndarray:
        """Posterior mean utility ``100 (1 + x) / (2 + n)`` per dose, shape (T, D)."""
        resp, both = self._resp(data)
        x = _quasi(data.n, data.dlt, resp, both, self.utility)
        return 100.0 * (1.0 + x) / (2.0 + data.n)

    def select(self, data: DoseData, estimate: Estimate | None = None) -> Selection:
        """The OBD (module docstring): the treated, admissible dose at or below the
        isotonic MTD with the highest posterior mean utility (ties: the lower); none when
        the lowest dose is too toxic or no dose qualifies."""
        adm, tox = self.admissible(data)
        des = self.utility_estimate(data)
        mtd = self.tox_mtd(data)
        ok = (data.n > 0) & adm & (np.arange(self.n_doses)[None, :] <= mtd[:, None])
        score = np.where(ok, des, -np.inf)
        dose = np.argmax(score, axis=1)
        none = ~ok.any(axis=1) | tox[:, 0]
        return Selection(np.where(none, NONE, dose).astype(np.int64),
                         np.zeros(data.n_trials, dtype=bool))  # fmt: skip

    # -- fits ----------------------------------------------------------------------------
    def _fit_class(self) -> type[Fit]:
        return BOIN12Fit

    def _fit_fields(self, data: DoseData, estimate: Estimate) -> dict[str, Any]:
        adm, _ = self.admissible(data)
        mtd = int(self.tox_mtd(data)[0])
        return {
            "desirability": tuple(float(x) for x in self.desirability(data)[0]),
            "utility": tuple(float(x) for x in self.utility_estimate(data)[0]),
            "admissible": tuple(bool(x) for x in adm[0]),
            "tox_mtd": None if mtd < 0 else mtd + 1,
        }

    def fit(self, outcomes: Outcomes, engine: str = "grid", **kwargs: Any) -> Fit:
        """Analyse one arm's data (needs a ``response`` column).  Patients whose response
        is not assessed yet (blank) make the fit hold, naming them; the estimates use the
        assessed patients."""
        if not isinstance(outcomes, Outcomes):
            raise ValueError(f"BOIN12.fit: expected Outcomes, got {type(outcomes).__name__}")
        if not outcomes.has_response:
            raise ValueError(
                "BOIN12.fit: the data have no 'response' column; BOIN12 decides on "
                "toxicity and response (Outcomes.parse letters E/B, or a response column)"
            )
        f = outcomes.to_frame()
        blank = tuple(str(p) for p in f.loc[f["response"].isna() & f["dlt"].notna(), "patient_id"])
        if not blank:
            return super().fit(outcomes, engine, **kwargs)
        fit = super().fit(outcomes._without(blank), engine, **kwargs)
        who = ", ".join(f"{r.patient_id} (level {r.dose_level})"
                        for r in f[f["patient_id"].isin(blank)].itertuples())  # fmt: skip
        why = f"hold: response not assessed yet for {who}; no next cohort until assessed"
        if fit.hold:
            why = fit.reason + f"; and response not assessed yet for {who}"
        return dataclasses.replace(fit, hold=True, next_dose=None, cohort_size=None, stop=False,
                                   reason=why, outcomes=outcomes)  # fmt: skip
