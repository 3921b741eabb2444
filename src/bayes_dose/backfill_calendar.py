"""Calendar-time simulation of a design with ``backfill=`` (beside
:func:`bayes_dose.calendar_sim.run_calendar_chunk`, whose rules it follows for escalation).

Escalation groups open, stagger and hold exactly as in :mod:`bayes_dose.calendar_sim`;
the hold of a design needing complete data waits for the *escalation* patients only.
Backfill:

* an arriving patient who would wait for the next escalation slot (queued) or be turned
  away is backfilled instead, on the arrival day, when a dose is open for backfill then:
  the open doses of :meth:`Backfill.open_doses` on the evidence of that day (escalation
  patients counted at the last decision, backfill patients resolved by that day: DLT seen
  or window complete), within ``max_per_dose`` / ``max_total`` and the ratio (at most
  ``ratio`` backfill patients per escalation patient treated, ``ratio=None``: no ratio),
  at the dose chosen by ``priority``.  An arrival with no open dose waits or is turned away
  as without backfill, and backfilling pauses until the next escalation patient is dosed
  (first come, first served).  Backfill patients are not staggered;
* every later decision counts the backfill patients resolved by its day (TITE designs: all
  treated, weighted by follow-up); the final selection counts all of them; the duration
  runs to the last DLT window of any patient.
* Escalation patient ``k`` uses the latent uniform ``u[t, k]`` (as without backfill);
  backfill patient ``j`` uses :func:`bayes_dose.backfill.backfill_uniforms` ``[t, j]``
  and its onset fraction from the same stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .backfill import _STREAM_PICK, _STREAM_RESP, backfill_uniforms
from .calendar_sim import _Arrivals, _lift_suspension, _observed, _tite_data, calendar_outputs
from .crn import latent_uniforms
from .decision_step import decision_step, grown_capacity
from .designs.base import Design
from .designs.state import DoseData
from .protocol import Staggering
from .timeline import Timeline

__all__ = ["run_backfill_calendar_chunk"]

_STREAM_ONSET = 0xBF03


def run_backfill_calendar_chunk(
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
) -> dict[str, np.ndarray]:
    """As :func:`bayes_dose.calendar_sim.run_calendar_chunk` for a design with
    ``backfill=``; adds ``backfill_n`` (trial, dose) and ``n_backfill`` (trial).

    With ``p_resp`` every patient also responds or not (Gaussian copula with the DLT,
    correlation ``rho``, :func:`bayes_dose.efficacy.response_latent`; escalation patient
    ``k`` on the response stream's ``v[t, k]``, backfill patient ``j`` on a backfill
    response stream); a response is known at the end of the patient's DLT window (the
    evidence of later decisions and of :class:`~bayes_dose.MinResponses` counts it then);
    adds ``resp`` (trial, dose) and ``patient_resp`` (trial, patient)."""
    bf = design.backfill
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
    E = min(caps) if caps else 6 * D  # escalation patients
    u = uniforms(E)
    v = timeline.onset_fraction(seed, trials, E) * window
    B = int(bf.max_total) if bf.max_total is not None else 2 * E
    ub = backfill_uniforms(seed, trials, B)
    upick = backfill_uniforms(seed, trials, B, _STREAM_PICK)
    vb = backfill_uniforms(seed, trials, B, _STREAM_ONSET) * window
    P = E + B
    arr = _Arrivals(timeline, seed, trials, 2 * P + 8)
    q = None if p_resp is None else np.asarray(p_resp, dtype=float)
    if q is not None:
        from .efficacy import response_latent, response_uniforms

        ve = response_latent(u, response_uniforms(seed, trials, E), rho)
        vbr = response_latent(ub, backfill_uniforms(seed, trials, B, _STREAM_RESP), rho)

    n = np.zeros((T, D), dtype=np.int64)  # escalation patients
    y = np.zeros((T, D), dtype=np.int64)
    current = np.full(T, -1, dtype=np.int64)
    last_n = np.zeros(T, dtype=np.int64)
    last_dlt = np.zeros(T, dtype=np.int64)
    grade2 = np.zeros(T, dtype=np.int64)
    total = np.zeros(T, dtype=np.int64)  # patient slots used (escalation + backfill)
    esc = np.zeros(T, dtype=np.int64)
    nb = np.zeros(T, dtype=np.int64)
    n_flag = np.zeros(T, dtype=np.int64)  # decisions on flagged grid results
    flags: list[np.ndarray] = []
    cohorts = np.zeros(T, dtype=np.int64)
    reason = np.full(T, -1, dtype=np.int64)

    def blank(dtype: type, fill: float) -> np.ndarray:
        return np.full((T, P + 1), fill, dtype=dtype)

    pdose, pdlt, prole = blank(np.int8, 0), blank(np.int8, 0), blank(np.int8, 0)
    pcoh = blank(np.int64, -1)
    parr, dday = blank(np.float64, np.nan), blank(np.float64, np.nan)
    onset = blank(np.float64, np.inf)
    ppend = blank(np.int16, 0)
    presp = blank(np.int8, 0)
    ptr = np.zeros(T, dtype=np.int64)
    t_last = np.full(T, -np.inf)
    first_day = np.full(T, np.nan)
    suspended = np.zeros(T)
    turned = np.zeros(T, dtype=np.int64)
    max_pend = np.zeros(T, dtype=np.int64)

    # the backfill patients apart (at most B per trial), for fast counts
    blv = np.full((T, B), -1, dtype=np.int64)
    bres = np.full((T, B), np.inf)  # resolution day: DLT day or window end
    bseen = np.full((T, B), np.inf)  # DLT day (inf: no DLT)

    def bf_counts(r: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Backfill patients resolved by day ``t`` per dose (n, dlt) and all treated (n)."""
        lv = blv[r]
        R = r.size
        base = np.arange(R)[:, None] * D + np.maximum(lv, 0)
        on = lv >= 0

        def count(m: np.ndarray) -> np.ndarray:
            return np.bincount(base[m], minlength=R * D).reshape(R, D).astype(np.int64)

        tt = t[:, None]
        return count(on & (bres[r] <= tt)), count(on & (bseen[r] <= tt)), count(on)

    def resp_counts(r: np.ndarray, t: np.ndarray) -> np.ndarray | None:
        """Responders per dose known by day ``t`` (window complete); None without efficacy."""
        if q is None:
            return None
        lv = pdose[r, :P].astype(np.int64) - 1
        m = (lv >= 0) & (presp[r, :P] == 1) & (dday[r, :P] + window <= t[:, None])
        R = r.size
        idx = (np.arange(R)[:, None] * D + np.maximum(lv, 0))[m]
        return np.bincount(idx, minlength=R * D).reshape(R, D).astype(np.int64)

    def evidence(r: np.ndarray, t: np.ndarray) -> DoseData:
        """The count evidence at day ``t`` (complete-data designs)."""
        bn_, by_, _ = bf_counts(r, t)
        return DoseData(n[r] + bn_, y[r] + by_, current[r], last_n[r], last_dlt[r], grade2[r],
                        resp=resp_counts(r, t), backfill_n=bn_)  # fmt: skip

    def backfill_until(r: np.ndarray, e: np.ndarray, ptr_r: np.ndarray) -> np.ndarray:
        """Backfill arrivals of trials ``r`` before day ``e`` (from ``ptr_r``) while a dose
        is open on their arrival day; returns the new pointers."""
        ptr_r = ptr_r.copy()
        live = np.arange(r.size)
        while live.size:
            rr = r[live]
            A = arr.ensure(int(ptr_r[live].max()) + 2)
            day = A[rr, ptr_r[live]]
            cand = day < e[live]
            live, rr, day = live[cand], rr[cand], day[cand]
            if not live.size:
                break
            full = nb[rr] >= ub.shape[1]
            live, rr, day = live[~full], rr[~full], day[~full]
            if not live.size:
                break
            bn_, by_, ball = bf_counts(rr, day)
            counted = ball if tite else bn_  # TITE: every treated patient (weighted)
            data = DoseData(n[rr] + counted, y[rr] + by_, current[rr], last_n[rr],
                            last_dlt[rr], grade2[rr], resp=resp_counts(rr, day),
                            backfill_n=counted)  # fmt: skip
            open_ = bf.open_doses(data, design, nb[rr], esc[rr])
            if bf.max_per_dose is not None:  # the cap counts every treated patient
                open_ &= n[rr] + ball < bf.max_per_dose
            d = bf.choose(open_, upick[rr, np.minimum(nb[rr], upick.shape[1] - 1)])
            ok = d >= 0
            live, rr, day, d = live[ok], rr[ok], day[ok], d[ok]
            if not live.size:
                break
            j = nb[rr]
            pos = total[rr]
            tox = ub[rr, j] < p[d]
            pdose[rr, pos] = d + 1
            prole[rr, pos] = 1
            pcoh[rr, pos] = -1
            parr[rr, pos] = day
            dday[rr, pos] = day
            pdlt[rr, pos] = tox
            onset[rr, pos] = np.where(tox, day + vb[rr, j], np.inf)
            blv[rr, j] = d
            if q is not None:
                presp[rr, pos] = vbr[rr, j] < q[d]
            bseen[rr, j] = onset[rr, pos]
            bres[rr, j] = np.where(tox, onset[rr, pos], day + window)
            first_day[rr] = np.where(np.isnan(first_day[rr]), day, first_day[rr])
            total[rr] += 1
            nb[rr] += 1
            ptr_r[live] += 1
        return ptr_r

    act = np.arange(T)
    while act.size:
        rows = act
        t_free = t_last[rows] + gap
        if tite:
            t_open = t_free.copy()
            if suspends is not None:
                nfull = n_all(n, pdose, prole, np.arange(T), D)
                t_open = _lift_suspension(design, suspends, rows, t_open, nfull, current, last_n,
                                          pdose, dday, pdlt, onset, pcoh, cohorts, grade2,
                                          window)  # fmt: skip
        else:  # hold until every treated escalation patient is resolved
            isesc = (pdose[rows] > 0) & (prole[rows] == 0)
            res = np.where(isesc, np.minimum(onset[rows], dday[rows] + window), -np.inf)
            t_open = np.maximum(t_free, res.max(axis=1, initial=-np.inf))
        fin = np.isfinite(t_free)
        hold_days = np.zeros(rows.size)
        hold_days[fin] = t_open[fin] - t_free[fin]
        ptr[rows] = backfill_until(rows, np.where(fin, t_open, -np.inf), ptr[rows])
        j0, a0 = arr.take(rows, ptr[rows], t_open - W)
        s0 = np.maximum(t_open, a0)
        if tite:
            seen, pend, w = _observed(True, s0, pdose[rows, :P], dday[rows, :P],
                                      pdlt[rows, :P], onset[rows, :P], window)  # fmt: skip
            nall = n_all(n, pdose, prole, rows, D)
            data = _tite_data(nall, current[rows], last_n[rows], grade2[rows], pdose[rows, :P],
                              seen, w, pcoh[rows, :P], cohorts[rows])  # fmt: skip
            _, _, ball = bf_counts(rows, s0)
            data = DoseData(data.n, data.dlt, data.current, data.last_n, data.last_dlt,
                            data.grade2, data.patient_dose, data.patient_dlt,
                            data.patient_weight, resp=resp_counts(rows, s0),
                            backfill_n=ball)  # fmt: skip
            n_pend = pend.sum(axis=1)
        else:
            data = evidence(rows, s0)
            n_pend = np.zeros(rows.size, dtype=np.int64)
        tot = esc[rows]
        dec, halt, size, code = decision_step(design, data, tot, max_n, start, rows, flags)
        n_flag[rows] += flags.pop()
        reason[rows[halt]] = code[halt]
        go = ~halt
        a, nxt, size, tot = rows[go], dec.next_dose[go], size[go], tot[go]
        if not a.size:
            break
        j0, s0, n_pend = j0[go], s0[go], n_pend[go]
        suspended[a] += hold_days[go]
        need = int((tot + size).max())
        if need > E:
            E2 = grown_capacity(design, need, E)
            u = uniforms(E2)
            v = timeline.onset_fraction(seed, trials, E2) * window
            grow = E2 - E

            def pad(x: np.ndarray, fill: float, grow: int = grow) -> np.ndarray:
                return np.concatenate(
                    [x[:, :-1], np.full((T, grow + 1), fill, dtype=x.dtype)], axis=1
                )

            pdose, pdlt, prole, pcoh = pad(pdose, 0), pad(pdlt, 0), pad(prole, 0), pad(pcoh, -1)
            presp = pad(presp, 0)
            if q is not None:
                ve = response_latent(u, response_uniforms(seed, trials, E2), rho)
            parr, dday, onset, ppend = pad(parr, np.nan), pad(dday, np.nan), pad(onset, np.inf), \
                pad(ppend, 0)  # fmt: skip
            E, P = E2, P + grow
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
                ptr_a[on] = backfill_until(a[on], e[on], ptr_a[on])
                j, arrive = arr.take(a, ptr_a, e - W)
                day = np.maximum(e, arrive)
                turned[a] += np.where(on, j - ptr_a, 0)
                ptr_a = np.where(on, j + 1, ptr_a)
            pos = np.where(on, total[a], P)
            kk = np.minimum(tot + i, E - 1)
            pdose[a, pos] = nxt + 1
            prole[a, pos] = 0
            pcoh[a, pos] = cohorts[a]
            parr[a, pos] = arrive
            dday[a, pos] = day
            ppend[a, pos] = n_pend
            tox = on & (u[a, kk] < p[nxt])
            if q is not None:
                presp[a, pos] = on & (ve[a, kk] < q[nxt])
            pdlt[a, pos] = tox
            onset[a, pos] = np.where(tox, day + v[a, kk], np.inf)
            k_dlt += tox
            total[a] += on
            prev = np.where(on, day, prev)
        for x, fill in ((pdose, 0), (pdlt, 0), (prole, 0), (pcoh, -1), (onset, np.inf),
                        (dday, np.nan), (presp, 0)):  # fmt: skip
            x[:, P] = fill
        ptr[a] = ptr_a
        t_last[a] = prev
        max_pend[a] = np.maximum(max_pend[a], n_pend)
        st = DoseData(n[a], y[a], current[a], last_n[a], last_dlt[a], grade2[a]).after_cohort(
            nxt, size, k_dlt)
        n[a], y[a] = st.n, st.dlt
        current[a], last_n[a], last_dlt[a] = st.current, st.last_n, st.last_dlt
        esc[a] += size
        cohorts[a] += 1
        act = a

    _, _, ball = bf_counts(np.arange(T), np.full(T, np.inf))
    lv_all = pdose[:, :P].astype(np.int64) - 1
    bdl = ((lv_all[..., None] == np.arange(D)) & ((prole[:, :P] == 1) & (pdlt[:, :P] == 1))
           [..., None]).sum(axis=1)  # fmt: skip
    n_fin, y_fin = n + ball, y + bdl
    resp_fin = resp_counts(np.arange(T), np.full(T, np.inf))
    both = None
    if q is not None:
        both = ((lv_all[..., None] == np.arange(D)) & ((presp[:, :P] == 1) & (pdlt[:, :P] == 1))
                [..., None]).sum(axis=1)  # fmt: skip
    sel = design.select(DoseData(n_fin, y_fin, current, last_n, last_dlt, grade2, resp=resp_fin,
                                 resp_dlt=both, backfill_n=ball))  # fmt: skip
    width = max(int(total.max()) if T else 0, 1)
    sl = slice(0, width)
    treated = pdose[:, sl] > 0
    out = calendar_outputs(n_fin, y_fin, sel, reason, total, cohorts, pdose, pdlt, dday, parr,
                           onset, ppend, pcoh, window, first_day, suspended, turned, max_pend,
                           n_flag)  # fmt: skip
    out["backfill_n"] = ball.astype(np.int16)
    out["n_backfill"] = nb.astype(np.int16)
    if q is not None:
        out["resp"] = resp_fin.astype(np.int16)
        out["patient_resp"] = np.where(treated, presp[:, sl], 0).astype(np.int8)
    return out


def n_all(n: np.ndarray, pdose: np.ndarray, prole: np.ndarray, rows: np.ndarray, D: int
          ) -> np.ndarray:  # fmt: skip
    """Escalation counts plus every treated backfill patient per dose (TITE evidence)."""
    lv = pdose[rows, :-1].astype(np.int64) - 1
    isb = prole[rows, :-1] == 1
    return n[rows] + ((lv[..., None] == np.arange(D)) & isb[..., None]).sum(axis=1)
