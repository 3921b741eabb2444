"""One decision of a batch of running simulated trials, shared by the cohort-time driver
(:func:`bayes_dose.simulate.run_chunk`) and the calendar-time driver
(:mod:`bayes_dose.calendar_sim`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .designs.base import MAX_N, Design
from .dose_data import DoseData

__all__ = ["PATIENT_GUARD", "decision_step", "grown_capacity"]

#: Most patients a simulated trial may enrol (a design that never stops is an error).
PATIENT_GUARD = 1000


def decision_step(design: Design, data: DoseData, total: np.ndarray, max_n: int | None,
                  start: int, rows: np.ndarray, flagged: list | None = None
                  ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """One decision of the running trials ``rows`` (both simulation drivers): the design's
    decision, then the simulation cap ``max_n`` on patients; ``(decision, halt, cohort
    size, reason code)``.  A design proposing no cohort without stopping is an error.

    ``flagged``: a list to which the per-row flags of the decision's estimate are appended
    (``Estimate.stats["grid_flag"]``: the grid result could not be verified; all False for
    estimates without the flag).  The estimate is the one ``design.decide`` would compute
    itself (designs keeping :meth:`Design.decide`), so decisions are unchanged."""
    if flagged is not None and design.uses_estimate and type(design).decide is Design.decide:
        est = design.estimate(data)
        dec = design.decide(data, est)
        flag = est.stats.get("grid_flag") if est.stats else None
        T = data.n_trials
        flagged.append(np.zeros(T, dtype=bool) if flag is None
                       else np.broadcast_to(np.asarray(flag, dtype=bool).reshape(-1), (T,)))  # fmt: skip
    else:
        dec = design.decide(data)
        if flagged is not None:
            flagged.append(np.zeros(data.n_trials, dtype=bool))
    halt = dec.stop.copy()
    size = dec.cohort_size.copy()
    code = dec.reason.copy()
    if max_n is not None:
        hit = ~halt & (total >= max_n)
        halt |= hit
        code = np.where(hit, MAX_N, code)
        size = np.minimum(size, max_n - total)
    bad = ~halt & ((size <= 0) | (dec.next_dose < 0))
    if bad.any():
        raise RuntimeError(
            f"{type(design).__name__} proposed no cohort without stopping "
            f"(trial {start + int(rows[np.argmax(bad)])})"
        )
    return dec, halt, size, code


def grown_capacity(design: Design, need: int, capacity: int) -> int:
    """The patient-slot capacity of a chunk that must hold ``need`` patients (doubled at
    least, at most :data:`PATIENT_GUARD`); a design still running past the guard is an
    error telling how to bound it."""
    if need > PATIENT_GUARD:
        raise ValueError(
            f"{type(design).__name__} has no max_n and did not stop within "
            f"{PATIENT_GUARD} patients; pass max_n= to simulate() or give the design max_n"
        )
    return min(max(2 * capacity, need), PATIENT_GUARD)
