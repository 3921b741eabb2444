"""Calendar-time simulation: trials that live in days (the second driver beside
:func:`bayes_dose.simulate.run_chunk`).

All trials of a chunk advance together, one design decision at a time (vectorised over
trials, as in cohort time).  Each treated patient has an arrival day, a first-dose day, a
DLT (yes/no: the cohort-time latent uniform of the ``k``-th treated patient, so DLTs match
cohort time patient by patient) and a DLT day (dose day + onset, :class:`Timeline`);
the count state :class:`~bayes_dose.DoseData` a design decides on is the projection of
these patients at the decision day.

**Staggering** (``Protocol.staggering``; BAT6021: 21-day window, 24 h, 7 days):

* a patient dosed on day ``t`` completes the DLT window on ``t + window``; a patient with a
  DLT is resolved on the DLT day;
* a cohort the design proposes is a dose group: its 1st patient is dosed on the opening
  day (or on arrival), the 2nd no earlier than ``days_after_first_patient`` after the 1st,
  every later one no earlier than ``hours_between_patients`` after the previous one;
* the next group opens no earlier than ``hours_between_patients`` after the last dosing;
  for a design that needs complete data (``tite_window is None``: 3+3, BOIN, CRM, BLRM)
  also no earlier than the day every treated patient is resolved -- it holds until then,
  so its decisions are exactly the cohort-time ones (same patients, same DLTs);
* a TITE design (``tite_window`` set) decides on the day the group's first patient is
  dosed, with the DLTs seen by then and the follow-up weights ``min(days / window, 1)``
  of patients still pending; a design with an accrual-suspension rule
  (``design.suspends_accrual(data)``, TITE-BOIN) keeps the group closed until it lifts
  (re-checked on each day a pending patient resolves).

Patients come from the arrival stream in order (first come, first served); a patient
waits for the next open slot at most ``Timeline.max_wait`` days (0: ``"turn_away"``), else
is turned away.  Days accrual was closed by a hold (beyond the 24-hour gap) are
``suspended_days``; ``duration_days`` runs from the first dose to the last DLT window
completed.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .crn import latent_uniforms
from .decision_step import decision_step, grown_capacity
from .designs.base import Design
from .designs.state import DoseData
from .protocol import Staggering
from .timeline import Timeline

__all__ = ["TIMELINE_DOCS", "TIMELINE_VARS", "calendar_settings", "run_calendar_chunk"]

#: Per-trial and per-patient variables the calendar driver adds to a chunk.
TIMELINE_VARS = (
    "duration_days", "suspended_days", "n_turned_away", "n_queued", "mean_wait_days",
    "max_wait_days", "max_pending", "patient_arrival_day", "patient_dose_day",
    "patient_dlt_day", "patient_pending", "patient_cohort",
)  # fmt: skip
#: Long names of :data:`TIMELINE_VARS` (in the simulation Dataset).
TIMELINE_DOCS = {
    "duration_days": "days from the first dose to the last DLT window completed",
    "suspended_days": "days accrual was closed by a hold (beyond the 24-hour gap)",
    "n_turned_away": "patients turned away (arrived when no slot was open, or waited longer "
    "than max_wait_days; patients still queued when the trial ends are not counted)",
    "n_queued": "treated patients who waited for a slot (> 0 days)",
    "mean_wait_days": "mean days from arrival to first dose over treated patients",
    "max_wait_days": "longest wait (days) of a treated patient",
    "max_pending": "most patients pending (DLT window open, no DLT) at a decision",
    "patient_arrival_day": "arrival day of the patient (trial day; NaN = no patient)",
    "patient_dose_day": "first-dose day of the patient",
    "patient_dlt_day": "day the DLT appeared (NaN: no DLT)",
    "patient_pending": "patients pending when this patient's dose was decided",
    "patient_cohort": "0-based cohort (dose group) of the patient (-1 = no patient)",
}
#: Arrivals per trial beyond which the driver gives up (a Timeline that cannot feed a trial).
ARRIVAL_GUARD = 200_000


def calendar_settings(designs: Any, timeline: Any, protocol: Any = None) -> dict[str, Any]:
    """Validate a calendar-time run: the timeline, the protocol's window and staggering
    (default :class:`~bayes_dose.Protocol` values); a TITE window that differs from the
    protocol's gives a warning (the protocol's window is simulated)."""
    from .protocol import Protocol

    if not isinstance(timeline, Timeline):
        raise ValueError(f"timeline must be a bayes_dose.Timeline, got {type(timeline).__name__}")
    if protocol is None:
        window, stag = 21.0, Staggering()
    elif isinstance(protocol, Protocol):
        window, stag = float(protocol.dlt_window_days), protocol.staggering
    else:
        raise ValueError(f"protocol must be a bayes_dose.Protocol, got {type(protocol).__name__}")
    for field in ("hours_between_patients", "days_after_first_patient"):
        x = float(getattr(stag, field))
        if not 0 <= x < math.inf:
            raise ValueError(f"Protocol.staggering: field {field!r} must be >= 0, got {x}")
    if not stag.complete_window_before_next_group:
        waiting = [n for n, d in designs.items() if getattr(d, "tite_window", None) is None]
        if waiting:
            raise ValueError(
                f"Protocol.staggering.complete_window_before_next_group is False, but "
                f"{waiting} decide on complete data only and must wait for every DLT window: "
                "give them tite_window= (TITE) or keep the protocol's rule"
            )
    for name, d in designs.items():
        w = getattr(d, "tite_window", None)
        if w is not None and float(w) != window:
            warnings.warn(
                f"designs[{name!r}] ({type(d).__name__}) has tite_window={w:g} days but the "
                f"protocol's DLT window is {window:g} days: simulated patients follow the "
                f"protocol's {window:g}-day window (weights min(days / {window:g}, 1))",
                UserWarning, stacklevel=4,
            )  # fmt: skip
    spec = {**timeline.spec(), "dlt_window_days": window,
            "staggering": {k: float(getattr(stag, k)) if not isinstance(getattr(stag, k), bool)
                           else getattr(stag, k) for k in stag.__dataclass_fields__}}  # fmt: skip
    return {"timeline": timeline, "staggering": stag, "window": window, "spec": spec}


class _Arrivals:
    """Arrival days of a chunk, grown on demand (a prefix of a pure function)."""

    def __init__(self, timeline: Timeline, seed: int, trials: np.ndarray, n: int) -> None:
        self.tl, self.seed, self.trials = timeline, seed, trials
        self.days = timeline.arrivals(seed, trials, n)

    def ensure(self, n: int) -> np.ndarray:
        if self.days.shape[1] < n:
            self.days = self.tl.arrivals(self.seed, self.trials, max(n, 2 * self.days.shape[1]))
        return self.days

    def take(self, rows: np.ndarray, ptr: np.ndarray, threshold: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """For each trial ``rows[i]``: the first arrival ``j >= ptr[i]`` on or after
        ``threshold[i]`` (arrivals before it would wait too long).  Returns ``(j, day)``."""
        while True:
            A = self.days[rows]
            before = (A < threshold[:, None]).sum(axis=1)
            j = np.maximum(ptr, before)
            if (j < A.shape[1]).all():
                return j, A[np.arange(rows.size), j]
            if A.shape[1] > ARRIVAL_GUARD:
                raise RuntimeError(
                    f"more than {ARRIVAL_GUARD} arrivals in a trial without a patient to dose: "
                    "check the Timeline (accrual rate, waiting rule)"
                )
            self.ensure(2 * A.shape[1])


def _observed(design_tite: bool, t: np.ndarray, pdose: np.ndarray, dday: np.ndarray,
              pdlt: np.ndarray, onset_day: np.ndarray, window: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Per patient at day ``t`` (per trial): DLT seen, pending (no DLT seen, window not
    complete) and the follow-up weight (1 when resolved)."""
    treated = pdose > 0
    seen = treated & (pdlt == 1) & (onset_day <= t[:, None])
    fu = t[:, None] - dday
    pending = treated & ~seen & (t[:, None] < dday + window)  # as the resolution day
    w = np.where(pending, np.clip(fu / window, 0.0, 1.0), 1.0)
    return seen, pending, w


def run_calendar_chunk(
    design: Design,
    true_tox: Sequence[float],
    seed: int,
    start: int,
    stop: int,
    timeline: Timeline,
    staggering: Staggering,
    window: float,
    max_n: int | None = None,
    uniforms: Callable[[int], np.ndarray] | None = None,
    p_resp: Sequence[float] | None = None,
    rho: float = 0.0,
    resp_uniforms: Callable[[int], np.ndarray] | None = None,
    source: Any = None,
) -> dict[str, np.ndarray]:
    """Simulate trials ``start..stop-1`` of one design in calendar time.

    Parameters
    ----------
    design : Design
        A design that waits for complete data, or a TITE design (``tite_window``).
    true_tox : sequence of float
    seed, start, stop : int
        As in :func:`bayes_dose.simulate.run_chunk`.
    timeline : Timeline
    staggering : Staggering
        The protocol's staggering rules.
    window : float
        DLT window (days).
    max_n : int, optional
    uniforms : callable, optional
        The chunk's toxicity latent uniforms (shared cache), ``uniforms(n_patients)``.
    p_resp : sequence of float, optional
        True response probability per level: each patient also gets a response, drawn on
        the cohort-time copula (:class:`_CalendarEfficacy`), known to the design on the
        patient's assessment day (``Timeline.response_day``; default: when the DLT window
        completes).
    rho : float
        Copula correlation.
    resp_uniforms : callable, optional
        The chunk's response-stream uniforms (shared cache), ``resp_uniforms(n_patients)``.
    source : (n, dlt) or schedule, optional
        As in :func:`bayes_dose.simulate.run_chunk` (:class:`bayes_dose.Programme`): fixed
        per-trial counts of the arm a borrowing design reads, shape (stop - start,
        D_source) each; or a day schedule
        (:class:`bayes_dose.programme.DaySchedule`) whose ``at(rows, day)`` gives the
        counts known on the decision day -- the day the group's first patient is dosed
        -- and whose ``gate`` makes a decision wait (until ``resume(rows, day)``) or stop;
        no group opens before day 0 and the selection sees the counts of the last
        decision day, capped at ``ceiling(rows, day)`` (-1: none).

    Returns
    -------
    dict of str to ndarray
        The cohort-time chunk variables plus :data:`TIMELINE_VARS` (and with ``p_resp``
        ``resp``, ``patient_resp``).
    """
    p = np.asarray(true_tox, dtype=float)
    T, D = stop - start, design.n_doses
    trials = np.arange(start, stop)
    if uniforms is None:

        def uniforms(k: int) -> np.ndarray:
            return latent_uniforms(seed, trials, k)

    tite = getattr(design, "tite_window", None) is not None
    suspends = getattr(design, "suspends_accrual", None) if tite else None
    gap = float(staggering.hours_between_patients) / 24.0
    second = float(staggering.days_after_first_patient)
    W = timeline.max_wait
    caps = [c for c in (max_n, design.max_n) if c is not None]
    P = min(caps) if caps else 6 * D
    u = uniforms(P)
    v = timeline.onset_fraction(seed, trials, P) * window
    arr = _Arrivals(timeline, seed, trials, 2 * P + 8)
    eff = _CalendarEfficacy(design, p_resp, rho, resp_uniforms, seed, trials, p, u, window,
                            getattr(timeline, "response_day", None))  # fmt: skip

    n = np.zeros((T, D), dtype=np.int64)
    y = np.zeros((T, D), dtype=np.int64)  # final DLTs per dose (complete data)
    current = np.full(T, -1, dtype=np.int64)
    last_n = np.zeros(T, dtype=np.int64)
    last_dlt = np.zeros(T, dtype=np.int64)
    grade2 = np.zeros(T, dtype=np.int64)
    total = np.zeros(T, dtype=np.int64)
    cohorts = np.zeros(T, dtype=np.int64)
    reason = np.full(T, -1, dtype=np.int64)

    def blank(dtype: type, fill: float) -> np.ndarray:
        return np.full((T, P + 1), fill, dtype=dtype)  # last column: scratch for padding

    pdose = blank(np.int8, 0)
    pdlt = blank(np.int8, 0)
    pcoh = blank(np.int64, -1)
    parr = blank(np.float64, np.nan)
    dday = blank(np.float64, np.nan)
    onset = blank(np.float64, np.inf)  # DLT day (inf: no DLT)
    ppend = blank(np.int16, 0)
    ptr = np.zeros(T, dtype=np.int64)  # next arrival not yet dosed or turned away
    t_last = np.full(T, -np.inf)  # last dosing day
    first_day = np.full(T, np.nan)
    suspended = np.zeros(T)
    turned = np.zeros(T, dtype=np.int64)
    max_pend = np.zeros(T, dtype=np.int64)
    n_flag = np.zeros(T, dtype=np.int64)  # decisions on flagged grid results
    flags: list[np.ndarray] = []

    sched = source if hasattr(source, "at") else None
    sn, sy = (None, None) if source is None or sched is not None else (
        np.asarray(x, dtype=np.int64) for x in source)  # fmt: skip
    not_before = np.zeros(T)  # a schedule's opening day (day 0) and the days waits end
    dec_day = np.zeros(T)  # a schedule's last decision day per trial

    act = np.arange(T)
    while act.size:
        rows = act
        t_free = t_last[rows] + gap  # the 24-hour rule (-inf before the first patient)
        if tite:
            t_open = t_free.copy()
            if sched is not None:
                t_open = np.maximum(t_open, not_before[rows])
            if suspends is not None:
                t_open = _lift_suspension(design, suspends, rows, t_open, n, current, last_n,
                                          pdose, dday, pdlt, onset, pcoh, cohorts, grade2,
                                          window)  # fmt: skip
        else:  # hold until every treated patient is resolved (complete data)
            res = np.where(pdose[rows] > 0, np.minimum(onset[rows], dday[rows] + window), -np.inf)
            res = eff.resolved(res, rows, pdose, dday)
            t_open = np.maximum(t_free, res.max(axis=1, initial=-np.inf))
            if sched is not None:
                t_open = np.maximum(t_open, not_before[rows])
        fin = np.isfinite(t_free)  # before the first patient nothing is held
        hold_days = np.zeros(rows.size)
        hold_days[fin] = t_open[fin] - t_free[fin]
        # the group's first patient: the first arrival that has not waited too long
        j0, a0 = arr.take(rows, ptr[rows], t_open - W)
        s0 = np.maximum(t_open, a0)
        src: dict[str, np.ndarray] = {}
        if sched is not None:  # the source arm's counts known on the decision day
            src = dict(zip(("source_n", "source_dlt"), sched.at(rows, s0), strict=True))
        elif sn is not None:
            src = {"source_n": sn[rows], "source_dlt": sy[rows]}
        if tite:
            seen, pend, w = _observed(True, s0, pdose[rows, :P], dday[rows, :P],
                                      pdlt[rows, :P], onset[rows, :P], window)  # fmt: skip
            data = _tite_data(n[rows], current[rows], last_n[rows], grade2[rows], pdose[rows, :P],
                              seen, w, pcoh[rows, :P], cohorts[rows],
                              **eff.data(rows, s0, pdose, dday, onset, P), **src)  # fmt: skip
            n_pend = pend.sum(axis=1)
        else:
            data = DoseData(n[rows], y[rows], current[rows], last_n[rows], last_dlt[rows],
                            grade2[rows], **eff.data(rows, t_open, pdose, dday, onset, P),
                            **src)  # fmt: skip
            n_pend = np.zeros(rows.size, dtype=np.int64)
        tot = total[rows]
        dec, halt, size, code = decision_step(design, data, tot, max_n, start, rows, flags)
        n_flag[rows] += flags.pop()
        held = rows[:0]
        go = ~halt
        if sched is not None:  # the schedule: wait for the source arm, or stop
            halt, code, wait = sched.gate(rows, s0, dec.next_dose, halt, code)
            dec_day[rows] = s0
            held = rows[wait]
            not_before[held] = sched.resume(held, s0[wait])
            go = ~halt & ~wait
        reason[rows[halt]] = code[halt]
        a, nxt, size, tot = rows[go], dec.next_dose[go], size[go], tot[go]
        if not a.size:
            if held.size:
                act = held
                continue
            break
        j0, s0, n_pend = j0[go], s0[go], n_pend[go]
        suspended[a] += hold_days[go]  # counted when the next group opens
        need = int((tot + size).max())
        if need > P:
            P2 = grown_capacity(design, need, P)
            u = uniforms(P2)
            v = timeline.onset_fraction(seed, trials, P2) * window
            grow = P2 - P

            def pad(x: np.ndarray, fill: float, grow: int = grow) -> np.ndarray:
                return np.concatenate(
                    [x[:, :-1], np.full((T, grow + 1), fill, dtype=x.dtype)], axis=1
                )

            pdose, pdlt, pcoh = pad(pdose, 0), pad(pdlt, 0), pad(pcoh, -1)
            eff.grow(u, pad)
            parr, dday, onset, ppend = pad(parr, np.nan), pad(dday, np.nan), pad(onset, np.inf), \
                pad(ppend, 0)  # fmt: skip
            P = P2
        # dose the group, staggered, patient by patient (first come, first served)
        ptr_a = ptr[a]
        turned[a] += j0 - ptr_a
        ptr_a = j0 + 1
        first_day[a] = np.where(np.isnan(first_day[a]), s0, first_day[a])
        k_dlt = np.zeros(a.size, dtype=np.int64)
        prev = s0
        for i in range(int(size.max())):
            on = i < size
            if i == 0:
                day, arrive = s0, arr.days[a, j0]
            else:
                e = prev + (second if i == 1 else gap)
                j, arrive = arr.take(a, ptr_a, e - W)
                day = np.maximum(e, arrive)
                turned[a] += np.where(on, j - ptr_a, 0)
                ptr_a = np.where(on, j + 1, ptr_a)
            pos = np.where(on, tot + i, P)
            pdose[a, pos] = nxt + 1
            pcoh[a, pos] = cohorts[a]
            parr[a, pos] = arrive
            dday[a, pos] = day
            ppend[a, pos] = n_pend
            col = np.minimum(pos, P - 1)
            tox = on & (u[a, col] < p[nxt])
            pdlt[a, pos] = tox
            onset[a, pos] = np.where(tox, day + v[a, col], np.inf)
            k_dlt += tox
            eff.dose(a, pos, col, nxt, on, tox, day)
            prev = np.where(on, day, prev)
        pdose[:, P] = 0
        pdlt[:, P] = 0
        pcoh[:, P] = -1
        onset[:, P] = np.inf
        dday[:, P] = np.nan
        ptr[a] = ptr_a
        t_last[a] = prev
        max_pend[a] = np.maximum(max_pend[a], n_pend)
        nxt_state = DoseData(n[a], y[a], current[a], last_n[a], last_dlt[a],
                             grade2[a]).after_cohort(nxt, size, k_dlt)  # fmt: skip
        n[a], y[a] = nxt_state.n, nxt_state.dlt
        current[a], last_n[a], last_dlt[a] = nxt_state.current, nxt_state.last_n, nxt_state.last_dlt
        total[a] += size
        cohorts[a] += 1
        act = np.union1d(a, held) if held.size else a

    if sched is not None:
        everyone = np.arange(T)
        sn, sy = sched.at(everyone, dec_day)
    fin_src = {} if sn is None else {"source_n": sn, "source_dlt": sy}
    sel = design.select(DoseData(n, y, current, last_n, last_dlt, grade2, **eff.data(None),
                                 **fin_src))  # fmt: skip
    if sched is not None:  # the selection is capped at the ceiling too
        cap = sched.ceiling(everyone, dec_day)
        sel = dataclasses.replace(sel, dose=np.where(cap < 0, -1, np.minimum(sel.dose, cap)))
    sl = slice(0, max(int(total.max()) if T else 0, 1))
    return calendar_outputs(n, y, sel, reason, total, cohorts, pdose, pdlt, dday, parr, onset,
                            ppend, pcoh, window, first_day, suspended, turned, max_pend,
                            n_flag) | eff.finish(sl)  # fmt: skip


def calendar_outputs(n: np.ndarray, y: np.ndarray, sel: Any, reason: np.ndarray,
                     total: np.ndarray, cohorts: np.ndarray, pdose: np.ndarray,
                     pdlt: np.ndarray, dday: np.ndarray, parr: np.ndarray, onset: np.ndarray,
                     ppend: np.ndarray, pcoh: np.ndarray, window: float, first_day: np.ndarray,
                     suspended: np.ndarray, turned: np.ndarray, max_pend: np.ndarray,
                     n_flag: np.ndarray) -> dict[str, np.ndarray]:  # fmt: skip
    """A calendar-time chunk's result arrays (both calendar drivers: this module's and
    :mod:`bayes_dose.backfill_calendar`): final counts and selection, duration (first dose
    to the last window completed), waits, and the per-patient days, on the patient columns
    of the chunk's longest trial."""
    T = total.shape[0]
    sl = slice(0, max(int(total.max()) if T else 0, 1))
    treated = pdose[:, sl] > 0
    end = np.where(treated, dday[:, sl] + window, -np.inf).max(axis=1, initial=-np.inf)
    duration = np.where(total > 0, end - first_day, 0.0)
    wait = np.where(treated, dday[:, sl] - parr[:, sl], np.nan)
    with np.errstate(invalid="ignore"):
        # summed in patient order (cumsum), so the trailing empty columns of a chunk's longer
        # trials do not change the last bits (a pairwise sum would)
        wsum = np.cumsum(np.where(treated, wait, 0.0), axis=1)[:, -1]
        mean_wait = np.where(total > 0, wsum / np.maximum(total, 1), np.nan)
    max_wait = np.where(total > 0, np.nanmax(np.where(treated, wait, -np.inf), axis=1,
                                             initial=-np.inf), np.nan)  # fmt: skip
    queued = (treated & (wait > 0)).sum(axis=1)
    return {
        "n": n.astype(np.int16),
        "dlt": y.astype(np.int16),
        "patient_dose": pdose[:, sl].copy(),
        "patient_dlt": pdlt[:, sl].copy(),
        "selected": (sel.dose + 1).astype(np.int8),
        "is_mad": np.asarray(sel.is_mad, dtype=bool) & (sel.dose >= 0),
        "stop_reason": reason.astype(np.int16),
        "n_patients": total.astype(np.int16),
        "n_cohorts": cohorts.astype(np.int16),
        "duration_days": duration,
        "suspended_days": suspended,
        "n_turned_away": turned.astype(np.int32),
        "n_queued": queued.astype(np.int16),
        "mean_wait_days": mean_wait,
        "max_wait_days": max_wait,
        "max_pending": max_pend.astype(np.int16),
        "patient_arrival_day": np.where(treated, parr[:, sl], np.nan),
        "patient_dose_day": np.where(treated, dday[:, sl], np.nan),
        "patient_dlt_day": np.where(treated & np.isfinite(onset[:, sl]), onset[:, sl], np.nan),
        "patient_pending": ppend[:, sl].copy(),
        "patient_cohort": np.where(treated, pcoh[:, sl], -1).astype(np.int16),
        "n_flagged_decisions": n_flag.astype(np.int16),
    }


def _tite_data(n: np.ndarray, current: np.ndarray, last_n: np.ndarray, grade2: np.ndarray,
               pdose: np.ndarray, seen: np.ndarray, weight: np.ndarray, pcoh: np.ndarray,
               cohorts: np.ndarray, **resp: np.ndarray | None) -> DoseData:  # fmt: skip
    """The evidence at a decision day: all treated patients, the DLTs seen so far, the
    follow-up weights of pending patients (``DoseData.patient_*``, 0-based doses) and
    ``resp``/``resp_dlt`` when given (:meth:`_CalendarEfficacy.data`)."""
    D = n.shape[1]
    lv = pdose.astype(np.int64) - 1
    T = lv.shape[0]
    hit = seen & (lv >= 0)  # DLTs seen per (trial, dose) cell
    cells = (lv + D * np.arange(T)[:, None])[hit]
    dlt = np.bincount(cells, minlength=T * D).reshape(T, D).astype(np.int64)
    last = (pcoh == (cohorts - 1)[:, None]) & (lv >= 0)
    last_dlt = (last & seen).sum(axis=1).astype(np.int64)
    return DoseData(n.copy(), dlt, current.copy(), last_n.copy(), last_dlt, grade2.copy(),
                    lv, seen.astype(np.int64), weight, **resp)  # fmt: skip


def _lift_suspension(design: Design, suspends: Callable[[DoseData], np.ndarray],
                     rows: np.ndarray, t_open: np.ndarray, n: np.ndarray, current: np.ndarray,
                     last_n: np.ndarray, pdose: np.ndarray, dday: np.ndarray, pdlt: np.ndarray,
                     onset: np.ndarray, pcoh: np.ndarray, cohorts: np.ndarray,
                     grade2: np.ndarray, window: float) -> np.ndarray:  # fmt: skip
    """The first day >= ``t_open`` on which the design's accrual suspension does not hold
    (checked on ``t_open`` and on each later day a pending patient resolves)."""
    t = t_open.copy()
    live = np.isfinite(t)  # nobody treated yet: nothing to wait for
    idx = np.flatnonzero(live)
    P = pdose.shape[1] - 1
    while idx.size:
        r = rows[idx]
        seen, pend, w = _observed(True, t[idx], pdose[r, :P], dday[r, :P], pdlt[r, :P],
                                  onset[r, :P], window)  # fmt: skip
        data = _tite_data(n[r], current[r], last_n[r], grade2[r], pdose[r, :P], seen, w,
                          pcoh[r, :P], cohorts[r])  # fmt: skip
        hold = np.asarray(suspends(data), dtype=bool) & pend.any(axis=1)
        if not hold.any():
            break
        res = np.minimum(onset[r, :P], dday[r, :P] + window)
        nxt = np.where(pend, res, np.inf).min(axis=1)
        idx = idx[hold]
        t[idx] = nxt[hold]
    return t


class _CalendarEfficacy:
    """Responses of a calendar-time chunk (no-ops without ``p_resp``).

    The ``k``-th treated patient of trial ``t`` responds iff the cohort-time copula
    uniform ``response_latent(u[t, k], v[t, k], rho) < p_resp[dose]`` (the same draw as
    :func:`bayes_dose.simulate.run_chunk`, so responses match cohort time patient by
    patient).  The response is *assessed* (known to the design) on ``dose day +
    response_day`` (default: the DLT window, i.e. when the window completes, also for a
    patient whose DLT came earlier).  A design that decides on response and waits for
    complete data (BOIN12) also waits for every treated patient's assessment before the
    next group opens, as its ``fit`` holds on unassessed responses; every other design
    sees the responders assessed by the decision day.
    """

    def __init__(self, design: Design, p_resp: Sequence[float] | None, rho: float,
                 resp_uniforms: Callable[[int], np.ndarray] | None, seed: int,
                 trials: np.ndarray, p: np.ndarray, u: np.ndarray, window: float,
                 response_day: float | None) -> None:  # fmt: skip
        self.on = p_resp is not None
        if not self.on:
            return
        from .efficacy import response_uniforms

        self.q = np.asarray(p_resp, dtype=float)
        self.p, self.rho = p, float(rho)
        self.v = resp_uniforms or (lambda k: response_uniforms(seed, trials, k))
        self.lag = float(window if response_day is None else response_day)
        self.waits = getattr(design, "uses_efficacy", False) and \
            getattr(design, "tite_window", None) is None  # fmt: skip
        T, D = u.shape[0], design.n_doses
        self.resp = np.zeros((T, D), dtype=np.int64)
        self.both = np.zeros((T, D), dtype=np.int64)
        self.presp = np.zeros((T, u.shape[1] + 1), dtype=np.int8)  # last column: scratch
        self._latent(u)

    def _latent(self, u: np.ndarray) -> None:
        from .efficacy import response_latent

        self.w = response_latent(u, self.v(u.shape[1]), self.rho)

    def grow(self, u: np.ndarray, pad: Callable[[np.ndarray, float], np.ndarray]) -> None:
        if self.on:
            self.presp = pad(self.presp, 0)
            self._latent(u)

    def resolved(self, res: np.ndarray, rows: np.ndarray, pdose: np.ndarray,
                 dday: np.ndarray) -> np.ndarray:  # fmt: skip
        """Resolution days of the treated patients; for a design that decides on response
        also no earlier than their assessment day."""
        if not (self.on and self.waits):
            return res
        return np.where(pdose[rows] > 0, np.maximum(res, dday[rows] + self.lag), res)

    def dose(self, a: np.ndarray, pos: np.ndarray, col: np.ndarray, nxt: np.ndarray,
             on: np.ndarray, tox: np.ndarray, day: np.ndarray) -> None:  # fmt: skip
        if self.on:
            r = on & (self.w[a, col] < self.q[nxt])
            self.presp[a, pos] = r
            self.resp[a, nxt] += r
            self.both[a, nxt] += r & tox
            self.presp[:, -1] = 0

    def data(self, rows: np.ndarray | None, t: np.ndarray | None = None,
             pdose: np.ndarray | None = None, dday: np.ndarray | None = None,
             onset: np.ndarray | None = None, P: int = 0
             ) -> dict[str, np.ndarray | None]:  # fmt: skip
        """``resp``/``resp_dlt`` for a :class:`DoseData` of trials ``rows`` at day ``t``:
        every response when all are assessed (``rows is None``: the trial's end; or a
        design that waited for them), else those assessed by ``t``."""
        if not self.on:
            return {}
        if rows is None:
            return {"resp": self.resp, "resp_dlt": self.both}
        if self.waits:
            return {"resp": self.resp[rows], "resp_dlt": self.both[rows]}
        D = self.resp.shape[1]
        lv = pdose[rows, :P].astype(np.int64) - 1
        known = (lv >= 0) & (dday[rows, :P] + self.lag <= t[:, None]) & (self.presp[rows, :P] == 1)
        hit = (lv[..., None] == np.arange(D)) & known[..., None]
        both = hit & (onset[rows, :P] <= t[:, None])[..., None]
        return {"resp": hit.sum(axis=1), "resp_dlt": both.sum(axis=1)}

    def finish(self, sl: slice) -> dict[str, np.ndarray]:
        if not self.on:
            return {}
        return {"resp": self.resp.astype(np.int16), "patient_resp": self.presp[:, sl].copy()}
