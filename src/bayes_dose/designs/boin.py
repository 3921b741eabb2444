"""BOIN: the Bayesian optimal interval design (Liu & Yuan 2015), as in R package BOIN 2.7.2.

At the current dose with ``n`` patients and ``y`` DLTs:

* ``y >= eliminate(n)`` (``n >= 3``): the dose and every dose above it are eliminated
  (``P(p > target | Beta(y + 1, n - y + 1)) > elimination_cutoff``); the trial stops when
  the lowest dose is eliminated (no MTD);
* ``y <= escalate(n)``: escalate one level, unless at the top or the next level is
  eliminated (then stay);
* ``y >= deescalate(n)``: de-escalate one level (at the lowest level: stay);
* otherwise stay.

``escalate(n) = floor(lambda_e n)``, ``deescalate(n) = min(ceil(lambda_d n), eliminate(n))``.
With ``extrasafe=True`` the trial also stops when the lowest dose has ``n >= 3`` and
``P(p_1 > target) > elimination_cutoff - offset``.  ``n_earlystop`` stops the trial when
the design would stay at a dose that already has that many patients
(:class:`~bayes_dose.rules.StayWithPatients`).  With accelerated titration, the first
cohort after it completes the cohort at the level where titration ended (as ``get.oc``
with ``titration=TRUE``) before the boundaries apply.

``stay_one_in_three=True`` is the rule "1 DLT in 3 patients: stay" that BF-BOIN (Zhao,
Yuan, Korn & Freidlin 2024, Clin Cancer Res 30:673, Table 1) runs BOIN with: at a dose
with exactly 3 patients and 1 DLT the design stays even where the boundaries say
de-escalate (targets below about 0.28, e.g. 0.25: ``deescalate(3) = 1``), as 3+3 would
treat 3 more patients there.  Elsewhere the boundaries apply unchanged.

Elimination is a function of the counts (a dose is eliminated iff it or a lower dose has
``n >= 3`` and ``y >= eliminate(n)``), so decisions need no memory beyond ``DoseData``.
The MTD is chosen as ``select.mtd`` does: isotonic regression of ``(y + 0.05)/(n + 0.1)``
weighted by the inverse of its variance over treated, non-eliminated doses; the dose
closest to target; ties go to the higher dose below target and the lower dose above it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import beta as beta_dist

from .. import checks
from ..arrays import isotonic_rows, unique_rows
from ..deprecation import renamed_kwargs
from ..errors import flag
from ..inference.estimate import Estimate
from . import tite_boin
from .base import Design
from .options import BaseOptions
from .rules import StayWithPatients, StoppingRule
from .state import NONE, Decision, DoseData, Selection

__all__ = ["BOIN", "boin_boundaries"]

(ESCALATE, DEESCALATE, STAY, STAY_TOP, STAY_ELIM, STAY_LOWEST, ELIMINATE, STOP_ELIM,
 STOP_EXTRASAFE, CAP_ELIM, TITRATION_FILL, STAY_1_IN_3) = range(12)  # fmt: skip


def _lambdas(target: float, p_saf: float, p_tox: float) -> tuple[float, float]:
    lam_e = np.log((1 - p_saf) / (1 - target)) / np.log(
        target * (1 - p_saf) / (p_saf * (1 - target))
    )
    lam_d = np.log((1 - target) / (1 - p_tox)) / np.log(
        p_tox * (1 - target) / (target * (1 - p_tox))
    )
    return float(lam_e), float(lam_d)


def probabilities(owner: str, target: Any, p_saf: Any, p_tox: Any) -> tuple[float, float, float]:
    """``target``, ``p_saf`` and ``p_tox`` (default 0.6 and 1.4 x target) as numbers in
    (0, 1): text, booleans and sequences are refused, not coerced."""
    def p(name: str, v: Any) -> float:
        return checks.real(owner, name, v, low=0, high=1, low_open=True, high_open=True)

    t = p("target", target)
    return (t, 0.6 * t if p_saf is None else p("p_saf", p_saf),
            1.4 * t if p_tox is None else p("p_tox", p_tox))  # fmt: skip


def _check(target: float, p_saf: float, p_tox: float, cutoff: float, offset: float) -> None:
    # The limits of BOIN::get.boundary, as errors naming the parameter.
    if not 0.05 <= target <= 0.6:
        raise ValueError(f"BOIN: target must be in [0.05, 0.6], got {target}")
    if not 0 < p_saf < target or target - p_saf < 0.1 * target:
        raise ValueError(
            f"BOIN: p_saf must be in (0, target) and at least 0.1*target below it, got {p_saf}"
        )
    if not target < p_tox < 1 or p_tox - target < 0.1 * target:
        raise ValueError(
            f"BOIN: p_tox must be in (target, 1) and at least 0.1*target above it, got {p_tox}"
        )
    if not 0 < cutoff < 1:
        raise ValueError(f"BOIN: elimination_cutoff must be in (0, 1), got {cutoff}")
    if not 0 <= offset < 0.5:
        raise ValueError(f"BOIN: offset must be in [0, 0.5), got {offset}")


def _first_exceeding(target: float, n: np.ndarray, cutoff: float) -> np.ndarray:
    """Smallest y in 1..n with P(p > target | Beta(y+1, n-y+1)) > cutoff, per n (n >= 3);
    ``n + 1`` where none (and for n < 3)."""
    n = np.asarray(n, dtype=np.int64)
    nmax = int(n.max()) if n.size else 0
    y = np.arange(1, nmax + 1)[None, :]
    nn = n[:, None]
    with np.errstate(invalid="ignore"):
        p_over = beta_dist.sf(target, y + 1, np.maximum(nn - y, 0) + 1)
    ok = (y <= nn) & (p_over > cutoff) & (nn >= 3)
    return np.where(ok.any(axis=1), np.argmax(ok, axis=1) + 1, n + 1)


@renamed_kwargs(n_max="up_to_n")
def boin_boundaries(
    target: float,
    up_to_n: int,
    p_saf: float | None = None,
    p_tox: float | None = None,
    elimination_cutoff: float = 0.95,
) -> pd.DataFrame:
    """BOIN's decision table by number of patients treated at the current dose.

    Parameters
    ----------
    target : float
        Target DLT rate (0.05 to 0.6).
    up_to_n : int
        Largest number of patients at a dose to tabulate (rows ``n = 1..up_to_n``;
        ``n_max`` is its deprecated alias).
    p_saf, p_tox : float, optional
        Highest sub-therapeutic and lowest overly toxic rates (defaults 0.6 and 1.4
        times ``target``).
    elimination_cutoff : float
        Eliminate when ``P(p > target | data) >`` this (BOIN's ``cutoff.eli``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``n`` (1..up_to_n) with integer columns ``escalate`` (escalate if DLTs
        <= it), ``deescalate`` (if >=) and ``eliminate`` (if >=; nullable ``Int64``,
        missing where ``n < 3`` or no count eliminates).  ``.attrs`` holds ``lambda_e``,
        ``lambda_d`` and the parameters.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> tab = bd.boin_boundaries(target=0.3, up_to_n=12)
    >>> tab.loc[[3, 6, 9, 12]].to_dict("list")
    {'escalate': [0, 1, 2, 2], 'deescalate': [2, 3, 4, 5], 'eliminate': [3, 4, 5, 7]}
    >>> round(tab.attrs["lambda_e"], 4), round(tab.attrs["lambda_d"], 4)
    (0.2365, 0.3585)
    """
    target, p_saf, p_tox = probabilities("boin_boundaries", target, p_saf, p_tox)
    elimination_cutoff = checks.real("boin_boundaries", "elimination_cutoff", elimination_cutoff,
                                     low=0, high=1, low_open=True, high_open=True)  # fmt: skip
    _check(target, p_saf, p_tox, elimination_cutoff, 0.0)
    up_to_n = checks.whole("boin_boundaries", "up_to_n", up_to_n, low=1)
    lam_e, lam_d = _lambdas(target, p_saf, p_tox)
    n = np.arange(1, int(up_to_n) + 1)
    esc = np.floor(lam_e * n).astype(np.int64)
    elim = _first_exceeding(target, n, elimination_cutoff)
    de = np.minimum(np.ceil(lam_d * n).astype(np.int64), elim)
    df = pd.DataFrame(
        {
            "escalate": esc,
            "deescalate": de,
            "eliminate": pd.array(
                [int(e) if e <= k else None for e, k in zip(elim, n, strict=True)],
                dtype="Int64",
            ),
        },
        index=pd.Index(n, name="n"),
    )
    df.attrs.update(
        lambda_e=lam_e, lambda_d=lam_d, target=target, p_saf=p_saf, p_tox=p_tox,
        elimination_cutoff=elimination_cutoff,
    )  # fmt: skip
    return df


def _isotonic_by_row(
    values: np.ndarray, weights: np.ndarray | None, mask: np.ndarray, keys: np.ndarray
) -> np.ndarray:
    """Isotonic (non-decreasing) regression of ``values[t, mask[t]]`` for every trial.

    Rows with identical ``keys`` share one fit, so the cost grows with the number of
    distinct count rows, not trials.  Entries outside ``mask`` are NaN.
    """
    first, inverse = unique_rows(keys)
    w = np.ones(values.shape) if weights is None else weights
    fitted = isotonic_rows(values[first], w[first], mask[first])
    return fitted[inverse]


class BOIN(Design):
    """Bayesian optimal interval design (R package BOIN 2.7.2).

    Parameters
    ----------
    target : float
        Target DLT rate.
    n_doses : int
        Number of dose levels.
    cohort_size : int
        Patients per cohort.
    max_n : int, optional
        Stop when this many patients have been treated (BOIN's ``ncohort*cohortsize``).
    p_saf, p_tox : float, optional
        Defaults ``0.6*target`` and ``1.4*target``.
    elimination_cutoff : float
        BOIN's ``cutoff.eli``.
    extrasafe : bool
        Stricter stop at the lowest dose (cutoff ``elimination_cutoff - offset``).
    offset : float
        See ``extrasafe``.
    n_earlystop : int, optional
        Stop when the design would stay at a dose that already has this many patients.
    tite_window : float, optional
        DLT window (days): TITE-BOIN, deciding with pending patients and suspending accrual
        when too many pend (:mod:`bayes_dose.designs.tite_boin`).
    titration_levels, start_level, doses_mg, stopping
        As in :class:`~bayes_dose.Design`.
    stay_one_in_three : bool
        BF-BOIN's rule "1 DLT in 3 patients: stay" (module docstring).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> boin = bd.BOIN(target=0.3, n_doses=5, max_n=30)
    >>> fit = boin.fit(bd.Outcomes.parse("1NNN 2NNN 3NTN"))
    >>> fit.next_dose
    3
    >>> print(fit.reason)
    1 DLT in 3 patients at level 3: between the boundaries (escalate if <= 0, de-escalate if >= 2); stay at level 3
    """

    label = "BOIN"
    uses_last_cohort = False
    uses_estimate = False  # the rule reads counts only
    own_reasons = (
        "{dlt} DLT in {n} patients at level {dose} (escalate if DLTs <= {esc}): escalate to "
        "level {next}",
        "{dlt} DLT in {n} patients at level {dose} (de-escalate if DLTs >= {de}): de-escalate "
        "to level {next}",
        "{dlt} DLT in {n} patients at level {dose}: between the boundaries (escalate if <= "
        "{esc}, de-escalate if >= {de}); stay at level {next}",
        "{dlt} DLT in {n} patients at level {dose} (escalate if DLTs <= {esc}), the top level: "
        "stay at level {next}",
        "{dlt} DLT in {n} patients at level {dose} (escalate if DLTs <= {esc}) but the level "
        "above is eliminated: stay at level {next}",
        "{dlt} DLT in {n} patients at level {dose} (de-escalate if DLTs >= {de}), the lowest "
        "level: stay at level {next}",
        "{dlt} DLTs in {n} patients at level {dose} (eliminate if >= {elim}): level {dose} and "
        "above eliminated; de-escalate to level {next}",
        "{dlt} DLTs in {n} patients at the lowest level (eliminate if >= {elim}): all levels "
        "eliminated; stop, no MTD",
        "{dlt} DLTs in {n} patients at the lowest level: P(DLT rate > target) above the "
        "extra-safe cutoff; stop, no MTD",
        "the levels above level {next} are eliminated: treat at level {next}, the highest "
        "remaining level",
        "{dlt} DLT in {n} patient(s) at level {dose}: accelerated titration ended; complete "
        "the cohort at level {next}",
    )

    #: BOIN never skips a dose and has no grade-2 titration trigger.
    base_options = BaseOptions(fixed={"no_skip": True, "titration_grade2": False})

    def __init__(
        self,
        target: float,
        n_doses: int,
        cohort_size: int = 3,
        max_n: int | None = None,
        p_saf: float | None = None,
        p_tox: float | None = None,
        elimination_cutoff: float = 0.95,
        extrasafe: bool = False,
        offset: float = 0.05,
        n_earlystop: int | None = None,
        tite_window: float | None = None,
        stay_one_in_three: bool = False,
    ) -> None:
        # n_doses, cohort_size and max_n: base options listed for their positions
        self.tite_window = None if tite_window is None else checks.real(
            "BOIN", "tite_window", tite_window, low=0, low_open=True)  # days
        self.target, self.p_saf, self.p_tox = probabilities("BOIN", target, p_saf, p_tox)
        self.elimination_cutoff = checks.real("BOIN", "elimination_cutoff", elimination_cutoff)
        self.extrasafe = flag("BOIN", "extrasafe", extrasafe)
        self.offset = checks.real("BOIN", "offset", offset)
        self.n_earlystop = None if n_earlystop is None else checks.whole(
            "BOIN", "n_earlystop", n_earlystop, low=1)
        _check(self.target, self.p_saf, self.p_tox, self.elimination_cutoff, self.offset)
        if self.n_earlystop is not None and self.n_earlystop < 1:
            raise ValueError(f"BOIN: n_earlystop must be >= 1, got {self.n_earlystop}")
        self._tab: dict[str, np.ndarray] | None = None
        self.stay_one_in_three = flag("BOIN", "stay_one_in_three", stay_one_in_three)
        if self.stay_one_in_three:  # its own reason (code STAY_1_IN_3); default codes unchanged
            self.own_reasons = (
                *BOIN.own_reasons,
                "1 DLT in 3 patients at level {dose}: stay at level {next} (rule '1 DLT in 3 "
                "patients: stay' of BF-BOIN, Zhao et al. 2024, Table 1; the boundaries would "
                "de-escalate at >= {de})",
            )

    @property
    def lambdas(self) -> tuple[float, float]:
        """``(lambda_e, lambda_d)``."""
        return _lambdas(self.target, self.p_saf, self.p_tox)

    @renamed_kwargs(n_max="up_to_n")
    def boundaries(self, up_to_n: int) -> pd.DataFrame:
        """The decision table (see :func:`boin_boundaries`) for this design's parameters,
        rows ``n = 1..up_to_n`` (``n_max``: deprecated alias)."""
        return boin_boundaries(self.target, up_to_n, self.p_saf, self.p_tox, self.elimination_cutoff)

    # -- per-n tables, a pure function of the parameters (built lazily, grown on demand) --
    def _tables(self, n_needed: int) -> dict[str, np.ndarray]:
        if self._tab is None or len(self._tab["esc"]) <= n_needed:
            size = max(64, 2 * int(n_needed) + 1)
            n = np.arange(size)
            lam_e, lam_d = self.lambdas
            elim = _first_exceeding(self.target, n, self.elimination_cutoff)
            safe = _first_exceeding(
                self.target, n, self.elimination_cutoff - self.offset
            ) if self.extrasafe else n + 1  # fmt: skip
            tab = {
                "esc": np.floor(lam_e * n).astype(np.int64),
                "de": np.minimum(np.ceil(lam_d * n).astype(np.int64), elim),
                "elim": elim,
                "safe": safe,
            }
            object.__setattr__(self, "_tab", tab)
        return self._tab  # type: ignore[return-value]

    def eliminated(self, data: DoseData) -> np.ndarray:
        """Eliminated doses, shape (T, D): a dose or a lower one has ``n >= 3`` and
        ``P(p > target | data) > elimination_cutoff`` (all doses, with ``extrasafe``,
        when the lowest one crosses the stricter cutoff)."""
        tab = self._tables(int(data.n.max(initial=0)))
        hit = data.dlt >= tab["elim"][data.n]
        elim = np.logical_or.accumulate(hit, axis=1)
        if self.extrasafe:
            elim |= data.dlt[:, :1] >= tab["safe"][data.n[:, :1]]
        return elim

    def _stopping_rule(self) -> StoppingRule | None:
        if self.n_earlystop is None:
            return self.stopping
        early = StayWithPatients(self.n_earlystop)
        return early if self.stopping is None else self.stopping | early

    # -- the rule ------------------------------------------------------------------------
    def _rule(self, data: DoseData, estimate: Estimate | None) -> Decision:
        T, D = data.n_trials, self.n_doses
        tab = self._tables(int(data.n.max(initial=0)))
        d = np.clip(data.current, 0, None)
        n = data.at_current(data.n)
        y = data.at_current(data.dlt)
        elim = self.eliminated(data)
        rows = np.arange(T)
        up = np.minimum(d + 1, D - 1)
        up_elim = elim[rows, up]

        nxt = d.copy()
        stop = np.zeros(T, dtype=bool)
        code = np.full(T, STAY)
        esc = y <= tab["esc"][n]
        de = ~esc & (y >= tab["de"][n])
        if self.tite_window is not None:  # TITE-BOIN: pending patients imputed
            esc, de = tite_boin.tite_moves(self, data, n, y, esc, de)
        elim_here = elim[rows, d] & (n > 0)

        m = esc & (d < D - 1) & ~up_elim
        nxt[m], code[m] = d[m] + 1, ESCALATE
        code[esc & (d == D - 1)] = STAY_TOP
        code[esc & (d < D - 1) & up_elim] = STAY_ELIM
        if self.stay_one_in_three:
            keep = de & (n == 3) & (y == 1)
            de &= ~keep
            code[keep] = STAY_1_IN_3
        m = de & (d > 0)
        nxt[m] = d[m] - 1
        code[m] = np.where(elim_here[m], ELIMINATE, DEESCALATE)
        code[de & (d == 0)] = STAY_LOWEST

        # Data in which the current dose lies above an eliminated one (not reachable by the
        # design itself, but possible in user data): the highest remaining dose.
        first = np.where(elim.any(axis=1), np.argmax(elim, axis=1), D)
        m = nxt > first - 1
        nxt[m], code[m] = first[m] - 1, CAP_ELIM

        # End of accelerated titration (BOIN 2.7.2 get.oc): the first cohort after it
        # completes the cohort at the current level before the boundaries apply.
        size = np.full(T, self.cohort_size)
        if self.titration_levels:
            fill = (data.current >= 0) & (data.n.max(axis=1) <= 1) & (n < self.cohort_size)
            nxt[fill], code[fill], size[fill] = d[fill], TITRATION_FILL, self.cohort_size - n[fill]

        lowest = elim[:, 0]
        if self.extrasafe:
            tab_safe = data.dlt[:, 0] >= tab["safe"][data.n[:, 0]]
            code[lowest & tab_safe] = STOP_EXTRASAFE
            code[lowest & ~tab_safe] = STOP_ELIM
        else:
            code[lowest] = STOP_ELIM
        stop |= lowest
        nxt = np.where(stop, NONE, nxt)
        size = np.where(stop, 0, size)
        return Decision(nxt, size, stop, np.asarray(self._code(0)) + code)

    def _data_from(self, outcomes: Any) -> DoseData:
        return DoseData.from_outcomes(outcomes, self.n_doses, tite_window=self.tite_window)

    def _make_fit(self, outcomes, data, est, dec, sel):  # type: ignore[no-untyped-def]
        fit = super()._make_fit(outcomes, data, est, dec, sel)
        if self.tite_window is None:
            return fit
        return tite_boin.hold_if_suspended(self, data, fit)  # TITE-BOIN's suspension

    def suspends_accrual(self, data: DoseData) -> np.ndarray:
        """TITE-BOIN's accrual suspension (:func:`.tite_boin.suspends_accrual`); never
        without ``tite_window``."""
        if self.tite_window is None:
            return np.zeros(data.n_trials, dtype=bool)
        return tite_boin.suspends_accrual(self, data)

    def explain(self, data: DoseData, decision: Decision, trial: int = 0) -> str:
        reason = int(decision.reason[trial]) - self._code(0)
        if not 0 <= reason < len(self.own_reasons):  # a slot's sentence
            return super().explain(data, decision, trial)
        cur = int(data.current[trial])
        n = int(data.n[trial, cur])
        tab = self._tables(n)
        el = int(tab["elim"][n])
        fields = {
            "dose": cur + 1,
            "n": n,
            "dlt": int(data.dlt[trial, cur]),
            "next": int(decision.next_dose[trial]) + 1,
            "esc": int(tab["esc"][n]),
            "de": int(tab["de"][n]),
            "elim": el if el <= n else "never",
        }
        text = self.own_reasons[reason].format(**fields)
        if self.tite_window is not None:
            text = tite_boin.explain_pending(self, data, trial, text)
        return text

    # -- estimation and selection (select.mtd) -----------------------------------------
    @staticmethod
    def _phat(data: DoseData) -> tuple[np.ndarray, np.ndarray]:
        n, y = data.n.astype(float), data.dlt.astype(float)
        phat = (y + 0.05) / (n + 0.1)
        var = (y + 0.05) * (n - y + 0.05) / ((n + 0.1) ** 2 * (n + 0.1 + 1))
        return phat, var

    def estimate(self, data: DoseData, engine: str = "grid", **kwargs: Any) -> Estimate:
        """Isotonic estimates as in ``select.mtd`` for every trial.

        ``prob_mean``: isotonic regression of ``(y + 0.05)/(n + 0.1)`` (weights 1/var) over
        treated doses (NaN for untreated ones); ``prob_lower``/``prob_upper``: isotonic
        2.5%/97.5% quantiles of Beta(y + 0.05, n - y + 0.05); ``stats["p_over"]``: the
        (unweighted) isotonic P(p > target | Beta(y + 0.05, n - y + 0.05)) of
        ``select.mtd``'s ``p_overdose``; ``stats["eliminated"]``.
        """
        if kwargs:
            raise TypeError(f"BOIN.estimate: unexpected arguments {sorted(kwargs)}")
        treated = data.n > 0
        keys = np.concatenate([data.n, data.dlt], axis=1)
        phat, var = self._phat(data)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = 1.0 / var
            a = data.dlt + 0.05
            b = data.n - data.dlt + 0.05
            p_over = beta_dist.sf(self.target, a, b)
            lo = beta_dist.ppf(0.025, a, b)
            hi = beta_dist.ppf(0.975, a, b)
        stacked = np.concatenate([phat, lo, hi], axis=1)
        D = self.n_doses
        fits = [
            _isotonic_by_row(v, w, treated, keys) for v in (stacked[:, :D], stacked[:, D:2 * D],
                                                      stacked[:, 2 * D:])
        ]  # fmt: skip
        p_over = _isotonic_by_row(p_over, None, treated, keys)
        return Estimate(
            prob_mean=fits[0], prob_lower=fits[1], prob_upper=fits[2], interval=0.95,
            stats={"p_over": p_over, "eliminated": self.eliminated(data)},
            engine="isotonic",
        )  # fmt: skip

    def select(self, data: DoseData, estimate: Estimate | None = None) -> Selection:
        """MTD exactly as BOIN's ``select.mtd`` (``boundMTD=FALSE``), vectorised.

        Isotonic regression over treated, non-eliminated doses; the dose whose estimate is
        closest to target; ties (pooled doses) go to the highest dose when the estimate is
        below target and the lowest when above (``select.mtd`` adds ``1e-10 * rank``).
        No MTD (``-1``) when the lowest dose is eliminated or no admissible dose was treated.
        """
        elim = self.eliminated(data)
        adm = (data.n > 0) & ~elim
        phat, var = self._phat(data)
        with np.errstate(divide="ignore"):
            iso = _isotonic_by_row(
                phat, 1.0 / var, adm, np.concatenate([data.n, data.dlt, elim], 1)
            )
        rank = np.cumsum(adm, axis=1)
        dist = np.where(adm, np.abs(iso + rank * 1e-10 - self.target), np.inf)
        dose = np.argmin(dist, axis=1)
        none = elim[:, 0] | ~adm.any(axis=1)
        dose = np.where(none, NONE, dose).astype(np.int64)
        return Selection(dose, np.zeros(data.n_trials, dtype=bool))

    def _fit_fields(self, data: DoseData, estimate: Estimate) -> dict[str, Any]:
        return {}
