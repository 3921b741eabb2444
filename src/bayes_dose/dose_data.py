"""Vectorised trial state: the evidence every decision and every engine reads.

A :class:`DoseData` holds, for ``T`` trials at once, the patients and DLTs per dose, the
current dose and the most recent cohort (and, optionally, per-patient arrays: TITE
weights, responses).  Designs decide from it with array operations, so one code path
serves the analysis of one real data set (``T = 1``) and the simulation of thousands of
trials; engines read it through :class:`bayes_dose.inference.evidence.CountEvidence`.  It
sits in the data layer, below both designs and engines.  Dose indices inside arrays are
**0-based**; only what users see (``Fit``, tables) is 1-based.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .outcomes import Outcomes

__all__ = ["DoseData"]

NONE = -1  #: dose index meaning "no dose"


@dataclass(frozen=True)
class DoseData:
    """Evidence for ``T`` trials over ``D`` dose levels.

    Attributes
    ----------
    n, dlt : ndarray of int, shape (T, D)
        Patients treated and DLTs observed per dose.
    current : ndarray of int, shape (T,)
        0-based dose of the most recent cohort, ``-1`` before the first patient.
    last_n, last_dlt : ndarray of int, shape (T,)
        Size and DLTs of the most recent cohort.
    grade2 : ndarray of int, shape (T,)
        Grade-2 drug-related toxicities so far (accelerated-titration trigger).
    patient_dose, patient_dlt : ndarray of int, shape (T, P), optional
        Per-patient dose index and DLT (``-1`` padding), in enrolment order.
    patient_weight : ndarray of float, shape (T, P), optional
        Per-patient likelihood weight (TITE: follow-up fraction; 1 when complete).
    resp : ndarray of int, shape (T, D), optional
        Responders per dose (efficacy; None when the evidence has no response data).
        Designs that use efficacy (BOIN12) read it; :meth:`after_cohort` does not carry
        it (the simulator keeps it beside the counts).
    resp_dlt : ndarray of int, shape (T, D), optional
        Patients per dose with both a response and a DLT (the joint table, for utilities
        that are not additive in response and DLT).
    source_n, source_dlt : ndarray of int, shape (T, D_source), optional
        Per-trial patients and DLTs per dose of the arm a borrowing design reads (the
        monotherapy arm of the same simulated trial, :class:`bayes_dose.Programme`); None
        otherwise.  :meth:`take` keeps them; :meth:`after_cohort` does not carry them.
    backfill_n : ndarray of int, shape (T, D), optional
        Backfill patients per dose (included in ``n``; :mod:`bayes_dose.backfill`); None
        when the evidence has no backfill patients.  :meth:`take` keeps it.
    """

    n: np.ndarray
    dlt: np.ndarray
    current: np.ndarray
    last_n: np.ndarray
    last_dlt: np.ndarray
    grade2: np.ndarray
    patient_dose: np.ndarray | None = None
    patient_dlt: np.ndarray | None = None
    patient_weight: np.ndarray | None = None
    resp: np.ndarray | None = None
    resp_dlt: np.ndarray | None = None
    source_n: np.ndarray | None = None
    source_dlt: np.ndarray | None = None
    backfill_n: np.ndarray | None = None

    @property
    def n_trials(self) -> int:
        return self.n.shape[0]

    @property
    def n_doses(self) -> int:
        return self.n.shape[1]

    @property
    def total_n(self) -> np.ndarray:
        """Patients treated per trial, shape (T,)."""
        return self.n.sum(axis=1)

    @property
    def total_dlt(self) -> np.ndarray:
        return self.dlt.sum(axis=1)

    @property
    def highest_tried(self) -> np.ndarray:
        """0-based highest dose with a patient, ``-1`` if none."""
        tried = self.n > 0
        return np.where(
            tried.any(axis=1), self.n_doses - 1 - np.argmax(tried[:, ::-1], axis=1), NONE
        )

    def at_current(self, arr: np.ndarray) -> np.ndarray:
        """``arr[t, current[t]]`` (0 where nobody is treated yet)."""
        idx = np.clip(self.current, 0, None)
        out = np.take_along_axis(arr, idx[:, None], axis=1)[:, 0]
        return np.where(self.current >= 0, out, 0)

    @classmethod
    def empty(cls, n_trials: int, n_doses: int) -> DoseData:
        z = np.zeros((n_trials, n_doses), dtype=np.int64)
        t = np.zeros(n_trials, dtype=np.int64)
        return cls(z, z.copy(), np.full(n_trials, NONE), t, t.copy(), t.copy())

    @classmethod
    def from_counts(
        cls,
        n: np.ndarray,
        dlt: np.ndarray,
        current: np.ndarray,
        last_n: np.ndarray | None = None,
        last_dlt: np.ndarray | None = None,
        grade2: np.ndarray | None = None,
    ) -> DoseData:
        """State from count arrays (last cohort defaults to 0 patients)."""
        n = np.atleast_2d(np.asarray(n, dtype=np.int64))
        dlt = np.atleast_2d(np.asarray(dlt, dtype=np.int64))
        T = n.shape[0]
        zero = np.zeros(T, dtype=np.int64)
        return cls(
            n, dlt, np.broadcast_to(np.asarray(current, dtype=np.int64), (T,)).copy(),
            zero if last_n is None else np.asarray(last_n, dtype=np.int64),
            zero if last_dlt is None else np.asarray(last_dlt, dtype=np.int64),
            zero if grade2 is None else np.asarray(grade2, dtype=np.int64),
        )  # fmt: skip

    @classmethod
    def from_outcomes(
        cls, outcomes: Outcomes, n_doses: int, tite_window: float | None = None
    ) -> DoseData:
        """One-trial state from the patients of a single arm.

        With ``tite_window`` a patient without DLT weighs
        ``min(followup_days / tite_window, 1)``; a missing follow-up of a patient without DLT
        is an error (its weight cannot be guessed).  An unknown DLT status, or an unknown
        grade-2 status (:meth:`Outcomes.grade2_unknown`), is an error: counts cannot hold it
        (designs resolve it first, or hold).
        """
        f = outcomes.to_frame()
        if len(set(f["arm"])) > 1:
            raise ValueError(
                f"data hold arms {outcomes.arms}; fit one arm at a time (outcomes.arm(name))"
            )
        if len(f) and int(f["dose_level"].max()) > n_doses:
            bad = int(np.argmax(f["dose_level"].to_numpy() > n_doses))
            raise ValueError(
                f"row {bad} (patient_id={f['patient_id'].iat[bad]!r}) field 'dose_level': level "
                f"{int(f['dose_level'].iat[bad])} is above the design's {n_doses} levels"
            )
        unknown_dlt = f["dlt"].isna().to_numpy()
        if unknown_dlt.any():  # counts cannot hold an unknown DLT status
            i = int(np.flatnonzero(unknown_dlt)[0])
            raise ValueError(
                f"row {i} (patient_id={f['patient_id'].iat[i]!r}) field 'dlt': DLT status "
                "unknown; resolve the query, or fit with missing='assume_dlt' or "
                "'assume_not' (Outcomes.resolve_unknown)"
            )
        unknown_g2 = f["grade2"].isna().to_numpy()
        if unknown_g2.any():  # neither counted nor left out: the count would be silently low
            i = int(np.flatnonzero(unknown_g2)[0])
            raise ValueError(
                f"row {i} (patient_id={f['patient_id'].iat[i]!r}) field 'grade2': grade-2 "
                "toxicity status unknown (grade2 = unknown); resolve the query (grade2 0 or 1)"
            )
        lv = f["dose_level"].to_numpy(dtype=np.int64) - 1
        y = f["dlt"].to_numpy(dtype=np.int64)
        n = np.bincount(lv, minlength=n_doses)[None, :].astype(np.int64)
        d = np.bincount(lv, weights=y, minlength=n_doses)[None, :].astype(np.int64)
        bfl = None  # backfill patients (Outcomes column ``role``)
        if "role" in f.columns:
            bfl = (f["role"] == "backfill").to_numpy()
        escr = np.ones(len(f), dtype=bool) if bfl is None else ~bfl
        if escr.any():
            # the last cohort is the highest cohort number (rows may be listed in any
            # order, e.g. by dose level); the current dose is its last patient's
            # (escalation patients only: backfill patients are not a cohort)
            cohort = np.where(escr, f["cohort"].to_numpy(), np.iinfo(np.int64).min)
            last = escr & (cohort == cohort.max())
            current = np.array([lv[np.flatnonzero(last)[-1]]])
            last_n = np.array([last.sum()])
            last_dlt = np.array([y[last].sum()])
        else:
            current, last_n, last_dlt = np.array([NONE]), np.array([0]), np.array([0])
        w = np.ones(len(f))
        resp = both = None
        if outcomes.has_response:  # responders per dose (blank = not assessed: not counted)
            r = f["response"].fillna(0).to_numpy(dtype=float)
            resp = np.bincount(lv, weights=r, minlength=n_doses)[None, :].astype(np.int64)
            both = np.bincount(lv, weights=r * y, minlength=n_doses)[None, :].astype(np.int64)
        if tite_window is not None:
            fu = f["followup_days"].to_numpy(dtype=float)
            unknown = np.isnan(fu) & (y == 0)
            if unknown.any():  # a pending weight cannot be guessed
                i = int(np.flatnonzero(unknown)[0])
                raise ValueError(
                    f"row {i} (patient_id={f['patient_id'].iat[i]!r}) field 'followup_days': "
                    f"missing; a TITE design (window {tite_window:g} days) needs the days of DLT "
                    "follow-up of every patient without a DLT"
                )
            frac = np.minimum(fu / float(tite_window), 1.0)
            w = np.where(y == 1, 1.0, frac)
        return cls(
            n, d, current, last_n, last_dlt,
            np.array([int(f["grade2"].to_numpy(dtype=np.int64).sum())]),
            lv[None, :], y[None, :], w[None, :], resp, both,
            backfill_n=None if bfl is None else np.bincount(
                lv[bfl], minlength=n_doses)[None, :].astype(np.int64),
        )  # fmt: skip

    def after_cohort(self, dose: np.ndarray, size: np.ndarray, dlt: np.ndarray) -> DoseData:
        """Count state after each trial treats a cohort: ``size`` patients at 0-based ``dose``
        with ``dlt`` DLTs (vectorised; patient-level arrays are not carried)."""
        rows = np.arange(self.n_trials)
        n = self.n.copy()
        y = self.dlt.copy()
        n[rows, dose] += size
        y[rows, dose] += dlt
        return DoseData(
            n,
            y,
            np.asarray(dose, dtype=np.int64).copy(),
            np.asarray(size, dtype=np.int64).copy(),
            np.asarray(dlt, dtype=np.int64).copy(),
            self.grade2.copy(),
        )

    def take(self, idx: np.ndarray) -> DoseData:
        """The trials ``idx`` (integer or boolean index)."""

        def sub(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return DoseData(
            self.n[idx], self.dlt[idx], self.current[idx], self.last_n[idx],
            self.last_dlt[idx], self.grade2[idx], sub(self.patient_dose),
            sub(self.patient_dlt), sub(self.patient_weight), sub(self.resp), sub(self.resp_dlt),
            sub(self.source_n), sub(self.source_dlt), sub(self.backfill_n),
        )  # fmt: skip
