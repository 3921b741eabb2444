"""Simulate trials of several designs on the same patients (common random numbers).

For each design x scenario, all trials advance together: one vectorised
``design.decide`` per cohort over the trials still running (a loop over cohorts, never
over trials).  Patient ``k`` of trial ``t`` carries the latent uniform ``u[t, k]``
(:mod:`bayes_dose.crn`, a pure function of ``(seed, t, k)``) and has a DLT iff
``u[t, k] < p_true[dose]``, whatever the design or scenario.  Trials are cut into chunks;
a chunk's numbers depend only on its trial indices, so results are bit-identical for any
``n_jobs``, chunking and backend (local threads or Dask distributed).  Finished chunks
can be checkpointed to disk (verified on reload, :mod:`bayes_dose.sim_io`) and are
reloaded by a rerun with the same arguments.

**Streaming.** One task simulates one trial chunk of every design x scenario (sharing
its latent uniforms), then writes it to the checkpoint folder and the Zarr store (if
any) and reduces it (:class:`bayes_dose.metrics.OCReducer`); only the small reduction
travels back.  ``simulate(..., store=path)`` returns the store lazily opened and
:func:`simulate_oc` returns only the reductions, so memory stays bounded for any number
of trials; plain ``simulate`` assembles the in-memory Dataset as before.

Simulated patients have no grade-2 toxicities (``DoseData.grade2 = 0``), so titration
ends at the first DLT.
"""

from __future__ import annotations

import copy
import json
import math
import os
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .checks import check_seed, flag, warn_if_not_monotone, whole
from .crn import latent_uniforms
from .decision_step import PATIENT_GUARD, decision_step, grown_capacity
from .designs.base import Design
from .designs.state import DoseData
from .manifest import build_manifest, data_sha256
from .metrics import OCReducer, target_table
from .sim_io import CHUNK_VARS as _CHUNK_VARS
from .sim_io import (
    CheckpointWarning,
    ZarrSink,
    check_writable_dir,
    fill_value,
    load_chunk,
    remove_orphans,
    save_chunk,
)

__all__ = [
    "SimulationSummary", "default_chunk_size", "manifest", "open_store", "reasons",
    "run_chunk", "simulate", "simulate_oc",
]  # fmt: skip

#: Format version of chunk checkpoints (part of their hash).
_CHECKPOINT_VERSION = 4  # 4: chunks carry n_flagged_decisions
#: Patient slots (trials x patients x designs x scenarios) per default chunk.
CHUNK_SLOTS = 250_000
_RNG = (
    "Philox4x32-10 keyed by SeedSequence(seed).generate_state(2, uint32); "
    "u[t, k] = word k % 4 of the block at counter (k // 4, t mod 2**32, t // 2**32, 0) / 2**32; "
    "DLT iff u[t, k] < p_true[dose]"
)
_RNG_RESP = (
    "response: v[t, k] from the same generator keyed by SeedSequence(seed, spawn_key="
    "(0x52455350,)); respond iff Phi(rho Phi^-1(u + 2**-33) + sqrt(1 - rho^2) "
    "Phi^-1(v + 2**-33)) < p_resp[dose] (Gaussian copula)"
)


# ----------------------------------------------------------------------------- one chunk
class _Uniforms:
    """Latent uniforms of trials ``start..stop``, generated once and shared by the designs
    and scenarios of a run (thread-safe; grows the patient axis on demand)."""

    def __init__(self, fn: Callable[..., np.ndarray] = latent_uniforms) -> None:
        self._cache: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()
        self._fn = fn

    def get(self, seed: int, start: int, stop: int, n_patients: int) -> np.ndarray:
        with self._lock:
            u = self._cache.get((start, stop))
            if u is None or u.shape[1] < n_patients:
                u = self._fn(seed, np.arange(start, stop), n_patients)
                self._cache[(start, stop)] = u
            return u[:, :n_patients]


def run_chunk(
    design: Design,
    true_tox: Sequence[float],
    seed: int,
    start: int,
    stop: int,
    max_n: int | None = None,
    uniforms: Callable[[int], np.ndarray] | None = None,
    p_resp: Sequence[float] | None = None,
    rho: float = 0.0,
    resp_uniforms: Callable[[int], np.ndarray] | None = None,
    source: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """Simulate trials ``start..stop-1`` of one design under one true DLT curve.

    Parameters
    ----------
    design : Design
    true_tox : sequence of float
        True DLT probability per level.
    seed : int
        The run's seed (trial ``t`` uses the latent uniforms ``u[t, :]``).
    start, stop : int
        Global trial indices of the chunk.
    max_n : int, optional
        Simulation cap on patients per trial (on top of the design's own ``max_n``).
    uniforms : callable, optional
        ``uniforms(n_patients)`` returning the chunk's latent uniforms (a cache).
    p_resp : sequence of float, optional
        True response probability per level: patients also get a response, drawn jointly
        with the DLT by a Gaussian copula (:mod:`bayes_dose.efficacy`); the toxicity
        draws are unchanged.  Designs see the responders per dose (``DoseData.resp``).
    rho : float
        Correlation of the copula (latent normals of DLT and response).
    resp_uniforms : callable, optional
        ``resp_uniforms(n_patients)``: the chunk's response-stream uniforms (a cache).
    source : (n, dlt), optional
        Per-trial counts of the arm a borrowing design reads, shape (stop - start,
        D_source) each (row ``i`` belongs to trial ``start + i``); carried in every
        ``DoseData`` as ``source_n``/``source_dlt`` (:class:`bayes_dose.Programme`).  Or a
        schedule (:class:`bayes_dose.programme.SourceSchedule`: ``at(rows, k)`` gives the
        counts the decision of chunk rows ``rows`` after ``k`` cohorts sees, ``gate``
        which trials wait for the source arm or stop): the selection is capped at
        ``ceiling(rows, k)`` (-1: none).

    Returns
    -------
    dict of str to ndarray
        ``n``, ``dlt`` (trial, dose); ``patient_dose`` (1-based, 0 = none) and
        ``patient_dlt`` (trial, patient); ``selected`` (1-based, 0 = none), ``is_mad``,
        ``stop_reason`` (design reason code), ``n_patients``, ``n_cohorts`` (trial,),
        ``patient_cohort`` (trial, patient; 0-based cohort, -1 = none: not assembled by
        :func:`simulate`), ``n_flagged_decisions`` (trial,: decisions resting on a grid
        result flagged as unverified, ``Estimate.grid_flags``); with ``p_resp`` also ``resp`` (trial, dose) and
        ``patient_resp`` (trial, patient).
    """
    p = np.asarray(true_tox, dtype=float)
    T, D = stop - start, design.n_doses
    if uniforms is None:

        def uniforms(k: int) -> np.ndarray:
            return latent_uniforms(seed, np.arange(start, stop), k)

    caps = [c for c in (max_n, design.max_n) if c is not None]
    P = min(caps) if caps else 6 * D
    u = uniforms(P)
    eff = _Efficacy(p_resp, rho, resp_uniforms, seed, start, stop, T, D, u, p)
    n = np.zeros((T, D), dtype=np.int64)
    y = np.zeros((T, D), dtype=np.int64)
    current = np.full(T, -1, dtype=np.int64)
    last_n = np.zeros(T, dtype=np.int64)
    last_dlt = np.zeros(T, dtype=np.int64)
    grade2 = np.zeros(T, dtype=np.int64)
    total = np.zeros(T, dtype=np.int64)
    cohorts = np.zeros(T, dtype=np.int64)
    pdose = np.zeros((T, P + 1), dtype=np.int8)  # last column: scratch for padding
    pcoh = np.full((T, P + 1), -1, dtype=np.int16)
    n_flag = np.zeros(T, dtype=np.int64)
    flags: list[np.ndarray] = []
    reason = np.full(T, -1, dtype=np.int64)
    act = np.arange(T)
    sched = source if hasattr(source, "at") else None
    sn, sy = (None, None) if source is None or sched is not None else (
        np.asarray(a, dtype=np.int64) for a in source)  # fmt: skip
    while act.size:
        if sched is not None:  # the source counts accrued by this decision (Programme)
            sn_a, sy_a = sched.at(act, cohorts[act])
            data = DoseData(n[act], y[act], current[act], last_n[act], last_dlt[act], grade2[act],
                            resp=eff.take(act), resp_dlt=eff.take(act, both=True),
                            source_n=sn_a, source_dlt=sy_a)  # fmt: skip
        elif act.size == T:  # every trial running: no copies
            data = DoseData(n, y, current, last_n, last_dlt, grade2, resp=eff.resp,
                            resp_dlt=eff.both, source_n=sn, source_dlt=sy)  # fmt: skip
        else:
            data = DoseData(n[act], y[act], current[act], last_n[act], last_dlt[act], grade2[act],
                            resp=eff.take(act), resp_dlt=eff.take(act, both=True),
                            source_n=None if sn is None else sn[act],
                            source_dlt=None if sy is None else sy[act])  # fmt: skip
        tot = total[act]
        dec, halt, size, code = decision_step(design, data, tot, max_n, start, act, flags)
        n_flag[act] += flags.pop()
        wait = np.zeros(act.size, dtype=bool)
        if sched is not None:  # the ceiling: wait for Part I, or stop (Programme)
            halt, code, wait = sched.gate(act, cohorts[act], dec.next_dose, halt, code)
        reason[act[halt]] = code[halt]
        go = ~halt & ~wait
        held = act[wait]
        a, nxt, size, tot = act[go], dec.next_dose[go], size[go], tot[go]
        if not a.size:
            if held.size:
                act = held
                continue
            break
        need = int((tot + size).max())
        if need > P:
            P = grown_capacity(design, need, P)
            u = uniforms(P)
            eff.grow(u)
            grow = ((0, 0), (0, P + 1 - pdose.shape[1] + 1))
            pdose = np.pad(pdose[:, :-1], grow)
            pcoh = np.pad(pcoh[:, :-1], grow, constant_values=-1)
        j = np.arange(int(size.max()))
        pos = tot[:, None] + j[None, :]
        valid = j[None, :] < size[:, None]
        pos = np.where(valid, pos, P)
        pdose[a[:, None], pos] = (nxt + 1)[:, None]
        pcoh[a[:, None], pos] = cohorts[a][:, None]
        k = ((u[a[:, None], np.minimum(pos, P - 1)] < p[nxt][:, None]) & valid).sum(axis=1)
        eff.cohort(a, nxt, pos, valid, P)
        nxt_state = data.take(go).after_cohort(nxt, size, k)  # the shared state transition
        n[a], y[a], grade2[a] = nxt_state.n, nxt_state.dlt, nxt_state.grade2
        current[a], last_n[a], last_dlt[a] = nxt_state.current, nxt_state.last_n, nxt_state.last_dlt
        total[a] += size
        cohorts[a] += 1
        act = np.union1d(a, held) if held.size else a
    if sched is not None:
        sn, sy = sched.at(np.arange(T), cohorts)
        cap = sched.ceiling(np.arange(T), cohorts)
    sel = design.select(DoseData(n, y, current, last_n, last_dlt, grade2, resp=eff.resp,
                                 resp_dlt=eff.both, source_n=sn, source_dlt=sy))  # fmt: skip
    sdose = sel.dose if sched is None else np.where(cap < 0, -1, np.minimum(sel.dose, cap))
    width = max(int(total.max()) if T else 0, 1)
    pdose = pdose[:, :width]
    treated = pdose > 0
    pdlt = (treated & (u[:, :width] < p[np.maximum(pdose, 1) - 1])).astype(np.int8)
    return {
        "n": n.astype(np.int16),
        "dlt": y.astype(np.int16),
        "patient_dose": pdose,
        "patient_dlt": pdlt,
        "selected": (sdose + 1).astype(np.int8),
        "is_mad": np.asarray(sel.is_mad, dtype=bool) & (sdose >= 0),
        "stop_reason": reason.astype(np.int16),
        "n_patients": total.astype(np.int16),
        "n_cohorts": cohorts.astype(np.int16),
        "patient_cohort": np.where(treated, pcoh[:, :width], -1).astype(np.int16),
        "n_flagged_decisions": n_flag.astype(np.int16),
    } | eff.finish(pdose, treated, width)


class _Efficacy:
    """Responses of one chunk (no-ops without ``p_resp``): the copula uniforms of the
    patient slots, responders per dose, and the per-patient responses at the end."""

    def __init__(self, p_resp: Sequence[float] | None, rho: float,
                 resp_uniforms: Callable[[int], np.ndarray] | None, seed: int, start: int,
                 stop: int, T: int, D: int, u: np.ndarray, p: np.ndarray) -> None:  # fmt: skip
        self.on = p_resp is not None
        self.resp: np.ndarray | None = None
        self.both: np.ndarray | None = None
        if not self.on:
            return
        self.p = p
        from .efficacy import response_uniforms

        self.q = np.asarray(p_resp, dtype=float)
        self.rho = float(rho)
        self.v = resp_uniforms or (lambda k: response_uniforms(seed, np.arange(start, stop), k))
        self.resp = np.zeros((T, D), dtype=np.int64)
        self.both = np.zeros((T, D), dtype=np.int64)
        self.grow(u)

    def grow(self, u: np.ndarray) -> None:
        if self.on:
            from .efficacy import response_latent

            self.u = u
            self.w = response_latent(u, self.v(u.shape[1]), self.rho)

    def take(self, act: np.ndarray, both: bool = False) -> np.ndarray | None:
        arr = self.both if both else self.resp
        return None if arr is None else arr[act]

    def cohort(self, a: np.ndarray, nxt: np.ndarray, pos: np.ndarray, valid: np.ndarray,
               P: int) -> None:  # fmt: skip
        if self.on:
            slot = (a[:, None], np.minimum(pos, P - 1))
            r = (self.w[slot] < self.q[nxt][:, None]) & valid
            self.resp[a, nxt] += r.sum(axis=1)
            self.both[a, nxt] += (r & (self.u[slot] < self.p[nxt][:, None])).sum(axis=1)

    def finish(self, pdose: np.ndarray, treated: np.ndarray, width: int) -> dict[str, np.ndarray]:
        if not self.on:
            return {}
        pr = treated & (self.w[:, :width] < self.q[np.maximum(pdose, 1) - 1])
        return {"resp": self.resp.astype(np.int16), "patient_resp": pr.astype(np.int8)}


# ----------------------------------------------------------------------------- checkpoints
def _chunk_hash(spec: dict, true_tox: Sequence[float], seed: int, start: int, stop: int,
                max_n: int | None, timeline: dict | None = None,
                efficacy: Any = None) -> str:  # fmt: skip
    record = {"v": _CHECKPOINT_VERSION, "design": spec, "true_tox": [float(x) for x in true_tox],
              "seed": seed, "start": start, "stop": stop, "max_n": max_n, "rng": _RNG}
    if timeline is not None:  # calendar time (cohort-time keys stay as they were)
        record["timeline"] = timeline
    if efficacy is not None:  # (p_resp, rho): only then, so toxicity-only keys are unchanged
        record["efficacy"] = {"p_resp": [float(x) for x in efficacy[0]], "rho": efficacy[1],
                              "rng": _RNG_RESP}  # fmt: skip
    return data_sha256(json.dumps(record, sort_keys=True).encode())


# ----------------------------------------------------------------------------- one unit
@dataclass
class _Run:
    """Everything a worker needs to simulate, store and reduce one trial chunk of every
    design x scenario (picklable: sent to Dask workers)."""

    designs: dict[str, Design]
    curves: dict[str, np.ndarray]
    specs: dict[str, dict]
    seed: int
    max_n: int | None
    checkpoint_dir: str | None
    sink: ZarrSink | None
    reducer: OCReducer | None
    keep: bool
    efficacy: dict[str, np.ndarray] | None = None  # scenario -> p_resp
    rho: float = 0.0
    timeline: Any = None  # calendar time (bayes_dose.calendar_sim) when set
    staggering: Any = None
    window: float = 21.0
    timeline_spec: dict | None = None  # part of checkpoint keys


@dataclass
class _UnitResult:
    start: int
    stop: int
    results: dict[tuple[str, str], dict] | None
    reducer: OCReducer | None
    width: int  # longest trial (patients)
    slots: int  # patient columns of the chunk arrays


def _unit(run: _Run, start: int, stop: int,
          tick: Callable[[int], None] | None = None) -> _UnitResult:  # fmt: skip
    """Simulate (or reload) trials ``start..stop-1`` of every design x scenario, write them
    to the store, reduce them; the chunk's latent uniforms are generated once."""
    cache = _Uniforms()
    vcache = None
    if run.efficacy is not None:
        from .efficacy import response_uniforms

        vcache = _Uniforms(response_uniforms)
    results: dict[tuple[str, str], dict] = {}
    for si, (s, p) in enumerate(run.curves.items()):
        q = None if run.efficacy is None else run.efficacy[s]
        for gi, (g, d) in enumerate(run.designs.items()):
            res = None
            if run.checkpoint_dir is not None:
                key = _chunk_hash(run.specs[g], p, run.seed, start, stop, run.max_n,
                                  run.timeline_spec,
                                  None if q is None else (q, run.rho))  # fmt: skip
                path = Path(run.checkpoint_dir) / f"chunk-{key}.nc"
                meta = {"key": key, "design": g, "scenario": s, "start": start, "stop": stop}
                if path.exists():
                    res = load_chunk(path, meta)
            if res is None:
                if run.timeline is not None and getattr(d, "backfill", None) is not None:
                    from .backfill_calendar import run_backfill_calendar_chunk

                    res = run_backfill_calendar_chunk(
                        d, p, run.seed, start, stop, run.timeline, run.staggering, run.window,
                        run.max_n, lambda k: cache.get(run.seed, start, stop, k), q,
                        run.rho)  # fmt: skip
                elif run.timeline is not None:
                    from .calendar_sim import run_calendar_chunk

                    res = run_calendar_chunk(
                        d, p, run.seed, start, stop, run.timeline, run.staggering, run.window,
                        run.max_n, lambda k: cache.get(run.seed, start, stop, k), q, run.rho,
                        None if vcache is None else lambda k: vcache.get(run.seed, start, stop, k),
                    )  # fmt: skip
                elif getattr(d, "backfill", None) is not None:  # backfill: its own driver
                    from .backfill import run_backfill_chunk

                    res = run_backfill_chunk(d, p, run.seed, start, stop, run.max_n,
                                             lambda k: cache.get(run.seed, start, stop, k), q,
                                             run.rho)  # fmt: skip
                else:
                    res = run_chunk(
                        d, p, run.seed, start, stop, run.max_n,
                        lambda k: cache.get(run.seed, start, stop, k), q, run.rho,
                        None if vcache is None else lambda k: vcache.get(run.seed, start, stop, k),
                    )  # fmt: skip
                if run.checkpoint_dir is not None:
                    save_chunk(path, res, meta)
            if run.sink is not None:
                run.sink.write((gi, si), start, res)
            results[(g, s)] = res
            if tick is not None:  # local runs: the bar moves per design x scenario
                tick(stop - start)
    red = None
    if run.reducer is not None:
        red = copy.deepcopy(run.reducer)
        block = _block(results, list(run.designs), list(run.curves), run.efficacy is not None)
        if run.timeline is not None:  # the duration OCs' per-trial variables
            from .calendar_oc import TIME_VARS

            block.update(_block(results, list(run.designs), list(run.curves), keys=TIME_VARS),
                         trial_start=start)  # fmt: skip
        if run.reducer.backfill:  # zeros for designs without backfill, as in memory
            block.update(_backfill_block(results, list(run.designs), list(run.curves)))
        red.add(block)
    width = max(int(r["n_patients"].max(initial=0)) for r in results.values())
    slots = max(r["patient_dose"].shape[1] for r in results.values())
    return _UnitResult(start, stop, results if run.keep else None, red, width, slots)


def _block(results: Mapping[tuple[str, str], dict], names: list[str], snames: list[str],
           resp: bool = False, keys: tuple[str, ...] | None = None) -> dict:  # fmt: skip
    """Per-trial arrays of one chunk stacked as (design, scenario, trial[, dose])."""
    if keys is None:
        keys = ("selected", "is_mad", "n", "dlt", "stop_reason") + (("resp",) if resp else ())
    return {k: np.stack([np.stack([results[(g, s)][k] for s in snames]) for g in names])
            for k in keys}  # fmt: skip


def _has_backfill(designs: Mapping[str, Design]) -> bool:
    return any(getattr(d, "backfill", None) is not None for d in designs.values())


def _backfill_block(results: Mapping[tuple[str, str], dict], names: list[str],
                    snames: list[str]) -> dict:  # fmt: skip
    """``backfill_n`` (G, S, t, D) and ``n_backfill`` (G, S, t) of one chunk; zeros for
    designs without backfill."""
    out = {}
    for k in ("backfill_n", "n_backfill"):
        rows = []
        for g in names:
            row = []
            for s in snames:
                r = results[(g, s)]
                row.append(r[k] if k in r else np.zeros(
                    r["n"].shape if k == "backfill_n" else r["selected"].shape, dtype=np.int16))
            rows.append(np.stack(row))
        out[k] = np.stack(rows)
    return out


# ----------------------------------------------------------------------------- backends
def _run_local(run: _Run, chunks: list[tuple[int, int]], n_jobs: int,
               on_done: Callable[[_UnitResult], None],
               tick: Callable[[int], None] | None = None) -> None:  # fmt: skip
    if n_jobs <= 1:
        for a, b in chunks:
            on_done(_unit(run, a, b, tick))
        return
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        pending = set()
        it = iter(chunks)
        for a, b in it:  # at most 2 * n_jobs chunks in flight: memory stays bounded
            pending.add(pool.submit(_unit, run, a, b, tick))
            if len(pending) >= 2 * n_jobs:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in sorted(done, key=lambda f: f.result().start):
                    on_done(f.result())
        for f in sorted(pending, key=lambda f: f.result().start):
            on_done(f.result())


def _run_dask(run: _Run, chunks: list[tuple[int, int]], n_jobs: int, client: Any,
              on_done: Callable[[_UnitResult], None]) -> None:  # fmt: skip
    from dask.distributed import Client, LocalCluster, as_completed

    own: list[Any] = []
    if client is None:
        cluster = LocalCluster(
            processes=False, n_workers=1, threads_per_worker=max(n_jobs, 1),
            dashboard_address=":0",
        )  # fmt: skip
        client = Client(cluster)
        own = [client, cluster]
    elif isinstance(client, str):
        client = Client(client)
        own = [client]
    elif not isinstance(client, Client):
        raise ValueError(
            f"client must be None, a scheduler address or a dask Client, got {client!r}"
        )
    try:
        [shared] = client.scatter([run], broadcast=True, hash=False)
        futs = [client.submit(_unit, shared, a, b, pure=False) for a, b in chunks]
        for fut in as_completed(futs):
            on_done(fut.result())
            fut.release()
    finally:
        for obj in own:
            obj.close()


def default_chunk_size(
    designs: Mapping[str, Design], n_scenarios: int, n_trials: int, max_n: int | None = None,
    n_jobs: int = 1, backend: str = "local",
) -> int:  # fmt: skip
    """Trials per chunk: about :data:`CHUNK_SLOTS` patient slots per chunk over all designs x
    scenarios (a chunk takes about a second: the progress bar moves every few seconds),
    between 100 and 20,000 trials; with several workers at least ``4 * n_jobs`` chunks."""
    caps = [_patient_cap(d, max_n) or 6 * d.n_doses for d in designs.values()]
    size = math.ceil(CHUNK_SLOTS / (len(designs) * n_scenarios * max(caps)))
    size = min(max(size, 100), 20_000)
    if backend == "dask" or n_jobs > 1:
        size = min(size, math.ceil(n_trials / (4 * max(n_jobs, 2))))
    return max(1, min(size, n_trials))


def _patient_cap(d: Design, max_n: int | None) -> int | None:
    caps = [c for c in (max_n, d.max_n) if c is not None]
    return min(caps) if caps else None


def _store_cap(d: Design, max_n: int | None) -> int:
    """Patient columns a store keeps for design ``d``: its cap (else the guard); with
    backfill, its escalation patients plus the backfill drivers' bound on backfill
    patients (``max_total``, else ``ceil(ratio * E) + 1`` or ``2 E``, the larger; no
    ``ratio``: ``2 E``)."""
    bf = getattr(d, "backfill", None)
    if bf is None:
        return _patient_cap(d, max_n) or PATIENT_GUARD
    E = _patient_cap(d, max_n) or 6 * d.n_doses
    B = bf.max_total
    if B is None:  # ratio=None: calendar time only
        B = max(2 * E, 0 if bf.ratio is None else int(np.ceil(bf.ratio * E)) + 1)
    return E + int(B)


# ----------------------------------------------------------------------------- inputs
def _curve(name: str, curve: Any) -> np.ndarray:
    """One true DLT curve as a 1-D float array, or a ValueError naming the scenario."""
    where = f"scenario {name!r}" if name != "true_tox" else "true_tox"
    if isinstance(curve, Mapping):
        raise ValueError(
            f"{where}: a true DLT curve is a list of probabilities (level 1 first), got a dict "
            f"with keys {list(curve)[:5]}; several named curves go in scenarios={{name: [...]}}"
        )
    if isinstance(curve, (str, bytes)):
        raise ValueError(f"{where}: a true DLT curve is a list of probabilities, got {curve!r}")
    try:
        raw = np.asarray(curve)
    except (TypeError, ValueError) as exc:  # ragged nesting
        raise ValueError(
            f"{where}: a true DLT curve is one list of probabilities; got {curve!r} ({exc})"
        ) from None
    if raw.ndim == 2 and name == "true_tox":
        raise ValueError(
            "true_tox is one curve (a 1-D list); for several curves pass "
            "scenarios={name: [...], ...}"
        )
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError(f"{where}: true_tox must be a 1-D list of probabilities")
    if raw.dtype.kind == "c" or any(isinstance(v, complex) for v in raw.tolist()):
        raise ValueError(f"{where}: true_tox must be real probabilities, got {raw.tolist()}")
    if raw.dtype.kind == "b" or any(isinstance(v, (bool, np.bool_)) for v in raw.tolist()):
        raise ValueError(f"{where}: true_tox must be probabilities, not booleans: {raw.tolist()}")
    if raw.dtype.kind in "USO" and any(isinstance(v, (str, bytes)) for v in raw.tolist()):
        raise ValueError(f"{where}: true_tox must be numbers, got {raw.tolist()}")
    try:
        p = raw.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: true_tox must be numbers, got {raw.tolist()}") from None
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"{where}: true_tox must be in [0, 1], got {p.tolist()}")
    warn_if_not_monotone(where, p, "simulated as given", stacklevel=5)
    return p


def _scenario_table(
    true_tox: Sequence[float] | None, scenarios: Mapping[str, Sequence[float]] | None
) -> dict[str, tuple[np.ndarray, float]]:
    if (true_tox is None) == (scenarios is None):
        raise ValueError("give exactly one of true_tox=[...] or scenarios={name: [...]}")
    if scenarios is not None and not isinstance(scenarios, Mapping):
        raise ValueError(
            "scenarios must be a dict {name: [p1, p2, ...]}, got "
            f"{type(scenarios).__name__}; for one curve pass true_tox=[...]"
        )
    items = {"true_tox": true_tox} if scenarios is None else dict(scenarios)
    if not items:
        raise ValueError("scenarios is empty")
    out = {}
    given: dict[str, Any] = {}
    for name, curve in items.items():
        if str(name) in given:  # 1 and "1": one column of results, one curve lost
            raise ValueError(f"scenario names {given[str(name)]!r} and {name!r} are the same name")
        given[str(name)] = name
        p = _curve(str(name), curve)
        out[str(name)] = (p, float(getattr(curve, "target", np.nan)))
    return out


def _check_designs(
    designs: Mapping[str, Design], n_doses: set[int], max_n: int | None = None,
    timeline: Any = None,
) -> int:
    if not isinstance(designs, Mapping) or not designs:
        raise ValueError("designs must be a non-empty dict {name: Design}")
    names = [n for n in designs if not isinstance(n, str)]
    if names:  # names label the results (a 'design' coordinate of text)
        raise ValueError(f"design names must be text, got {names[0]!r} in {list(designs)}")
    for name, d in designs.items():
        if not isinstance(d, Design):
            raise ValueError(f"designs[{name!r}] is not a Design: {type(d).__name__}")
        if getattr(d, "tite_window", None) is not None and timeline is None:
            raise ValueError(
                f"designs[{name!r}] ({type(d).__name__}) has tite_window={d.tite_window:g} days, "
                "but cohort-time patients have no calendar time (every follow-up would count as "
                "complete, i.e. the plain design): pass timeline=bd.Timeline(...) to simulate "
                "it in calendar time, or simulate it without tite_window"
            )
        if d.requires_other_arms:
            raise ValueError(
                f"designs[{name!r}] ({type(d).__name__}) decides from another arm's data "
                "that simulated counts lack; give it that data (CombinationBLRM(mono_data=...))"
            )
        if max_n is None and d.max_n is None and d.stopping is None and not d.self_limiting:
            raise ValueError(
                f"designs[{name!r}] ({type(d).__name__}) has no max_n and no stopping rule, so "
                "its trials need not end: pass max_n= to simulate() or give the design max_n"
            )
    levels = {d.n_doses for d in designs.values()}
    if len(levels) != 1:
        raise ValueError(
            "all designs must have the same number of dose levels, got "
            + ", ".join(f"{k}: {d.n_doses}" for k, d in designs.items())
        )
    D = levels.pop()
    if n_doses != {D}:
        raise ValueError(f"scenarios have {sorted(n_doses)} levels, the designs {D}")
    if D > 127:
        raise ValueError(f"at most 127 dose levels are supported, got {D}")
    return D


def _chunks(n_trials: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(a, min(a + chunk_size, n_trials)) for a in range(0, n_trials, chunk_size)]



# ----------------------------------------------------------------------------- assembly
_DTYPES = {
    "n": np.int16, "dlt": np.int16, "patient_dose": np.int8, "patient_dlt": np.int8,
    "selected": np.int8, "is_mad": bool, "stop_reason": np.int16, "n_patients": np.int16,
    "n_cohorts": np.int16,
}  # fmt: skip
_RESP_DTYPES = {"resp": np.int16, "patient_resp": np.int8}


def _assemble(
    designs: Mapping[str, Design],
    table: Mapping[str, tuple[np.ndarray, float]],
    results: Mapping[tuple[str, str], list[tuple[int, dict]]] | None,
    n_trials: int,
    D: int,
    manifest: dict,
    arrays: Mapping[str, Any] | None = None,
    P: int | None = None,
    efficacy: Mapping[str, np.ndarray] | None = None,
    rho: float = 0.0,
) -> xr.Dataset:
    """The run's Dataset from its chunk results (or from given ``arrays`` of width ``P``)."""
    names, snames = list(designs), list(table)
    G, S = len(names), len(snames)
    if arrays is not None:
        out = dict(arrays)
    else:
        merged = {key: sorted(parts, key=lambda x: x[0]) for key, parts in results.items()}
        P = max((r["patient_dose"].shape[1] for parts in merged.values() for _, r in parts),
                default=1)  # fmt: skip
        width = max(
            max((int(r["n_patients"].max(initial=0)) for parts in merged.values()
                 for _, r in parts), default=0),
            1,
        )  # fmt: skip
        P = min(P, width)
        out = {}
        dtypes = _DTYPES | (_RESP_DTYPES if efficacy is not None else {})
        for var, dt in dtypes.items():
            cols = (D,) if var in ("n", "dlt", "resp") else (P,) if var.startswith("patient_") else ()
            out[var] = np.zeros((G, S, n_trials, *cols), dtype=dt)
        for gi, g in enumerate(names):
            for si, s in enumerate(snames):
                for a, r in merged[(g, s)]:
                    b = a + len(r["selected"])
                    if "duration_days" in r:
                        _put_timeline(out, r, gi, si, a, b, (G, S, n_trials), P)
                    if "backfill_n" in r:  # backfill (bayes_dose.backfill)
                        _put_backfill(out, r, gi, si, a, b, (G, S, n_trials), D)
                    if "n_flagged_decisions" in r:  # kept only when some are flagged
                        out.setdefault("n_flagged_decisions", np.zeros((G, S, n_trials), np.int16))
                        out["n_flagged_decisions"][gi, si, a:b] = r["n_flagged_decisions"]
                    for var in _CHUNK_VARS + (tuple(_RESP_DTYPES) if efficacy is not None else ()):
                        v = r[var]
                        if var.startswith("patient_"):
                            out[var][gi, si, a:b, : v.shape[1]] = v[:, :P]
                        else:
                            out[var][gi, si, a:b] = v
                merged[(g, s)] = []  # release the chunks as they are copied
                results[(g, s)].clear()
    mg = next((d.doses_mg for d in designs.values() if d.doses_mg is not None), None)
    dims_tp = ("design", "scenario", "trial")
    extra = _timeline_vars(out, dims_tp)
    ds = xr.Dataset(
        {
            "patient_dose": (
                (*dims_tp, "patient"),
                out["patient_dose"],
                {"long_name": "dose level of the patient (1-based; 0 = no patient)"},
            ),
            "patient_dlt": ((*dims_tp, "patient"), out["patient_dlt"], {"long_name": "DLT (0/1)"}),
            "n": ((*dims_tp, "dose"), out["n"], {"long_name": "patients treated per dose"}),
            "dlt": ((*dims_tp, "dose"), out["dlt"], {"long_name": "DLTs per dose"}),
            "selected": (
                dims_tp,
                out["selected"],
                {"long_name": "selected MTD level (1-based; 0 = none)"},
            ),
            "is_mad": (
                dims_tp,
                out["is_mad"],
                {"long_name": "selection is a MAD (no MTD reached)"},
            ),
            "stop_reason": (
                dims_tp,
                out["stop_reason"],
                {"long_name": "reason code of the stop (index into attrs['reasons'][design])"},
            ),
            "n_patients": (dims_tp, out["n_patients"], {"long_name": "trial length (patients)"}),
            "n_cohorts": (dims_tp, out["n_cohorts"], {"long_name": "cohorts treated"}),
            "true_tox": (("scenario", "dose"), np.stack([table[s][0] for s in snames])),
            "target": (("scenario",), np.array([table[s][1] for s in snames])),
            **extra,
            **_backfill_vars(out, dims_tp),
            **_flag_vars(out, dims_tp),
            **_resp_vars(out, efficacy, snames, dims_tp),
        },
        coords={
            "design": ("design", np.array(names, dtype=object)),
            "scenario": ("scenario", np.array(snames, dtype=object)),
            "trial": ("trial", np.arange(n_trials, dtype=np.int64)),
            "patient": ("patient", np.arange(P, dtype=np.int64)),
            "dose_level": ("dose", np.arange(1, D + 1, dtype=np.int64)),
            "dose_mg": ("dose", np.asarray(mg if mg else [np.nan] * D, dtype=float)),
        },
        attrs={
            "title": "bayes_dose simulated trials (common random numbers)",
            "manifest": json.dumps(manifest, sort_keys=True),
            "reasons": json.dumps({g: list(designs[g].reasons) for g in names}),
        },
    )
    if efficacy is not None:
        ds.attrs["correlation"] = float(rho)
    return ds


def _put_timeline(out: dict, r: dict, gi: int, si: int, a: int, b: int,
                  shape: tuple[int, int, int], P: int) -> None:
    """Copy a calendar-time chunk's variables into the run's arrays (created on first use)."""
    from .calendar_sim import TIMELINE_VARS

    for var in TIMELINE_VARS:
        v = np.asarray(r[var])
        if var not in out:
            fill = fill_value(var, v.dtype)
            cols = (P,) if var.startswith("patient_") else ()
            out[var] = np.full((*shape, *cols), fill, dtype=v.dtype)
        if var.startswith("patient_"):
            w = min(v.shape[1], P)
            out[var][gi, si, a:b, :w] = v[:, :w]
        else:
            out[var][gi, si, a:b] = v


def _put_backfill(out: dict, r: dict, gi: int, si: int, a: int, b: int,
                  shape: tuple[int, int, int], D: int) -> None:
    """Copy a backfill chunk's ``backfill_n`` / ``n_backfill`` (zeros for other designs)."""
    if "backfill_n" not in out:
        out["backfill_n"] = np.zeros((*shape, D), dtype=np.int16)
        out["n_backfill"] = np.zeros(shape, dtype=np.int16)
    out["backfill_n"][gi, si, a:b] = r["backfill_n"]
    out["n_backfill"][gi, si, a:b] = r["n_backfill"]


def _backfill_vars(out: dict, dims_tp: tuple[str, ...]) -> dict:
    from .backfill import BACKFILL_DOCS

    if "backfill_n" not in out:
        return {}
    return {
        "backfill_n": ((*dims_tp, "dose"), out["backfill_n"],
                       {"long_name": BACKFILL_DOCS["backfill_n"]}),
        "n_backfill": (dims_tp, out["n_backfill"], {"long_name": BACKFILL_DOCS["n_backfill"]}),
    }  # fmt: skip


def _timeline_vars(out: dict, dims_tp: tuple[str, ...]) -> dict:
    from .calendar_sim import TIMELINE_DOCS

    return {
        var: ((*dims_tp, "patient") if var.startswith("patient_") else dims_tp, out[var],
              {"long_name": doc})
        for var, doc in TIMELINE_DOCS.items() if var in out
    }  # fmt: skip


def _flag_vars(out: Mapping[str, Any], dims_tp: tuple[str, ...]) -> dict[str, Any]:
    """``n_flagged_decisions`` when some decision of the run rested on a flagged grid
    result (absent: none did; nothing to report)."""
    f = out.get("n_flagged_decisions")
    if f is None or not f.any():
        return {}
    return {"n_flagged_decisions": (dims_tp, f, {
        "long_name": "decisions resting on a grid result flagged as unverified "
                     "(Estimate.grid_flags: mass at the grid edge, refinement or IS ESS short)"})}


def _resp_vars(out: Mapping[str, Any], efficacy: Mapping[str, np.ndarray] | None,
               snames: list[str], dims_tp: tuple[str, ...]) -> dict[str, Any]:  # fmt: skip
    """The response variables of a run with ``efficacy`` (none otherwise)."""
    if efficacy is None:
        return {}
    return {
        "resp": ((*dims_tp, "dose"), out["resp"], {"long_name": "responders per dose"}),
        "patient_resp": ((*dims_tp, "patient"), out["patient_resp"],
                         {"long_name": "response (0/1)"}),
        "true_resp": (("scenario", "dose"), np.stack([efficacy[s] for s in snames]),
                      {"long_name": "true response probability"}),
    }  # fmt: skip


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool) -> Any:
    show = flag("simulate", "progress", show)
    """A tqdm bar over trials x designs x scenarios (imported only when shown: tqdm.auto
    warns in kernels without widgets)."""
    if not show or not total:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="simulate", unit="trial", unit_scale=True)


# ----------------------------------------------------------------------------- public
@dataclass
class SimulationSummary:
    """Operating characteristics of a run reduced chunk by chunk (see :func:`simulate_oc`).

    Attributes
    ----------
    oc : xarray.Dataset
        :func:`bayes_dose.operating_characteristics` of all trials.
    concordance : xarray.Dataset
        :func:`bayes_dose.concordance` of all trials.
    sims : xarray.Dataset or None
        The trials, lazily opened from the Zarr store (None without ``store``).
    manifest : dict
        The run's manifest.
    """

    oc: xr.Dataset
    concordance: xr.Dataset
    sims: xr.Dataset | None
    manifest: dict[str, Any]


def _prepare(designs: Any, true_tox: Any, scenarios: Any, n_trials: Any, seed: Any, max_n: Any,
             n_jobs: Any, backend: Any, chunk_size: Any, timeline: Any = None,
             protocol: Any = None, efficacy: Any = None,
             correlation: Any = 0.0, owner: str = "simulate") -> dict[str, Any]:  # fmt: skip
    table = _scenario_table(true_tox, scenarios)
    D = _check_designs(designs, {p.size for p, _ in table.values()}, max_n, timeline)
    calendar = None
    if timeline is not None:
        from .calendar_sim import calendar_settings

        calendar = calendar_settings(designs, timeline, protocol)
    from .efficacy import check_correlation, check_efficacy

    rho = check_correlation(correlation)
    eff = None
    if efficacy is not None:
        eff = check_efficacy(efficacy, {s: p for s, (p, _) in table.items()})
    elif rho != 0:
        raise ValueError("correlation= without efficacy=: give efficacy={scenario: [p_resp]}")
    needs = [g for g, d in designs.items() if getattr(d, "uses_efficacy", False)]
    if needs and eff is None:
        raise ValueError(
            f"designs {needs} decide on response: give efficacy={{scenario: [p_resp per dose]}}"
        )
    n_trials = whole(owner, "n_trials", n_trials, low=1)
    seed = check_seed(seed)
    max_n = None if max_n is None else whole(owner, "max_n", max_n, low=1)
    if backend not in ("local", "dask"):
        raise ValueError(f"backend must be 'local' or 'dask', got {backend!r}")
    n_jobs = whole(owner, "n_jobs", n_jobs, low=1)
    if chunk_size is None:
        chunk_size = default_chunk_size(designs, len(table), n_trials, max_n, n_jobs, backend)
    chunk_size = whole(owner, "chunk_size", chunk_size, low=1)

    specs = {g: d.spec() for g, d in designs.items()}
    inputs = {
        "designs": specs,
        "scenarios": {
            s: {"true_tox": p.tolist(), "target": None if np.isnan(t) else t}
            for s, (p, t) in table.items()
        },
        "seed": seed,
        "n_trials": n_trials,
        "max_n": max_n,
        "rng": _RNG,
    }
    if calendar is not None:  # cohort-time manifests (and their hashes) stay as they were
        inputs["timeline"] = calendar["spec"]
    if eff is not None:  # only then: toxicity-only manifests and hashes are unchanged
        inputs["efficacy"] = {"p_resp": {s: q.tolist() for s, q in eff.items()}, "correlation": rho,
                              "rng": _RNG_RESP}  # fmt: skip
    manifest = build_manifest(
        numpy=np.__version__,
        xarray=xr.__version__,
        **inputs,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        input_hash=data_sha256(json.dumps(inputs, sort_keys=True).encode()),
    )
    return dict(table=table, D=D, n_trials=n_trials, seed=seed, max_n=max_n, n_jobs=n_jobs,
                chunk_size=chunk_size, specs=specs, manifest=manifest,
                calendar=calendar, efficacy=eff, rho=rho)  # fmt: skip


def _reducer(designs: Mapping[str, Design], table: Mapping[str, tuple[np.ndarray, float]],
             specs: dict, target: Any, mg: Any, D: int, efficacy: Any = None,
             rho: float = 0.0, calendar_trials: int | None = None,
             backfill: bool = False) -> OCReducer:  # fmt: skip
    """The run's reducer (a calendar-time run, ``calendar_trials`` trials: also the
    duration OCs, :class:`~bayes_dose.calendar_oc.CalendarOCReducer`; ``backfill``: also
    the backfill OCs)."""
    names, snames = list(designs), list(table)
    tgt = target_table(names, snames, specs, [table[s][1] for s in snames], target)
    cls: Any = OCReducer
    extra: dict[str, Any] = {}
    if calendar_trials is not None:
        from .calendar_oc import CalendarOCReducer

        cls, extra = CalendarOCReducer, {"n_trials": calendar_trials}
    return cls(
        names, snames, np.stack([table[s][0] for s in snames]), tgt,
        {g: list(designs[g].reasons) for g in names},
        np.asarray(mg if mg else [np.nan] * D, dtype=float),
        true_resp=None if efficacy is None else np.stack([efficacy[s] for s in snames]),
        correlation=rho, specs=specs, backfill=backfill, **extra,
    )  # fmt: skip


def _template(designs: Mapping[str, Design], table: Mapping[str, tuple[np.ndarray, float]],
              n_trials: int, D: int, P: int, chunk: int, manifest: dict,
              efficacy: Any = None, rho: float = 0.0,
              calendar: bool = False, backfill: bool = False) -> xr.Dataset:  # fmt: skip
    """The store's layout: :func:`_assemble`'s Dataset with lazy arrays of the in-memory
    fill (zeros; a calendar-time run's variables their own, see
    :func:`~bayes_dose.sim_io.fill_value`)."""
    import dask.array as da

    G, S = len(designs), len(table)
    pc = min(P, ZarrSink.PATIENT_CHUNK)
    shapes = {"n": ((n_trials, D), (chunk, D)), "dlt": ((n_trials, D), (chunk, D)),
              "patient_dose": ((n_trials, P), (chunk, pc)),
              "patient_dlt": ((n_trials, P), (chunk, pc)),
              "resp": ((n_trials, D), (chunk, D)),
              "patient_resp": ((n_trials, P), (chunk, pc))}  # fmt: skip
    arrays = {}
    for var, dt in (_DTYPES | (_RESP_DTYPES if efficacy is not None else {})).items():
        shape, ch = shapes.get(var, ((n_trials,), (chunk,)))
        arrays[var] = da.zeros((G, S, *shape), dtype=dt, chunks=(1, 1, *ch))
    if calendar:
        from .calendar_sim import TIMELINE_VARS
        from .sim_io import TIMELINE_DTYPES

        for var in TIMELINE_VARS:
            shape, ch = shapes.get(var, ((n_trials, P), (chunk, pc)) if var.startswith(
                "patient_") else ((n_trials,), (chunk,)))  # fmt: skip
            dt = np.dtype(TIMELINE_DTYPES[var])
            arrays[var] = da.full((G, S, *shape), fill_value(var, dt), dtype=dt,
                                  chunks=(1, 1, *ch))  # fmt: skip
    if backfill:  # int16 zeros, as _put_backfill in memory
        arrays["backfill_n"] = da.zeros((G, S, n_trials, D), dtype=np.int16,
                                        chunks=(1, 1, chunk, D))  # fmt: skip
        arrays["n_backfill"] = da.zeros((G, S, n_trials), dtype=np.int16, chunks=(1, 1, chunk))
    return _assemble(designs, table, None, n_trials, D, manifest, arrays=arrays, P=P,
                     efficacy=efficacy, rho=rho)  # fmt: skip


def _execute(
    designs: Mapping[str, Design], prep: dict, *, n_jobs: int, backend: str, client: Any,
    checkpoint_dir: Any, progress: bool, store: Any, keep: bool, target: Any,
) -> tuple[dict | None, OCReducer | None, int, int, ZarrSink | None]:  # fmt: skip
    table, D, n_trials, chunk = prep["table"], prep["D"], prep["n_trials"], prep["chunk_size"]
    ckpt = None
    if checkpoint_dir is not None:
        ckpt = check_writable_dir(checkpoint_dir, "checkpoint folder")
        gone = remove_orphans(ckpt, "chunk-*.tmp")
        if gone:
            warnings.warn(
                f"removed {len(gone)} temporary checkpoint file(s) left by a killed run in "
                f"{str(ckpt)!r}", CheckpointWarning, stacklevel=3,
            )  # fmt: skip
    mg = next((d.doses_mg for d in designs.values() if d.doses_mg is not None), None)
    sink = None
    if store is not None:
        sink = ZarrSink(store)
        caps = [_store_cap(d, prep["max_n"]) for d in designs.values()]
        P = min(max(caps), PATIENT_GUARD)
        sink.create(_template(designs, table, n_trials, D, P, chunk, prep["manifest"],
                              prep["efficacy"], prep["rho"],
                              prep.get("calendar") is not None, _has_backfill(designs)))
    reducer = None
    if store is not None or not keep:
        reducer = _reducer(designs, table, prep["specs"], target, mg, D, prep["efficacy"],
                           prep["rho"],
                           n_trials if prep.get("calendar") is not None else None,
                           _has_backfill(designs))  # fmt: skip
    run = _Run(dict(designs), {s: p for s, (p, _) in table.items()}, prep["specs"], prep["seed"],
               prep["max_n"], None if ckpt is None else str(ckpt), sink,
               None if reducer is None else copy.deepcopy(reducer), keep, prep["efficacy"],
               prep["rho"])  # fmt: skip
    if prep.get("calendar") is not None:
        cal = prep["calendar"]
        run.timeline, run.staggering, run.window = cal["timeline"], cal["staggering"], cal["window"]
        run.timeline_spec = cal["spec"]
    results: dict[tuple[str, str], list[tuple[int, dict]]] | None = (
        {(g, s): [] for g in designs for s in table} if keep else None
    )
    state = {"width": 0, "slots": 1}
    GS = len(designs) * len(table)
    bar = _progress_bar(n_trials * GS, progress)

    def on_done(u: _UnitResult) -> None:
        if results is not None and u.results is not None:
            for key, res in u.results.items():
                results[key].append((u.start, res))
        if reducer is not None and u.reducer is not None:
            reducer.merge(u.reducer)
        state["width"] = max(state["width"], u.width)
        state["slots"] = max(state["slots"], u.slots)
        if backend != "local":
            bar.update((u.stop - u.start) * GS)

    chunks = _chunks(n_trials, chunk)
    try:
        if backend == "local":
            from contextlib import nullcontext

            from threadpoolctl import threadpool_limits

            # with several worker threads, one BLAS thread each: BLAS threads on top of the
            # workers oversubscribe the cores (TITE-CRM, 10,000 trials: 2.7 -> 2.1 s)
            with threadpool_limits(limits=1, user_api="blas") if n_jobs > 1 else nullcontext():
                _run_local(run, chunks, n_jobs, on_done, bar.update)
        else:
            _run_dask(run, chunks, n_jobs, client, on_done)
    except BaseException:
        if sink is not None:
            sink.abort()
        raise
    finally:
        bar.close()
    return results, reducer, state["width"], state["slots"], sink


def _finish_store(sink: ZarrSink, reducer: OCReducer, width: int) -> xr.Dataset:
    attrs = {"patient_width": max(width, 1)}
    sink.finish(attrs, {"oc": reducer.operating_characteristics(),
                        "concordance": reducer.concordance()})  # fmt: skip
    return open_store(sink.path)


def open_store(path: str | os.PathLike) -> xr.Dataset:
    """Open the trials of a store written by ``simulate(..., store=path)`` lazily (Dask).

    ``open_store(path).load()`` equals the in-memory result of the same run; the OCs and
    concordance computed while the store was written are in its groups ``"oc"`` and
    ``"concordance"`` (``xarray.open_zarr(path, group="oc")``).
    """
    ds = xr.open_zarr(path, zarr_format=2)
    width = int(ds.attrs.pop("patient_width", ds.sizes["patient"]))
    return ds.isel(patient=slice(0, width))


def simulate(
    designs: Mapping[str, Design],
    true_tox: Sequence[float] | None = None,
    *,
    scenarios: Mapping[str, Sequence[float]] | None = None,
    n_trials: int = 1000,
    seed: int = 0,
    max_n: int | None = None,
    n_jobs: int = 1,
    backend: str = "local",
    chunk_size: int | None = None,
    client: Any = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
    store: str | os.PathLike | None = None,
    timeline: Any = None,
    protocol: Any = None,
    efficacy: Mapping[str, Sequence[float]] | None = None,
    correlation: float = 0.0,
) -> xr.Dataset:
    """Simulate every design on every scenario with common random numbers.

    Parameters
    ----------
    designs : dict of str to Design
        Designs to compare (same number of dose levels).  A TITE design (``tite_window``)
        needs ``timeline`` (in cohort time every follow-up would be complete: an error,
        never the plain design run silently).
    true_tox : sequence of float, optional
        One true DLT curve (scenario name ``"true_tox"``); or give ``scenarios``.
    scenarios : dict of str to sequence of float, optional
        Named curves, e.g. ``bd.scenarios.library("mono")`` (their ``target`` is kept).
        A curve that is not monotone is simulated as given, with a warning.
    n_trials : int
        Trials per design and scenario (an integer; ``2.7`` or ``True`` are errors).
    seed : int
        Seed of the run; trial ``t``'s patients are a pure function of ``(seed, t)``.
    max_n : int, optional
        Cap on patients per trial (stop reason: maximum sample size).  A design with
        neither this nor its own ``max_n`` must stop by its rules (e.g. 3+3).
    n_jobs : int
        Threads (local) or worker threads of the default Dask LocalCluster.
    backend : {"local", "dask"}
        ``"dask"`` submits one task per trial chunk (all designs x scenarios) to a
        ``dask.distributed`` Client; workers write checkpoints and the store themselves.
    chunk_size : int, optional
        Trials per chunk (default :func:`default_chunk_size`: about a second of work per
        chunk).  Does not change the numbers.
    client : dask.distributed.Client or str, optional
        Client or scheduler address for ``backend="dask"`` (default: a LocalCluster with
        ``processes=False``, closed afterwards).
    checkpoint_dir : path, optional
        Finished chunks are written there as verified NetCDF files (:mod:`.sim_io`): a
        rerun with the same arguments reloads them; a swapped, edited or truncated file is
        reported (:class:`~bayes_dose.sim_io.CheckpointWarning`) and recomputed.
    progress : bool
        Show a tqdm progress bar over trials x designs x scenarios (locally it moves after
        each design x scenario of a chunk; on Dask after each chunk).
    store : path, optional
        Write the trials chunk by chunk to this Zarr store (created atomically: built
        beside it and renamed when complete) and return it lazily opened
        (:func:`open_store`); memory stays bounded.  The store also holds the OCs and
        concordance (groups ``"oc"``, ``"concordance"``).  See also :func:`simulate_oc`.
    timeline : Timeline, optional
        Simulate in calendar time (:mod:`bayes_dose.calendar_sim`): arrivals, DLT onset,
        staggering, holds; TITE designs (``tite_window``) decide with pending patients.
        Adds per trial ``duration_days``, ``suspended_days``, ``n_turned_away``,
        ``n_queued``, ``mean_wait_days``, ``max_wait_days``, ``max_pending`` and per
        patient ``patient_arrival_day``, ``patient_dose_day``, ``patient_dlt_day`` (NaN:
        no DLT), ``patient_pending`` (patients pending when the patient's dose was decided).
        Checkpoints work as in cohort time (keys include the timeline); with ``store``
        these variables are written chunk by chunk too, and the store's ``"oc"`` group
        has the duration OCs (:func:`~bayes_dose.calendar_oc.time_characteristics`).
    protocol : Protocol, optional
        Source of the DLT window and ``staggering`` for ``timeline`` (default: the
        defaults of :class:`~bayes_dose.Protocol`: 21 days, 24 h, 7 days).
    efficacy : dict of str to sequence of float, optional
        True response probability per dose for every scenario (``{"true_tox": [...]}``
        with one ``true_tox`` curve).  Each patient then also has a response, drawn
        jointly with the DLT (Gaussian copula, :mod:`bayes_dose.efficacy`); toxicity draws
        and results of designs that ignore response are unchanged.  Needed by designs
        that decide on response (BOIN12).  With ``timeline`` the response is the same
        draw and is known to the design on ``Timeline.response_day`` (default: when the
        patient's DLT window completes); BOIN12 holds until every treated patient is
        assessed (:class:`bayes_dose.calendar_sim._CalendarEfficacy`).
    correlation : float
        Correlation in (-1, 1) of the copula's latent normals (0: independent).

    Returns
    -------
    xarray.Dataset
        Dims ``design``, ``scenario``, ``trial``, ``dose``, ``patient``; variables
        ``patient_dose``, ``patient_dlt``, ``n``, ``dlt``, ``selected``, ``is_mad``,
        ``stop_reason``, ``n_patients``, ``n_cohorts``, ``true_tox``, ``target``; attrs
        ``manifest`` (JSON: versions, design specs, seed, scenarios, n_trials, date,
        input hash) and ``reasons`` (JSON: reason templates per design).  With
        ``efficacy`` also ``resp`` (responders per trial and dose), ``patient_resp`` and
        ``true_resp``, and attr ``correlation``.  When some decision rested on a grid
        result flagged as unverified (``Estimate.grid_flags``), also
        ``n_flagged_decisions`` (design, scenario, trial) (not kept with ``store=``: a
        warning gives the count); :func:`bayes_dose.operating_characteristics` then adds
        ``p_flagged`` and ``mean_flagged_decisions``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"3+3": bd.ThreePlusThree(5)}, [0.05, 0.15, 0.3, 0.45, 0.6],
    ...                    n_trials=200, seed=1, progress=False)
    >>> dict(sims.sizes)["trial"], int(sims.selected.max()) <= 5
    (200, True)
    """
    if timeline is None and protocol is not None:
        raise ValueError("simulate: protocol= is read only with timeline= (calendar time)")
    prep = _prepare(designs, true_tox, scenarios, n_trials, seed, max_n, n_jobs, backend,
                    chunk_size, timeline, protocol, efficacy=efficacy,
                    correlation=correlation)  # fmt: skip
    results, reducer, width, _, sink = _execute(
        designs, prep, n_jobs=prep["n_jobs"], backend=backend, client=client,
        checkpoint_dir=checkpoint_dir, progress=progress, store=store, keep=store is None,
        target=None,
    )  # fmt: skip
    if sink is not None:
        return _finish_store(sink, reducer, width)
    return _assemble(designs, prep["table"], results, prep["n_trials"], prep["D"],
                     prep["manifest"], efficacy=prep["efficacy"], rho=prep["rho"])  # fmt: skip


def simulate_oc(
    designs: Mapping[str, Design],
    true_tox: Sequence[float] | None = None,
    *,
    scenarios: Mapping[str, Sequence[float]] | None = None,
    n_trials: int = 1000,
    seed: int = 0,
    max_n: int | None = None,
    n_jobs: int = 1,
    backend: str = "local",
    chunk_size: int | None = None,
    client: Any = None,
    checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
    store: str | os.PathLike | None = None,
    target: float | Mapping[str, float] | None = None,
    efficacy: Mapping[str, Sequence[float]] | None = None,
    correlation: float = 0.0,
    timeline: Any = None,
    protocol: Any = None,
) -> SimulationSummary:
    """Simulate like :func:`simulate` but keep only the reductions: operating
    characteristics and concordance computed chunk by chunk, in bounded memory.

    The numbers are exactly those of ``operating_characteristics(simulate(...), target)``
    and ``concordance(simulate(...))`` with the same arguments (the reducer sums integers;
    :class:`bayes_dose.metrics.OCReducer`), for any chunking, ``n_jobs`` or backend.
    Parameters as in :func:`simulate` (including ``efficacy``, ``correlation``, ``timeline``,
    ``protocol``); ``target`` as in :func:`bayes_dose.operating_characteristics`.  With
    ``timeline`` the OCs add the duration OCs (``mean_duration_months``,
    ``duration_months_q``, ...; :func:`~bayes_dose.calendar_oc.time_characteristics`),
    equal to those of the in-memory run; for them the reducer keeps a few numbers per
    trial (:class:`~bayes_dose.calendar_oc.CalendarOCReducer`), never the patients.  With
    ``store`` the trials are also written to a Zarr store and ``.sims`` opens them lazily.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> curve = [0.05, 0.15, 0.3, 0.45, 0.6]
    >>> res = bd.simulate_oc({"3+3": bd.ThreePlusThree(5)}, curve, n_trials=300, seed=1,
    ...                      progress=False)
    >>> full = bd.operating_characteristics(bd.simulate({"3+3": bd.ThreePlusThree(5)}, curve,
    ...                                     n_trials=300, seed=1, progress=False))
    >>> bool((res.oc.p_select == full.p_select).all()), res.sims is None
    (True, True)
    """
    if timeline is None and protocol is not None:
        raise ValueError("simulate_oc: protocol= is read only with timeline= (calendar time)")
    prep = _prepare(designs, true_tox, scenarios, n_trials, seed, max_n, n_jobs, backend,
                    chunk_size, timeline, protocol, efficacy=efficacy,
                    correlation=correlation, owner="simulate_oc")  # fmt: skip
    _, reducer, width, _, sink = _execute(
        designs, prep, n_jobs=prep["n_jobs"], backend=backend, client=client,
        checkpoint_dir=checkpoint_dir, progress=progress, store=store, keep=False,
        target=target,
    )  # fmt: skip
    sims = None
    if sink is not None:
        sims = _finish_store(sink, reducer, width)
    return SimulationSummary(reducer.operating_characteristics(), reducer.concordance(), sims,
                             prep["manifest"])  # fmt: skip


def manifest(sims: xr.Dataset) -> dict[str, Any]:
    """The manifest of a simulation result as a dict."""
    return json.loads(sims.attrs["manifest"])


def reasons(sims: xr.Dataset) -> dict[str, list[str]]:
    """Reason templates per design (index = ``stop_reason`` code)."""
    return json.loads(sims.attrs["reasons"])
