"""Exact operating characteristics by enumerating every outcome path.

Decisions depend on the data only through the count state (patients and DLTs per dose,
current dose, last cohort), so paths that reach the same state are merged and the
frontier of states is advanced one cohort at a time with one vectorised ``decide`` call.
This works for every design (3+3, BOIN, CRM, ...) whose trial ends in a bounded number
of cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import gammaln, xlog1py, xlogy

from . import checks
from .designs.state import DoseData

if TYPE_CHECKING:
    from .designs.base import Design

__all__ = ["ExactOC", "exact_operating_characteristics"]


@dataclass(frozen=True)
class ExactOC:
    """Exact operating characteristics of a design under one true DLT curve.

    Attributes
    ----------
    p_select : ndarray, shape (D,)
        P(level i is selected), level 1 first (MAD selections included).
    p_no_mtd : float
        P(no dose selected).
    p_mad : float
        P(the selection is a MAD: no dose found too toxic).
    expected_n, expected_dlts : float
    expected_n_per_dose, expected_dlts_per_dose : ndarray, shape (D,)
    true_tox : ndarray, shape (D,)
    n_states : int
        Distinct terminal states (a size of the enumeration).
    """

    p_select: np.ndarray
    p_no_mtd: float
    p_mad: float
    expected_n: float
    expected_dlts: float
    expected_n_per_dose: np.ndarray
    expected_dlts_per_dose: np.ndarray
    true_tox: np.ndarray
    n_states: int

    def to_frame(self) -> pd.DataFrame:
        """Per-level table: true DLT probability, P(select), expected patients and DLTs."""
        return pd.DataFrame(
            {
                "true_tox": self.true_tox,
                "p_select": self.p_select,
                "expected_n": self.expected_n_per_dose,
                "expected_dlts": self.expected_dlts_per_dose,
            },
            index=pd.Index(np.arange(1, len(self.p_select) + 1), name="dose_level"),
        )

    def __str__(self) -> str:
        return (
            f"P(no MTD) = {self.p_no_mtd:.4f}; E[N] = {self.expected_n:.3f}; "
            f"E[DLTs] = {self.expected_dlts:.3f}\n{self.to_frame().to_string(float_format='%.4f')}"
        )


def state_codes(data: DoseData, keep_last_cohort: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Identify identical count states.

    Returns ``(first, inverse)``: ``data.take(first)`` are the distinct states and
    ``inverse[i]`` is the distinct state of row ``i``.  Decisions depend on the data only
    through this state, so a decision computed once per distinct state serves every row.
    With ``keep_last_cohort=False`` the last cohort is ignored (designs that do not read it).
    """
    cols = [data.n, data.dlt, data.current[:, None]]
    if keep_last_cohort:
        cols += [data.last_n[:, None], data.last_dlt[:, None]]
    cols.append(data.grade2[:, None])
    key = np.concatenate(cols, axis=1)
    radix = key.max(axis=0) + 2  # +1 for the -1 "no dose" code
    if np.sum(np.log2(radix.astype(float))) < 62:  # pack each row into one int64
        # mixed-radix code of each row (column 0 most significant), one integer matmul
        weight = np.ones(key.shape[1], dtype=np.int64)
        weight[:-1] = np.cumprod(radix[:0:-1])[::-1]
        code = (key + 1) @ weight
        _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    else:
        _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    return first, inv.ravel()


def _merge(data: DoseData, prob: np.ndarray) -> tuple[DoseData, np.ndarray]:
    """Merge identical states, summing their probabilities."""
    first, inv = state_codes(data)
    p = np.bincount(inv, weights=prob, minlength=len(first))
    return data.take(first), p


def branch(
    data: DoseData, next_dose: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, DoseData]:
    """Every child state one cohort later: ``size + 1`` outcomes (0..size DLTs) per state.

    Returns ``(src, dlts, children)``: the parent row of each child, its number of DLTs in
    the cohort, and the children's states (parent order, then DLTs ascending).
    """
    size = np.asarray(size, dtype=np.int64)
    src, dlts = _children(size)
    child = data.take(src).after_cohort(np.asarray(next_dose)[src], size[src], dlts)
    return src, dlts, child


def _children(size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent row and number of DLTs (0..size) of every child of states with cohorts ``size``."""
    reps = size + 1
    src = np.repeat(np.arange(len(size)), reps)
    starts = np.cumsum(reps) - reps
    return src, np.arange(int(reps.sum())) - np.repeat(starts, reps)


def binom_pmf(k: np.ndarray, size: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial probabilities of ``k`` DLTs in cohorts of ``size`` at DLT probability ``p``
    (elementwise, broadcasting; 0 where ``k > size``)."""
    k, n, p = np.broadcast_arrays(np.asarray(k), np.asarray(size), np.asarray(p, dtype=float))
    ok = k <= n
    logc = gammaln(n + 1) - gammaln(k + 1) - gammaln(np.where(ok, n - k, 0) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pk = np.exp(logc + xlogy(k, p) + xlog1py(n - k, -p))
    return np.where(ok, pk, 0.0)


def expand_frontier(
    data: DoseData,
    prob: np.ndarray,
    next_dose: np.ndarray,
    size: np.ndarray,
    true_tox: np.ndarray,
    keep_last_cohort: bool = True,
) -> tuple[DoseData, np.ndarray]:
    """Every state one cohort later, with its probability (identical states merged).

    With ``keep_last_cohort=False`` (designs whose decisions ignore the last cohort)
    the last cohort is dropped from the state, so more paths merge.
    """
    size = np.asarray(size, dtype=np.int64)
    next_dose = np.asarray(next_dose)
    src, k = _children(size)
    # binomial probabilities from a small (dose, size, k) table instead of per child
    c = int(size.max()) if size.size else 0
    kk = np.arange(c + 1)
    table = binom_pmf(kk[None, None, :], kk[None, :, None], true_tox[:, None, None])
    pk = table[next_dose[src], size[src], k]
    keep = pk > 0
    src, k, pk = src[keep], k[keep], pk[keep]
    # the children's count state, built in one pass (no intermediate copies)
    rows = np.arange(len(src))
    dose, sz = next_dose[src], size[src]
    n, y = data.n[src], data.dlt[src]
    n[rows, dose] += sz
    y[rows, dose] += k
    zero = np.zeros(len(src), dtype=np.int64)
    child = DoseData(
        n, y, dose, sz if keep_last_cohort else zero, k if keep_last_cohort else zero,
        data.grade2[src],
    )  # fmt: skip
    return _merge(child, prob[src] * pk)


class OCAccumulator:
    """Sums the OCs of terminal states (selection, patients, DLTs) weighted by probability."""

    def __init__(self, design: Design) -> None:
        self.design = design
        D = design.n_doses
        self.p_sel = np.zeros(D)
        self.p_none = 0.0
        self.p_mad = 0.0
        self.e_n = np.zeros(D)
        self.e_y = np.zeros(D)
        self.n_terminal = 0

    def add(self, fin: DoseData, w: np.ndarray) -> None:
        """Add terminal states ``fin`` reached with probabilities ``w``."""
        if fin.n_trials == 0:
            return
        sel = self.design.select(fin)
        D = self.design.n_doses
        ok = sel.dose >= 0
        self.p_sel += np.bincount(sel.dose[ok], weights=w[ok], minlength=D)
        self.p_none += float(w[~ok].sum())
        self.p_mad += float(w[np.asarray(sel.is_mad, dtype=bool) & ok].sum())
        self.e_n += w @ fin.n
        self.e_y += w @ fin.dlt
        self.n_terminal += fin.n_trials

    def result(self, true_tox: np.ndarray) -> ExactOC:
        return ExactOC(
            p_select=self.p_sel, p_no_mtd=self.p_none, p_mad=self.p_mad,
            expected_n=float(self.e_n.sum()), expected_dlts=float(self.e_y.sum()),
            expected_n_per_dose=self.e_n, expected_dlts_per_dose=self.e_y,
            true_tox=true_tox, n_states=self.n_terminal,
        )  # fmt: skip


def check_true_tox(design: Design, true_tox: np.ndarray | list[float]) -> np.ndarray:
    """``true_tox`` as a float array of the design's length, validated."""
    if np.ndim(true_tox) == 1 and len(true_tox) != design.n_doses:
        raise ValueError(f"true_tox has {len(true_tox)} values for a design with "
                         f"{design.n_doses} levels")  # fmt: skip
    values = true_tox.tolist() if isinstance(true_tox, np.ndarray) else true_tox
    try:
        p = checks.reals("exact", "true_tox", values, design.n_doses, low=0, high=1)
    except ValueError:
        raise ValueError(f"true_tox must be {design.n_doses} probabilities in [0, 1] (numbers, "
                         f"not text or booleans), got {true_tox!r}") from None  # fmt: skip
    arr = np.array(p)
    checks.warn_if_not_monotone("exact", arr, "computed as given", stacklevel=3)
    return arr


def exact_operating_characteristics(
    design: Design, true_tox: np.ndarray | list[float], max_cohorts: int = 200
) -> ExactOC:
    """Exact OCs of ``design`` when the true DLT probabilities are ``true_tox``.

    Parameters
    ----------
    design : Design
        Any design; it must stop within ``max_cohorts`` cohorts on every path.
    true_tox : sequence of float
        True DLT probability per level, level 1 first.
    max_cohorts : int
        Guard against designs that never stop (give them ``max_n``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> oc = bd.exact_operating_characteristics(
    ...     bd.ThreePlusThree(5, variant="escalation_only"), [0.05, 0.15, 0.3, 0.45, 0.6])
    >>> round(oc.p_no_mtd, 4), round(oc.expected_n, 3)
    (0.0266, 12.709)
    """
    p = check_true_tox(design, true_tox)
    max_cohorts = checks.whole("exact_operating_characteristics", "max_cohorts", max_cohorts,
                               low=1)
    frontier = DoseData.empty(1, design.n_doses)
    prob = np.ones(1)
    acc = OCAccumulator(design)
    for _ in range(max_cohorts + 1):
        dec = design.decide(frontier)
        done = dec.stop
        acc.add(frontier.take(done), prob[done])
        go = ~done
        if not go.any():
            break
        frontier, prob = expand_frontier(
            frontier.take(go),
            prob[go],
            dec.next_dose[go],
            dec.cohort_size[go],
            p,
            keep_last_cohort=design.uses_last_cohort,
        )
    else:
        raise RuntimeError(
            f"{type(design).__name__} did not stop within {max_cohorts} cohorts; set max_n"
        )
    return acc.result(p)
