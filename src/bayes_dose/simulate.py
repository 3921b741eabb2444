"""Simulate trials of several designs on the same patients (common random numbers).

For each design x scenario, all trials advance together: one vectorised
``design.decide`` per cohort over the trials still running (a loop over cohorts, never
over trials).  Patient ``k`` of trial ``t`` carries the latent uniform ``u[t, k]``
(:mod:`bayes_dose.crn`, a pure function of ``(seed, t, k)``) and has a DLT iff
``u[t, k] < p_true[dose]``, whatever the design or scenario.  Trials are cut into chunks;
a chunk's numbers depend only on its trial indices, so results are bit-identical for any
``n_jobs``, chunking and backend (local threads or Dask distributed).  Finished chunks
can be checkpointed to disk and are reloaded by a rerun with the same arguments.

Simulated patients have no grade-2 toxicities (``DoseData.grade2 = 0``), so titration
ends at the first DLT.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .crn import latent_uniforms
from .designs.base import MAX_N, Design
from .designs.state import DoseData

__all__ = ["manifest", "reasons", "run_chunk", "simulate"]

#: A design without ``max_n`` that has not stopped after this many patients is an error.
PATIENT_GUARD = 1000
#: Format version of chunk checkpoints (part of their hash).
_CHECKPOINT_VERSION = 2
_RNG = (
    "Philox4x32-10 keyed by SeedSequence(seed).generate_state(2, uint32); "
    "u[t, k] = word k % 4 of the block at counter (k // 4, t mod 2**32, t // 2**32, 0) / 2**32; "
    "DLT iff u[t, k] < p_true[dose]"
)
_CHUNK_VARS = (
    "n", "dlt", "patient_dose", "patient_dlt", "selected", "is_mad", "stop_reason",
    "n_patients", "n_cohorts",
)  # fmt: skip


# ----------------------------------------------------------------------------- one chunk
class _Uniforms:
    """Latent uniforms of trials ``start..stop``, generated once and shared by the designs
    and scenarios of a run (thread-safe; grows the patient axis on demand)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int], np.ndarray] = {}
        self._lock = threading.Lock()

    def get(self, seed: int, start: int, stop: int, n_patients: int) -> np.ndarray:
        with self._lock:
            u = self._cache.get((start, stop))
            if u is None or u.shape[1] < n_patients:
                u = latent_uniforms(seed, np.arange(start, stop), n_patients)
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

    Returns
    -------
    dict of str to ndarray
        ``n``, ``dlt`` (trial, dose); ``patient_dose`` (1-based, 0 = none) and
        ``patient_dlt`` (trial, patient); ``selected`` (1-based, 0 = none), ``is_mad``,
        ``stop_reason`` (design reason code), ``n_patients``, ``n_cohorts`` (trial,).
    """
    p = np.asarray(true_tox, dtype=float)
    T, D = stop - start, design.n_doses
    if uniforms is None:

        def uniforms(k: int) -> np.ndarray:
            return latent_uniforms(seed, np.arange(start, stop), k)

    caps = [c for c in (max_n, design.max_n) if c is not None]
    P = min(caps) if caps else 6 * D
    u = uniforms(P)
    n = np.zeros((T, D), dtype=np.int64)
    y = np.zeros((T, D), dtype=np.int64)
    current = np.full(T, -1, dtype=np.int64)
    last_n = np.zeros(T, dtype=np.int64)
    last_dlt = np.zeros(T, dtype=np.int64)
    grade2 = np.zeros(T, dtype=np.int64)
    total = np.zeros(T, dtype=np.int64)
    cohorts = np.zeros(T, dtype=np.int64)
    pdose = np.zeros((T, P + 1), dtype=np.int8)  # last column: scratch for padding
    reason = np.full(T, -1, dtype=np.int64)
    act = np.arange(T)
    while act.size:
        if act.size == T:  # every trial running: no copies
            data = DoseData(n, y, current, last_n, last_dlt, grade2)
        else:
            data = DoseData(n[act], y[act], current[act], last_n[act], last_dlt[act], grade2[act])
        dec = design.decide(data)
        halt = dec.stop.copy()
        size = dec.cohort_size.copy()
        code = dec.reason.copy()
        tot = total[act]
        if max_n is not None:
            hit = ~halt & (tot >= max_n)
            halt |= hit
            code = np.where(hit, MAX_N, code)
            size = np.minimum(size, max_n - tot)
        bad = ~halt & ((size <= 0) | (dec.next_dose < 0))
        if bad.any():
            raise RuntimeError(
                f"{type(design).__name__} proposed no cohort without stopping "
                f"(trial {start + int(act[np.argmax(bad)])})"
            )
        reason[act[halt]] = code[halt]
        go = ~halt
        a, nxt, size, tot = act[go], dec.next_dose[go], size[go], tot[go]
        if not a.size:
            break
        need = int((tot + size).max())
        if need > P:
            if need > PATIENT_GUARD:
                raise ValueError(
                    f"{type(design).__name__} has no max_n and did not stop within "
                    f"{PATIENT_GUARD} patients; pass max_n= to simulate() or give the design max_n"
                )
            P = min(max(2 * P, need), PATIENT_GUARD)
            u = uniforms(P)
            pdose = np.pad(pdose[:, :-1], ((0, 0), (0, P + 1 - pdose.shape[1] + 1)))
        j = np.arange(int(size.max()))
        pos = tot[:, None] + j[None, :]
        valid = j[None, :] < size[:, None]
        pos = np.where(valid, pos, P)
        pdose[a[:, None], pos] = (nxt + 1)[:, None]
        k = ((u[a[:, None], np.minimum(pos, P - 1)] < p[nxt][:, None]) & valid).sum(axis=1)
        nxt_state = data.take(go).after_cohort(nxt, size, k)  # the shared state transition
        n[a], y[a], grade2[a] = nxt_state.n, nxt_state.dlt, nxt_state.grade2
        current[a], last_n[a], last_dlt[a] = nxt_state.current, nxt_state.last_n, nxt_state.last_dlt
        total[a] += size
        cohorts[a] += 1
        act = a
    sel = design.select(DoseData(n, y, current, last_n, last_dlt, grade2))
    width = max(int(total.max()) if T else 0, 1)
    pdose = pdose[:, :width]
    treated = pdose > 0
    pdlt = (treated & (u[:, :width] < p[np.maximum(pdose, 1) - 1])).astype(np.int8)
    return {
        "n": n.astype(np.int16),
        "dlt": y.astype(np.int16),
        "patient_dose": pdose,
        "patient_dlt": pdlt,
        "selected": (sel.dose + 1).astype(np.int8),
        "is_mad": np.asarray(sel.is_mad, dtype=bool) & (sel.dose >= 0),
        "stop_reason": reason.astype(np.int16),
        "n_patients": total.astype(np.int16),
        "n_cohorts": cohorts.astype(np.int16),
    }


# ----------------------------------------------------------------------------- checkpoints
@dataclass(frozen=True)
class _Task:
    design: str
    scenario: str
    start: int
    stop: int


def _chunk_hash(spec: dict, true_tox: Sequence[float], seed: int, start: int, stop: int,
                max_n: int | None) -> str:  # fmt: skip
    blob = json.dumps(
        {"v": _CHECKPOINT_VERSION, "design": spec, "true_tox": [float(x) for x in true_tox],
         "seed": seed, "start": start, "stop": stop, "max_n": max_n, "rng": _RNG},
        sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()


def _save_chunk(path: Path, res: Mapping[str, np.ndarray]) -> None:
    dims = {"n": ("trial", "dose"), "dlt": ("trial", "dose"),
            "patient_dose": ("trial", "patient"), "patient_dlt": ("trial", "patient")}  # fmt: skip
    ds = xr.Dataset({k: (dims.get(k, ("trial",)), np.asarray(v)) for k, v in res.items()})
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    ds.to_netcdf(tmp, engine="h5netcdf")
    os.replace(tmp, path)


def _load_chunk(path: Path) -> dict[str, np.ndarray]:
    ds = xr.load_dataset(path, engine="h5netcdf")
    return {k: ds[k].to_numpy() for k in _CHUNK_VARS}


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
    try:
        p = raw.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: true_tox must be numbers, got {raw.tolist()}") from None
    if np.any(np.isnan(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"{where}: true_tox must be in [0, 1], got {p.tolist()}")
    if np.any(np.diff(p) < 0):
        drop = int(np.argmax(np.diff(p) < 0))
        warnings.warn(
            f"{where}: the true DLT curve is not monotone (level {drop + 2}: {p[drop + 1]:g} < "
            f"level {drop + 1}: {p[drop]:g}); simulated as given",
            UserWarning,
            stacklevel=4,
        )
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
    for name, curve in items.items():
        p = _curve(str(name), curve)
        out[str(name)] = (p, float(getattr(curve, "target", np.nan)))
    return out


def _integer(name: str, value: Any, low: int) -> int:
    """``value`` as an int >= ``low``; floats with a fraction, booleans and text are errors."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer, float,
                                                                      np.floating)):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(value, (float, np.floating)) and not (np.isfinite(value) and value == int(value)):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r} (not truncated)")
    if int(value) < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _check_designs(
    designs: Mapping[str, Design], n_doses: set[int], max_n: int | None = None
) -> int:
    if not isinstance(designs, Mapping) or not designs:
        raise ValueError("designs must be a non-empty dict {name: Design}")
    for name, d in designs.items():
        if not isinstance(d, Design):
            raise ValueError(f"designs[{name!r}] is not a Design: {type(d).__name__}")
        if getattr(d, "tite_window", None) is not None:
            raise ValueError(
                f"designs[{name!r}] ({type(d).__name__}) has tite_window={d.tite_window:g} days, "
                "but simulated patients have no calendar time (every follow-up would count as "
                "complete, i.e. the plain design): simulate it without tite_window"
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


# ----------------------------------------------------------------------------- backends
def _run_local(jobs: list[tuple[_Task, tuple]], n_jobs: int, seed: int,
               on_done: Callable[[_Task, dict], None]) -> None:  # fmt: skip
    cache = _Uniforms()

    def one(job: tuple[_Task, tuple]) -> tuple[_Task, dict]:
        task, args = job
        design, p, _, a, b, cap = args
        res = run_chunk(design, p, seed, a, b, cap, lambda k: cache.get(seed, a, b, k))
        return task, res

    if n_jobs <= 1:
        for job in jobs:
            on_done(*one(job))
        return
    with ThreadPoolExecutor(max_workers=n_jobs) as pool:
        for task, res in pool.map(one, jobs):
            on_done(task, res)


def _run_dask(jobs: list[tuple[_Task, tuple]], n_jobs: int, client: Any,
              on_done: Callable[[_Task, dict], None]) -> None:  # fmt: skip
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
        futs = {}
        for task, args in jobs:
            fut = client.submit(run_chunk, *args, pure=False)
            futs[fut] = task
        for fut in as_completed(futs):
            on_done(futs[fut], fut.result())
    finally:
        for obj in own:
            obj.close()


# ----------------------------------------------------------------------------- assembly
def _assemble(
    designs: Mapping[str, Design],
    table: Mapping[str, tuple[np.ndarray, float]],
    results: Mapping[tuple[str, str], list[tuple[int, dict]]],
    n_trials: int,
    D: int,
    manifest: dict,
) -> xr.Dataset:
    names, snames = list(designs), list(table)
    G, S = len(names), len(snames)
    merged = {}
    for key, parts in results.items():
        parts = sorted(parts, key=lambda x: x[0])
        merged[key] = parts
    P = max((r["patient_dose"].shape[1] for parts in merged.values() for _, r in parts), default=1)
    width = max(
        max((int(r["n_patients"].max(initial=0)) for parts in merged.values() for _, r in parts),
            default=0),
        1,
    )  # fmt: skip
    P = min(P, width)
    out: dict[str, np.ndarray] = {}

    def alloc(name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        out[name] = np.zeros((G, S, *shape), dtype=dtype)
        return out[name]

    for var, shape, dt in (
        ("n", (n_trials, D), np.int16), ("dlt", (n_trials, D), np.int16),
        ("patient_dose", (n_trials, P), np.int8), ("patient_dlt", (n_trials, P), np.int8),
        ("selected", (n_trials,), np.int8), ("is_mad", (n_trials,), bool),
        ("stop_reason", (n_trials,), np.int16), ("n_patients", (n_trials,), np.int16),
        ("n_cohorts", (n_trials,), np.int16),
    ):  # fmt: skip
        alloc(var, shape, dt)
    for gi, g in enumerate(names):
        for si, s in enumerate(snames):
            for a, r in merged[(g, s)]:
                b = a + len(r["selected"])
                for var in _CHUNK_VARS:
                    v = r[var]
                    if var.startswith("patient_"):
                        out[var][gi, si, a:b, : v.shape[1]] = v[:, :P]
                    else:
                        out[var][gi, si, a:b] = v
    mg = next((d.doses_mg for d in designs.values() if d.doses_mg is not None), None)
    dims_tp = ("design", "scenario", "trial")
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
    return ds


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, show: bool) -> Any:
    """A tqdm bar (imported only when shown: tqdm.auto warns in kernels without widgets)."""
    if not show or not total:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="simulate", unit="chunk")


# ----------------------------------------------------------------------------- public
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
) -> xr.Dataset:
    """Simulate every design on every scenario with common random numbers.

    Parameters
    ----------
    designs : dict of str to Design
        Designs to compare (same number of dose levels).
    true_tox : sequence of float, optional
        One true DLT curve (scenario name ``"true_tox"``); or give ``scenarios``.
    scenarios : dict of str to sequence of float, optional
        Named curves, e.g. ``bd.scenarios.library("mono")`` (their ``target`` is kept).
    n_trials : int
        Trials per design and scenario.
    seed : int
        Seed of the run; trial ``t``'s patients are a pure function of ``(seed, t)``.
    max_n : int, optional
        Cap on patients per trial (stop reason: maximum sample size).  A design with
        neither this nor its own ``max_n`` must stop by its rules (e.g. 3+3).
    n_jobs : int
        Threads (local) or worker threads of the default Dask LocalCluster.
    backend : {"local", "dask"}
        ``"dask"`` submits the design x scenario x chunk grid to a ``dask.distributed``
        Client.
    chunk_size : int, optional
        Trials per chunk (default: all trials at once locally with ``n_jobs=1``, else
        ``ceil(n_trials / (4 * max(n_jobs, 2)))``).  Does not change the numbers.
    client : dask.distributed.Client or str, optional
        Client or scheduler address for ``backend="dask"`` (default: a LocalCluster with
        ``processes=False``, closed afterwards).
    checkpoint_dir : path, optional
        Finished chunks are written there as NetCDF, keyed by a hash of (design spec,
        scenario curve, seed, chunk range, max_n); a rerun loads them instead of computing.
    progress : bool
        Show a tqdm progress bar over chunks.

    Returns
    -------
    xarray.Dataset
        Dims ``design``, ``scenario``, ``trial``, ``dose``, ``patient``; variables
        ``patient_dose``, ``patient_dlt``, ``n``, ``dlt``, ``selected``, ``is_mad``,
        ``stop_reason``, ``n_patients``, ``n_cohorts``, ``true_tox``, ``target``; attrs
        ``manifest`` (JSON: versions, design specs, seed, scenarios, n_trials, date,
        input hash) and ``reasons`` (JSON: reason templates per design).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> sims = bd.simulate({"3+3": bd.ThreePlusThree(5)}, [0.05, 0.15, 0.3, 0.45, 0.6],
    ...                    n_trials=200, seed=1, progress=False)
    >>> dict(sims.sizes)["trial"], int(sims.selected.max()) <= 5
    (200, True)
    """
    table = _scenario_table(true_tox, scenarios)
    D = _check_designs(designs, {p.size for p, _ in table.values()}, max_n)
    n_trials = _integer("n_trials", n_trials, 1)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    max_n = None if max_n is None else _integer("max_n", max_n, 1)
    if backend not in ("local", "dask"):
        raise ValueError(f"backend must be 'local' or 'dask', got {backend!r}")
    n_jobs = _integer("n_jobs", n_jobs, 1)
    if chunk_size is None:
        chunk_size = (
            n_trials
            if backend == "local" and n_jobs == 1
            else math.ceil(n_trials / (4 * max(n_jobs, 2)))
        )
    chunk_size = _integer("chunk_size", chunk_size, 1)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")

    specs = {g: d.spec() for g, d in designs.items()}
    from . import __version__

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
    manifest = {
        "package": "bayes_dose",
        "version": __version__,
        "numpy": np.__version__,
        "xarray": xr.__version__,
        **inputs,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "input_hash": hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest(),
    }

    ckpt = None if checkpoint_dir is None else Path(checkpoint_dir)
    if ckpt is not None:
        ckpt.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, str], list[tuple[int, dict]]] = {
        (g, s): [] for g in designs for s in table
    }
    jobs: list[tuple[_Task, tuple]] = []
    paths: dict[_Task, Path] = {}
    for s, (p, _) in table.items():
        for a, b in _chunks(n_trials, chunk_size):
            for g, d in designs.items():
                task = _Task(g, s, a, b)
                if ckpt is not None:
                    path = ckpt / f"chunk-{_chunk_hash(specs[g], p, seed, a, b, max_n)}.nc"
                    paths[task] = path
                    if path.exists():
                        results[(g, s)].append((a, _load_chunk(path)))
                        continue
                jobs.append((task, (d, p, seed, a, b, max_n)))

    bar = _progress_bar(len(jobs), progress)

    def on_done(task: _Task, res: dict) -> None:
        if ckpt is not None:
            _save_chunk(paths[task], res)
        results[(task.design, task.scenario)].append((task.start, res))
        bar.update(1)

    try:
        if backend == "local":
            _run_local(jobs, n_jobs, seed, on_done)
        else:
            _run_dask(jobs, n_jobs, client, on_done)
    finally:
        bar.close()
    return _assemble(designs, table, results, n_trials, D, manifest)


def manifest(sims: xr.Dataset) -> dict[str, Any]:
    """The manifest of a simulation result as a dict."""
    return json.loads(sims.attrs["manifest"])


def reasons(sims: xr.Dataset) -> dict[str, list[str]]:
    """Reason templates per design (index = ``stop_reason`` code)."""
    return json.loads(sims.attrs["reasons"])
