"""TITE-BOIN: BOIN deciding with patients still in their DLT window (Yuan, Lin, Li, Nie &
Warren 2018, Clin Cancer Res 24:4921).

At the current dose with ``n`` patients, ``y`` DLTs seen so far and ``c`` pending patients
(no DLT yet, window not complete) followed for ``u_i`` days of a window ``tau``:

* the **standardised total follow-up time** is ``STFT = sum_i u_i / tau`` over the pending
  patients (``DoseData.patient_weight`` holds ``min(u_i / tau, 1)``);
* the pending outcomes are imputed once (single mean imputation): with the prior
  estimate ``p~ = (y + target / 2) / (n - c + 1)`` (a Beta(target/2, 1 - target/2) prior
  updated by the ``n - c`` patients with complete data), the expected number of DLTs
  still to come is ``p~ / (1 - p~) * (c - STFT)`` and
  ``p^ = (y + p~ / (1 - p~) * (c - STFT)) / n``;
* BOIN's rule on ``p^``: escalate if ``p^ <= lambda_e``; de-escalate if ``p^ >= lambda_d``
  **and** the DLTs seen reach the target (``y / n >= target``), or when the observed counts
  alone already de-escalate (``y / n >= lambda_d``); else stay.  So while ``y / n`` is below
  the target a short follow-up never forces de-escalation (Table 1: 6 patients, 1 DLT, 3
  pending -> stay, whatever the STFT).  With ``c = 0``,
  ``p^ = y / n`` and the decision is exactly BOIN's (its table of ``floor(lambda_e n)`` /
  ``min(ceil(lambda_d n), eliminate(n))``);
* elimination and the trial's stop read the DLTs seen among all ``n`` treated patients
  (BOIN's own rule on the same counts), so a TITE-BOIN never treats above a dose that
  BOIN would have closed on the same data;
* **accrual suspension**: when more than :data:`MAX_PENDING` (half) of the patients at the
  current dose are pending and the DLTs seen do not already force de-escalation, no new
  patient is dosed until enough pending patients resolve (``suspends_accrual``; the
  calendar-time driver re-checks it each day a pending patient resolves).

The imputation is written from the paper's description (no code was copied).
tests/test_tite_boin_published.py checks every entry of the paper's Table 1 (target 0.2)
and Table S1 (target 0.3) for n = 3..15 (decisions, suspension, elimination and the STFT
boundaries to their two published decimals).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .state import DoseData

__all__ = ["MAX_PENDING", "explain_pending", "hold_if_suspended", "pending_at_current",
           "seen_reach_target", "suspends_accrual", "tite_moves"]

#: TITE-BOIN's ``maxpen``: accrual is suspended while more than this share of the patients
#: at the current dose are pending.
MAX_PENDING = 0.5


def pending_at_current(data: DoseData) -> tuple[np.ndarray, np.ndarray]:
    """``(c, STFT)`` at each trial's current dose: pending patients (no DLT seen, weight
    below 1) and the sum of their follow-up fractions.  Zeros without patient arrays."""
    T = data.n_trials
    if data.patient_weight is None or data.patient_dose is None or data.patient_dlt is None:
        return np.zeros(T, dtype=np.int64), np.zeros(T)
    dose = np.asarray(data.patient_dose)
    at = (dose == data.current[:, None]) & (dose >= 0)
    w = np.asarray(data.patient_weight, dtype=float)
    pend = at & (np.asarray(data.patient_dlt) == 0) & (w < 1)
    return pend.sum(axis=1).astype(np.int64), np.where(pend, w, 0.0).sum(axis=1)


def imputed_dlts(target: float, n: np.ndarray, y: np.ndarray, c: np.ndarray,
                 stft: np.ndarray) -> np.ndarray:  # fmt: skip
    """Expected DLTs still to come among the pending patients (0 when none pend)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pt = (y + target / 2.0) / (n - c + 1.0)
        pt = np.minimum(pt, 1.0 - 1e-12)
        imp = pt / (1.0 - pt) * (c - stft)
    return np.where(c > 0, imp, 0.0)


def seen_reach_target(target: float, n: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``y / n >= target`` (equality included, e.g. 3 of 15 at target 0.2), robust to the
    rounding of ``target * n``."""
    return y >= target * n - 1e-9


def tite_moves(design: Any, data: DoseData, n: np.ndarray, y: np.ndarray, esc: np.ndarray,
               de: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """TITE-BOIN's escalate / de-escalate masks at the current dose (BOIN's ``esc``/``de``
    from the counts where no patient is pending there)."""
    c, stft = pending_at_current(data)
    if not c.any():
        return esc, de
    lam_e, lam_d = design.lambdas
    est = y + imputed_dlts(design.target, n, y, c, stft)
    t_esc = est <= lam_e * n  # implies y / n <= lambda_e < target
    # de-escalation on the imputed rate only once the DLTs seen reach the target
    t_de = ~t_esc & (((est >= lam_d * n) & seen_reach_target(design.target, n, y)) | de)
    some = c > 0
    return np.where(some, t_esc, esc), np.where(some, t_de, de)


def suspends_accrual(design: Any, data: DoseData) -> np.ndarray:
    """Trials whose accrual TITE-BOIN suspends now (shape (T,)): more than
    :data:`MAX_PENDING` of the current dose's patients pending, and the DLTs seen there do
    not already de-escalate."""
    c, _ = pending_at_current(data)
    n = data.at_current(data.n)
    y = data.at_current(data.dlt)
    tab = design._tables(int(data.n.max(initial=0)))
    return (data.current >= 0) & (c > MAX_PENDING * n) & (y < tab["de"][n])


def explain_pending(design: Any, data: DoseData, trial: int, text: str) -> str:
    """BOIN's reason with the TITE-BOIN imputation it rests on when patients pend at the
    current dose (the counts in ``text`` are the DLTs seen so far)."""
    c, stft = pending_at_current(data.take(np.array([trial])))
    if not c[0]:
        return text
    cur = int(data.current[trial])
    n, y = int(data.n[trial, cur]), int(data.dlt[trial, cur])
    imp = float(imputed_dlts(design.target, np.array([n]), np.array([y]), c, stft)[0])
    rate = (y + imp) / n
    held = ""
    if rate >= design.lambdas[1] and not seen_reach_target(design.target, n, y):
        held = (
            f"; DLTs seen {y}/{n} below the target {design.target:g}: no de-escalation on "
            "imputed DLTs"
        )
    return (
        f"{text} [TITE-BOIN: {int(c[0])} of {n} patients at level {cur + 1} pending "
        f"(STFT {float(stft[0]):.2f}); {imp:.2f} further DLTs imputed: estimated rate "
        f"{rate:.3f} against lambda_e {design.lambdas[0]:.3f} / lambda_d "
        f"{design.lambdas[1]:.3f}{held}]"
    )


def hold_if_suspended(design: Any, data: DoseData, fit: Any) -> Any:
    """A fit of real data (``T = 1``) while TITE-BOIN suspends accrual: ``hold=True``, no
    next cohort, the reason naming the pending share (the table's "Suspend accrual")."""
    if not bool(suspends_accrual(design, data)[0]):
        return fit
    c, stft = pending_at_current(data)
    cur = int(data.current[0])
    n = int(data.n[0, cur])
    reason = (
        f"hold: TITE-BOIN suspends accrual: {int(c[0])} of {n} patients at level {cur + 1} "
        f"pending (STFT {float(stft[0]):.2f}), more than {MAX_PENDING:.0%} of the dose's "
        f"patients; no next cohort until enough of them complete the "
        f"{design.tite_window:g}-day window or have a DLT (Yuan et al. 2018)"
    )
    return dataclasses.replace(fit, hold=True, next_dose=None, cohort_size=None, stop=False,
                               reason=reason)  # fmt: skip
