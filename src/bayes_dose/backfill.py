"""Backfill patients in simulation (cohort time) and their summaries.

The rules (opening, closing, ratio, caps, priority) are the ``backfill`` slot,
:class:`bayes_dose.designs.slots.backfill.Backfill`.  This module runs them:

* :func:`run_backfill_chunk` -- the cohort-time driver for a design with ``backfill=``:
  escalation as in :func:`bayes_dose.simulate.run_chunk` (the ``k``-th *escalation*
  patient uses the latent uniform ``u[t, k]``, so escalation patients keep their common
  random numbers), then, after each escalation cohort, backfill patients one by one at the
  open dose chosen by priority until ``floor(ratio * escalation patients)`` backfill
  patients were treated in all (within the caps); they count in every later decision.
  Backfill patients draw their DLTs from a stream of their own (:func:`backfill_uniforms`:
  the ``j``-th backfill patient of trial ``t``), the ``"random"`` priority from another.
* :func:`backfill_table` -- mean backfill patients per dose and design x scenario (for
  the memo).

``max_n`` of the design counts escalation patients (BF-BOIN: N = 36 escalation patients
plus at most ``max_total`` backfill patients).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .crn import latent_uniforms
from .decision_step import decision_step, grown_capacity
from .designs.base import Design
from .dose_data import DoseData

__all__ = [
    "BACKFILL_DOCS", "backfill_characteristics", "backfill_table", "backfill_uniforms", "run_backfill_chunk",
]

#: Variables a chunk with backfill adds (long names for the Dataset).
BACKFILL_DOCS = {
    "backfill_n": "backfill patients per dose (included in n)",
    "n_backfill": "backfill patients in the trial (included in n_patients)",
}
#: Key offsets of the backfill streams (DLT, priority) from the run's seed.
_STREAM_DLT, _STREAM_PICK, _STREAM_RESP = 0xBF01, 0xBF02, 0xBF04


def backfill_uniforms(seed: int, trials: np.ndarray, k: int, stream: int = _STREAM_DLT
                      ) -> np.ndarray:  # fmt: skip
    """Uniforms of the backfill patients (``stream`` DLT or priority), shape (T, k)."""
    return latent_uniforms(np.random.SeedSequence([int(seed), stream]), trials, k)


def _cap_backfill(bf: Any, P: int) -> int:
    if bf.max_total is not None:
        return int(bf.max_total)
    return int(np.ceil(bf.ratio * P)) + 1


def run_backfill_chunk(
    design: Design,
    true_tox: Sequence[float],
    seed: int,
    start: int,
    stop: int,
    max_n: int | None = None,
    uniforms: Callable[[int], np.ndarray] | None = None,
    p_resp: Sequence[float] | None = None,
    rho: float = 0.0,
) -> dict[str, np.ndarray]:
    """Simulate trials ``start..stop-1`` of a design with ``backfill=`` in cohort time.

    With ``p_resp`` patients also respond (Gaussian copula with the DLT, correlation
    ``rho``: escalation patient ``k`` on the response stream's ``v[t, k]``, backfill patient
    ``j`` on a backfill response stream); decisions see ``DoseData.resp`` / ``resp_dlt``
    and the result adds ``resp`` and ``patient_resp``.

    Returns the variables of :func:`bayes_dose.simulate.run_chunk` (``n``, ``dlt``,
    ``n_patients`` and the patient arrays include backfill patients, in enrolment order)
    plus :data:`BACKFILL_DOCS`.
    """
    bf = design.backfill
    if bf is None:
        raise ValueError(f"{type(design).__name__} has no backfill=")
    if bf.ratio is None:
        raise ValueError(
            "Backfill(ratio=None) has no cohort-time rule (how many backfill patients per "
            "escalation cohort); give ratio= or simulate in calendar time (timeline=)"
        )
    p = np.asarray(true_tox, dtype=float)
    T, D = stop - start, design.n_doses
    trials = np.arange(start, stop)
    if uniforms is None:

        def uniforms(k: int) -> np.ndarray:
            return latent_uniforms(seed, trials, k)

    caps = [c for c in (max_n, design.max_n) if c is not None]
    P = min(caps) if caps else 6 * D
    u = uniforms(P)
    B = _cap_backfill(bf, P)
    ub = backfill_uniforms(seed, trials, B)
    upick = backfill_uniforms(seed, trials, B, _STREAM_PICK)
    q = None if p_resp is None else np.asarray(p_resp, dtype=float)

    def resp_streams() -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
        if q is None:
            return None, None
        from .efficacy import response_latent, response_uniforms

        return (response_latent(u, response_uniforms(seed, trials, P), rho),
                response_latent(ub, backfill_uniforms(seed, trials, B, _STREAM_RESP), rho))

    ve, vb = resp_streams()
    resp = np.zeros((T, D), dtype=np.int64) if q is not None else None
    both = np.zeros((T, D), dtype=np.int64) if q is not None else None
    presp: list[np.ndarray] = []
    n = np.zeros((T, D), dtype=np.int64)
    y = np.zeros((T, D), dtype=np.int64)
    bn = np.zeros((T, D), dtype=np.int64)
    current = np.full(T, -1, dtype=np.int64)
    last_n = np.zeros(T, dtype=np.int64)
    last_dlt = np.zeros(T, dtype=np.int64)
    grade2 = np.zeros(T, dtype=np.int64)
    esc = np.zeros(T, dtype=np.int64)  # escalation patients
    nb = np.zeros(T, dtype=np.int64)  # backfill patients
    n_flag = np.zeros(T, dtype=np.int64)  # decisions on flagged grid results
    flags: list[np.ndarray] = []
    cohorts = np.zeros(T, dtype=np.int64)
    reason = np.full(T, -1, dtype=np.int64)
    pdose: list[np.ndarray] = []  # per enrolment step: (T,) dose (1-based, 0 none)
    pdlt: list[np.ndarray] = []
    act = np.arange(T)
    while act.size:
        data = DoseData(n[act], y[act], current[act], last_n[act], last_dlt[act], grade2[act],
                        resp=None if q is None else resp[act],
                        resp_dlt=None if q is None else both[act], backfill_n=bn[act])  # fmt: skip
        tot = esc[act]
        dec, halt, size, code = decision_step(design, data, tot, max_n, start, act, flags)
        n_flag[act] += flags.pop()
        reason[act[halt]] = code[halt]
        go = ~halt
        a, nxt, size, tot = act[go], dec.next_dose[go], size[go], tot[go]
        if not a.size:
            break
        need = int((tot + size).max())
        if need > P:
            P = grown_capacity(design, need, P)
            u = uniforms(P)
            ve, vb = resp_streams()
        # the escalation cohort (the k-th escalation patient uses u[t, k])
        k = np.zeros(a.size, dtype=np.int64)
        for j in range(int(size.max())):
            on = j < size
            tox = on & (u[a, np.minimum(tot + j, P - 1)] < p[nxt])
            k += tox
            if q is not None:
                r = on & (ve[a, np.minimum(tot + j, P - 1)] < q[nxt])
                np.add.at(resp, (a, nxt), r.astype(np.int64))
                np.add.at(both, (a, nxt), (r & tox).astype(np.int64))
                step_r = np.zeros(T, dtype=np.int8)
                step_r[a] = r
                presp.append(step_r)
            step_d = np.zeros(T, dtype=np.int8)
            step_y = np.zeros(T, dtype=np.int8)
            step_d[a] = np.where(on, nxt + 1, 0)
            step_y[a] = tox
            pdose.append(step_d)
            pdlt.append(step_y)
        n[a, nxt] += size
        y[a, nxt] += k
        current[a], last_n[a], last_dlt[a] = nxt, size, k
        esc[a] += size
        cohorts[a] += 1
        # backfill patients while the cohort's window runs
        b = a
        while b.size:
            quota = np.floor(bf.ratio * esc[b] + 1e-9).astype(np.int64)
            data = DoseData(n[b], y[b], current[b], last_n[b], last_dlt[b], grade2[b],
                            resp=None if q is None else resp[b],
                            resp_dlt=None if q is None else both[b], backfill_n=bn[b])  # fmt: skip
            open_ = bf.open_doses(data, design, nb[b], esc[b]) & (nb[b] < quota)[:, None]
            if nb[b].max(initial=0) >= ub.shape[1] - 1:
                B = 2 * ub.shape[1]
                ub = backfill_uniforms(seed, trials, B)
                upick = backfill_uniforms(seed, trials, B, _STREAM_PICK)
                ve, vb = resp_streams()
            d = bf.choose(open_, upick[b, nb[b]])
            on = d >= 0
            b, d = b[on], d[on]
            if not b.size:
                break
            tox = ub[b, nb[b]] < p[d]
            if q is not None:
                r = vb[b, nb[b]] < q[d]
                resp[b, d] += r
                both[b, d] += r & tox
                step_r = np.zeros(T, dtype=np.int8)
                step_r[b] = r
                presp.append(step_r)
            n[b, d] += 1
            y[b, d] += tox
            bn[b, d] += 1
            nb[b] += 1
            step_d = np.zeros(T, dtype=np.int8)
            step_y = np.zeros(T, dtype=np.int8)
            step_d[b] = d + 1
            step_y[b] = tox
            pdose.append(step_d)
            pdlt.append(step_y)
        act = a
    sel = design.select(DoseData(n, y, current, last_n, last_dlt, grade2, resp=resp,
                                 resp_dlt=both, backfill_n=bn))  # fmt: skip
    pd_, py_ = _compact(pdose, pdlt, T)
    out = {
        "n": n.astype(np.int16),
        "dlt": y.astype(np.int16),
        "patient_dose": pd_,
        "patient_dlt": py_,
        "selected": (sel.dose + 1).astype(np.int8),
        "is_mad": np.asarray(sel.is_mad, dtype=bool) & (sel.dose >= 0),
        "stop_reason": reason.astype(np.int16),
        "n_patients": (esc + nb).astype(np.int16),
        "n_cohorts": cohorts.astype(np.int16),
        "backfill_n": bn.astype(np.int16),
        "n_backfill": nb.astype(np.int16),
        "n_flagged_decisions": n_flag.astype(np.int16),
    }
    if q is not None:  # patient responses in the same enrolment order as patient_dose
        _, pr = _compact(pdose, presp, T)
        out["resp"] = resp.astype(np.int16)
        out["patient_resp"] = pr
    return out


def _compact(pdose: list[np.ndarray], pdlt: list[np.ndarray], T: int
             ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per-step patient columns packed left per trial (enrolment order)."""
    if not pdose:
        return np.zeros((T, 1), dtype=np.int8), np.zeros((T, 1), dtype=np.int8)
    dd = np.stack(pdose, axis=1)
    yy = np.stack(pdlt, axis=1)
    order = np.argsort(dd == 0, axis=1, kind="stable")
    dd = np.take_along_axis(dd, order, axis=1)
    yy = np.take_along_axis(yy, order, axis=1)
    width = max(int((dd > 0).sum(axis=1).max(initial=0)), 1)
    return dd[:, :width].copy(), yy[:, :width].copy()


def backfill_table(sims: Any) -> pd.DataFrame:
    """Mean backfill patients per dose, and in all, per design x scenario (a memo table).

    Parameters
    ----------
    sims : xarray.Dataset
        A :func:`bayes_dose.simulate` result with ``backfill_n`` (designs without backfill
        show 0).

    Returns
    -------
    DataFrame
        Columns ``design``, ``scenario``, ``dose_level``, ``mean_backfill_n``,
        ``mean_n`` (all patients at the dose) and ``mean_n_backfill`` (trial total).
    """
    if "backfill_n" not in sims:
        raise ValueError("backfill_table: the simulation has no backfill variables "
                         "(no design was given backfill=)")  # fmt: skip
    bn = sims["backfill_n"].mean("trial")
    nn = sims["n"].mean("trial")
    tot = sims["n_backfill"].mean("trial")
    rows = []
    for g in sims["design"].values:
        for s in sims["scenario"].values:
            for i, lv in enumerate(sims["dose_level"].values):
                rows.append({
                    "design": g, "scenario": s, "dose_level": int(lv),
                    "mean_backfill_n": float(bn.sel(design=g, scenario=s)[i]),
                    "mean_n": float(nn.sel(design=g, scenario=s)[i]),
                    "mean_n_backfill": float(tot.sel(design=g, scenario=s)),
                })  # fmt: skip
    return pd.DataFrame(rows)


def backfill_characteristics(sims: Any) -> Any:
    """``mean_backfill_n`` (design, scenario, dose_level) and ``mean_n_backfill``
    (design, scenario), each with ``*_se`` (sd / sqrt(T)), from the in-memory trials.
    :func:`bayes_dose.operating_characteristics` (and ``simulate_oc``, the store's ``"oc"``
    group) reduce the same numbers chunk by chunk from exact integer sums
    (:data:`bayes_dose.metrics.TRIAL_QUANTITIES`), equal to these up to rounding."""
    import xarray as xr

    T = sims.sizes["trial"]
    bn = sims["backfill_n"].astype(float).swap_dims(dose="dose_level")
    tot = sims["n_backfill"].astype(float)

    def se(x: Any) -> Any:
        return x.std("trial", ddof=1) / np.sqrt(T) if T > 1 else x.mean("trial") * np.nan

    out = xr.Dataset({
        "mean_backfill_n": bn.mean("trial"), "mean_backfill_n_se": se(bn),
        "mean_n_backfill": tot.mean("trial"), "mean_n_backfill_se": se(tot),
    })  # fmt: skip
    out["mean_backfill_n"].attrs["long_name"] = "mean backfill patients per dose"
    out["mean_n_backfill"].attrs["long_name"] = "mean backfill patients per trial"
    return out.drop_vars([c for c in out.coords if c not in ("design", "scenario", "dose_level")])
