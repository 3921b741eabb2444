"""Calendar time for simulation: patient arrivals, DLT onset within the window, waiting.

A :class:`Timeline` describes how a simulated trial lives in calendar days
(``bd.simulate(..., timeline=Timeline(...))``, driver :mod:`bayes_dose.calendar_sim`):

* **arrivals**: a Poisson process with ``accrual_per_month`` patients per month
  (``math.inf``: every patient is there on day 0), or one patient every
  ``interarrival_days``;
* **DLT onset**: the day within the DLT window on which a patient's DLT appears (whether
  the patient has a DLT at all is the cohort-time latent uniform ``u[t, k]``, unchanged):
  ``"uniform"`` over the window; ``("weibull", shape)``: a Weibull with scale = the window,
  truncated to the window (CDF ``(1 - exp(-(s/w)**shape)) / (1 - exp(-1))``);
  ``("late", f)``: a share ``f`` of DLTs uniform in the second half of the window, the
  rest uniform in the first half (the late-onset scenarios of the TITE papers);
* **waiting**: ``"queue"``: a patient who arrives while no slot is open waits, at most
  ``max_wait_days`` (default: no limit), then leaves (counted as turned away);
  ``"turn_away"``: a patient who arrives while no slot is open is turned away at once.

**Common random numbers in time.** Arrival gaps and DLT-onset fractions are Philox streams
of :mod:`bayes_dose.crn` keyed by ``SeedSequence(seed, spawn_key=(STREAM, 1 or 2))``, so
they are pure functions of ``(seed, trial, patient)``, independent of the toxicity stream
and of each other: every design sees the same patients arriving on the same days (arrival
``j`` of trial ``t``), and the ``k``-th treated patient's DLT yes/no is the cohort-time one.

Examples
--------
>>> import bayes_dose as bd
>>> tl = bd.Timeline(accrual_per_month=4, dlt_onset=("late", 0.7))
>>> arr = tl.arrivals(seed=1, trials=range(3), n=5)
>>> arr.shape, bool((arr[:, 1:] >= arr[:, :-1]).all())
((3, 5), True)
>>> bool((tl.arrivals(1, range(1, 3), 5) == arr[1:]).all())   # pure in (seed, trial, patient)
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import checks
from .crn import latent_uniforms

__all__ = ["DAYS_PER_MONTH", "Timeline"]

#: Days per month used for accrual rates and durations in months (365.25 / 12).
DAYS_PER_MONTH = 365.25 / 12
#: First word of the spawn key of the calendar-time streams ("TIME").
STREAM = 0x54494D45
ARRIVAL_STREAM, ONSET_STREAM = 1, 2
WAITING = ("queue", "turn_away")


def _stream(seed: int, which: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(int(seed), spawn_key=(STREAM, which))


@dataclass(frozen=True)
class Timeline:
    """How simulated patients arrive, when DLTs appear and what waiting patients do.

    Parameters
    ----------
    accrual_per_month : float, optional
        Poisson arrival rate (patients per month of :data:`DAYS_PER_MONTH` days);
        ``math.inf``: unlimited (everyone available on day 0).
    interarrival_days : float, optional
        Fixed days between arrivals instead (give exactly one of the two).
    dlt_onset : "uniform" or ("weibull", shape) or ("late", fraction)
        Distribution of the DLT day within the window (module docstring).
    waiting : {"queue", "turn_away"}
    max_wait_days : float, optional
        Longest a queued patient waits for a slot (``"queue"`` only; default no limit).
    response_day : float, optional
        Day after the first dose on which a simulated patient's response is assessed
        (known to the design), with ``efficacy=``; default: the end of the DLT window.
        A design that decides on response and waits for complete data (BOIN12) holds
        until every treated patient is assessed.
    """

    accrual_per_month: float | None = None
    interarrival_days: float | None = None
    dlt_onset: Any = "uniform"
    waiting: str = "queue"
    max_wait_days: float | None = None
    response_day: float | None = None

    def __post_init__(self) -> None:
        rate, gap = self.accrual_per_month, self.interarrival_days
        if (rate is None) == (gap is None):
            raise ValueError(
                "Timeline: give exactly one of accrual_per_month= (Poisson arrivals) or "
                "interarrival_days= (fixed gaps)"
            )
        for name, v in (("accrual_per_month", rate), ("interarrival_days", gap)):
            if v is None:
                continue
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)):
                raise ValueError(f"Timeline: {name} must be a number, got {v!r}")
            if math.isnan(float(v)):
                raise ValueError(f"Timeline: {name} must be a number, got nan")
        if rate is not None and not float(rate) > 0:
            raise ValueError(f"Timeline: accrual_per_month must be > 0, got {rate!r}")
        if gap is not None and not (0 <= float(gap) < math.inf):
            raise ValueError(f"Timeline: interarrival_days must be finite and >= 0, got {gap!r}")
        object.__setattr__(self, "dlt_onset", self._onset_spec(self.dlt_onset))
        if self.waiting not in WAITING:
            raise ValueError(f"Timeline: waiting must be one of {WAITING}, got {self.waiting!r}")
        w = self.max_wait_days
        if w is not None:
            if self.waiting == "turn_away":
                raise ValueError(
                    "Timeline: max_wait_days applies to waiting='queue' (turn_away waits 0 days)"
                )
            object.__setattr__(self, "max_wait_days", checks.real(
                "Timeline", "max_wait_days", w, low=0, finite=False))
        r = self.response_day
        if r is not None and (isinstance(r, (bool, np.bool_)) or not isinstance(
                r, (int, float, np.number)) or not 0 <= float(r) < math.inf):  # fmt: skip
            raise ValueError(f"Timeline: response_day must be a number of days >= 0, got {r!r}")
        at_once = self.unlimited or (gap is not None and float(gap) == 0)
        if at_once and (self.waiting == "turn_away" or w is not None):
            raise ValueError(
                "Timeline: with every patient arriving on day 0 (unlimited accrual) patients must "
                "queue without a limit (waiting='queue', max_wait_days=None): otherwise all but "
                "the first would be turned away and the trial could not continue"
            )

    @staticmethod
    def _onset_spec(spec: Any) -> Any:
        if spec == "uniform":
            return "uniform"
        if isinstance(spec, Sequence) and not isinstance(spec, str) and len(spec) == 2:
            kind, x = spec
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, float, np.number)):
                raise ValueError(f"Timeline: dlt_onset parameter must be a number, got {x!r}")
            x = float(x)
            if kind == "weibull":
                if not 0 < x < math.inf:
                    raise ValueError(f"Timeline: Weibull shape must be > 0, got {x}")
                return ("weibull", x)
            if kind == "late":
                if not 0 <= x <= 1:
                    raise ValueError(f"Timeline: late-onset fraction must be in [0, 1], got {x}")
                return ("late", x)
        raise ValueError(
            "Timeline: dlt_onset must be 'uniform', ('weibull', shape) or ('late', fraction), "
            f"got {spec!r}"
        )

    # -- derived -----------------------------------------------------------------------
    @property
    def max_wait(self) -> float:
        """Longest wait (days): 0 for ``"turn_away"``, ``max_wait_days`` or inf."""
        if self.waiting == "turn_away":
            return 0.0
        return math.inf if self.max_wait_days is None else float(self.max_wait_days)

    @property
    def unlimited(self) -> bool:
        """Every patient is available on day 0."""
        return self.accrual_per_month is not None and math.isinf(float(self.accrual_per_month))

    def spec(self) -> dict[str, Any]:
        """JSON-able form (manifests, checkpoint keys; ``response_day`` only when set)."""
        rate = self.accrual_per_month
        extra = {} if self.response_day is None else {"response_day": float(self.response_day)}
        return extra | {
            "accrual_per_month": None if rate is None else (
                "inf" if math.isinf(float(rate)) else float(rate)),
            "interarrival_days": None if self.interarrival_days is None
            else float(self.interarrival_days),
            "dlt_onset": self.dlt_onset if isinstance(self.dlt_onset, str)
            else list(self.dlt_onset),
            "waiting": self.waiting,
            "max_wait_days": None if self.max_wait_days is None else float(self.max_wait_days),
            "days_per_month": DAYS_PER_MONTH,
            "streams": f"SeedSequence(seed, spawn_key=({STREAM:#x}, 1|2)): arrivals | onset",
        }  # fmt: skip

    # -- draws (pure functions of seed, trial, patient) ---------------------------------
    def arrivals(self, seed: int, trials: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
        """Arrival days of the first ``n`` patients of each trial, shape (T, n), sorted."""
        t = np.asarray(trials, dtype=np.int64).reshape(-1)
        if self.interarrival_days is not None:
            return np.broadcast_to(np.arange(n) * float(self.interarrival_days),
                                   (t.size, n)).copy()  # fmt: skip
        if self.unlimited:
            return np.zeros((t.size, n))
        w = latent_uniforms(_stream(seed, ARRIVAL_STREAM), t, n)
        gaps = -np.log1p(-w) * (DAYS_PER_MONTH / float(self.accrual_per_month))
        return np.cumsum(gaps, axis=1)

    def onset_fraction(self, seed: int, trials: Sequence[int] | np.ndarray, n: int) -> np.ndarray:
        """DLT day as a fraction of the window, in (0, 1], for the first ``n`` treated
        patients of each trial (used only for patients with a DLT), shape (T, n)."""
        t = np.asarray(trials, dtype=np.int64).reshape(-1)
        v = 1.0 - latent_uniforms(_stream(seed, ONSET_STREAM), t, n)  # in (0, 1]
        return self.onset_quantile(v)

    def onset_quantile(self, v: np.ndarray) -> np.ndarray:
        """The onset distribution's quantile function (fraction of the window) at ``v``."""
        v = np.asarray(v, dtype=float)
        spec = self.dlt_onset
        if spec == "uniform":
            return v
        kind, x = spec
        if kind == "weibull":
            return (-np.log1p(-v * (1.0 - math.exp(-1.0)))) ** (1.0 / x)
        early = 1.0 - x  # share of DLTs in the first half
        if early <= 0:
            return 0.5 + 0.5 * v
        if early >= 1:
            return 0.5 * v
        return np.where(v <= early, 0.5 * v / early, 0.5 + 0.5 * (v - early) / x)
