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


def _merge(data: DoseData, prob: np.ndarray) -> tuple[DoseData, np.ndarray]:
    """Merge identical states, summing their probabilities."""
    key = np.concatenate(
        [data.n, data.dlt, data.current[:, None], data.last_n[:, None],
         data.last_dlt[:, None], data.grade2[:, None]], axis=1,
    )  # fmt: skip
    radix = key.max(axis=0) + 2  # +1 for the -1 "no dose" code
    if np.sum(np.log2(radix.astype(float))) < 62:  # pack each row into one int64
        # mixed-radix code of each row (column 0 most significant), one integer matmul
        weight = np.ones(key.shape[1], dtype=np.int64)
        weight[:-1] = np.cumprod(radix[:0:-1])[::-1]
        code = (key + 1) @ weight
        _, first, inv = np.unique(code, return_index=True, return_inverse=True)
        uniq = key[first]
    else:
        uniq, inv = np.unique(key, axis=0, return_inverse=True)
    p = np.bincount(inv.ravel(), weights=prob, minlength=len(uniq))
    D = data.n_doses
    merged = DoseData(
        uniq[:, :D], uniq[:, D : 2 * D], uniq[:, 2 * D], uniq[:, 2 * D + 1],
        uniq[:, 2 * D + 2], uniq[:, 2 * D + 3],
    )  # fmt: skip
    return merged, p


def _binom_pmf(k: np.ndarray, size: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binomial probabilities of ``k`` DLTs in cohorts of ``size`` (rows), 0 where k > size."""
    kk = k[None, :]
    nn = size[:, None]
    ok = kk <= nn
    logc = gammaln(nn + 1) - gammaln(kk + 1) - gammaln(np.where(ok, nn - kk, 0) + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pk = np.exp(logc + xlogy(kk, p[:, None]) + xlog1py(nn - kk, -p[:, None]))
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
    c_max = int(size.max())
    k = np.arange(c_max + 1)
    S = data.n_trials
    pk = _binom_pmf(k, size, true_tox[next_dose])  # (S, c+1)
    src = np.repeat(np.arange(S), c_max + 1)
    kk = np.tile(k, S)
    keep = pk.ravel() > 0
    src, kk = src[keep], kk[keep]
    child = data.take(src).after_cohort(next_dose[src], size[src], kk)
    if not keep_last_cohort:
        zero = np.zeros_like(child.last_n)
        child = DoseData(child.n, child.dlt, child.current, zero, zero, child.grade2)
    return _merge(child, prob[src] * pk.ravel()[keep])


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
    p = np.asarray(true_tox, dtype=float)
    if p.shape != (design.n_doses,):
        raise ValueError(f"true_tox has {p.size} values for a design with {design.n_doses} levels")
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        raise ValueError(f"true_tox must be probabilities in [0, 1], got {p.tolist()}")
    D = design.n_doses
    frontier = DoseData.empty(1, D)
    prob = np.ones(1)
    p_sel = np.zeros(D)
    p_none = p_mad = 0.0
    e_n = np.zeros(D)
    e_y = np.zeros(D)
    n_terminal = 0
    for _ in range(max_cohorts + 1):
        dec = design.decide(frontier)
        done = dec.stop
        if done.any():
            fin = frontier.take(done)
            w = prob[done]
            sel = design.select(fin)
            p_sel += np.bincount(sel.dose[sel.dose >= 0], weights=w[sel.dose >= 0], minlength=D)
            p_none += float(w[sel.dose < 0].sum())
            p_mad += float(w[sel.is_mad].sum())
            e_n += w @ fin.n
            e_y += w @ fin.dlt
            n_terminal += int(done.sum())
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
    return ExactOC(
        p_select=p_sel, p_no_mtd=p_none, p_mad=p_mad, expected_n=float(e_n.sum()),
        expected_dlts=float(e_y.sum()), expected_n_per_dose=e_n,
        expected_dlts_per_dose=e_y, true_tox=p, n_states=n_terminal,
    )  # fmt: skip
