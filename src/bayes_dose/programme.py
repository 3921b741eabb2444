"""Part I (monotherapy) and Part II (combination) simulated as one programme.

:class:`Programme` simulates two arms trial by trial: simulated programme ``t`` runs
trial ``t`` of the first arm (Part I) and opens the second arm (Part II) by an opening
rule.  A design of the second arm that borrows from the first
(:class:`bayes_dose.CombinationBLRM`) sees, in every decision of programme ``t``, the
per-dose counts of Part I of the same programme ``t`` accrued by then
(``DoseData.source_n``/``source_dlt``), never a fixed data set.

Opening rules
-------------
* :func:`opens_after` ``(arm)``: Part II opens when Part I has ended (the protocol: the
  Part I data go to the regulator first); every combination decision sees Part I's final
  counts, and Part II's designs run by their own rules.
* :func:`opens_when_cleared` ``(arm, level)``: Part II opens after the first Part I cohort
  at whose end monotherapy level ``level`` (1-based) is **cleared**: at least
  ``min_patients`` (default 3) patients treated at that level and DLTs in at most 1/6 of
  them (the protocol's DLT fraction; the same rule :class:`~bayes_dose.CombinationBLRM`
  uses for its starting dose.  The BAT6021 protocol's MTD rule asks for 6 patients:
  ``min_patients=proto.mtd_rule.min_patients`` applies it, to the opening and the ceiling).  If Part I ends without clearing it, Part II does not open
  (stop reason "Part II not opened").
* ``rule_a | rule_b`` (:class:`AnyOf`): opens at whichever comes first, e.g.
  ``opens_after("mono") | opens_when_cleared("mono", level=4)``.
* A plain :func:`opens_after` leaves Part II's designs to their own rules; with
  ``Programme(..., ceiling=True)`` it keeps the **ceiling** below as well (Part II then
  opens when Part I ends and never goes above the highest monotherapy dose cleared).

Clock (cohort time), for every rule except a plain :func:`opens_after`: Part I's cohorts
are numbered 1..K; Part II opens after Part I cohort ``c0``; from then on the arms take
turns, one Part II turn per Part I cohort: the Part II decision of turn ``k`` (k = 0, 1,
...) sees Part I's counts after cohort ``min(c0 + k, K)``.  A turn is a Part II cohort, or
a wait: the **ceiling** -- Part II never goes above the highest monotherapy dose cleared
by then (combination level ``j`` is allowed iff its single-agent dose in mg is at most the
highest cleared monotherapy dose; both arms' designs need ``doses_mg``) -- makes a Part II
proposal above it wait one turn while Part I still runs, and stop the Part II trial
(reason "above the highest monotherapy dose cleared") once Part I has ended; while no cleared
monotherapy dose lies at or above any combination level (e.g. Part II opened at a level
below the lowest combination dose), Part II waits too, and stops (reason "no combination
level at or below the highest monotherapy dose cleared") only if Part I ends that way.  The selection is capped at the ceiling too.

Clock (calendar time, ``timeline=``): both arms live in days; Part I runs as
:func:`bayes_dose.simulate` runs it with the timeline.  A Part I patient's DLT outcome is
*known* from the day it resolves -- the DLT day, else the day the DLT window completes;
pending patients are not counted (:class:`DayCounts`).  :func:`opens_after` opens Part II
on the day Part I's last DLT window completes (final counts, no ceiling: as in cohort
time); :func:`opens_when_cleared` on the first day the level is cleared by the outcomes
known that day (never if Part I ends without clearing it: the same stop reason); ``|`` on
the earlier day.  Part II's own clock (its ``patient_*_day``) starts on its opening day,
kept as ``programme_open_day`` (Part I's clock).  From then on the arms run concurrently
(:class:`DaySchedule`, the cohort-time rule in days): a Part II group is decided on the
day its first patient is dosed (for a design that needs complete data, no earlier than
every Part II patient is resolved), with the Part I counts known that day, under the
ceiling; a proposal above it waits until the next day Part I's information changes (its
patients queue or are turned away by the timeline's rule) and stops with the cohort-time
reason once every Part I patient is resolved.  The selection sees the counts of Part II's
last decision day and is capped at its ceiling.  A group is not split: its later
(staggered) patients follow the group's decision even if a Part I DLT lowers the ceiling
between their dosing days, as a cohort in cohort time.

Random numbers.  Each arm has its own common random numbers (:mod:`bayes_dose.crn`):
the first arm uses ``seed``, the second :func:`arm_seed` ``(seed, 1)``, so the arms'
patients are independent while every design of one arm meets the same patients.  Under
:func:`opens_after` a design of the second arm that does not borrow (3+3, BOIN, CRM,
BLRM) therefore gives exactly ``bd.simulate(..., seed=arm_seed(seed, 1))``; under the
other rules it gives the same Part II trial in every trial where the ceiling never bound
(no wait, no stop, no capped selection) -- in calendar time too, as Part II's days count
from its opening day.

Output.  :meth:`Programme.simulate` returns one ``xarray.Dataset`` with an ``arm``
dimension (layout: :mod:`bayes_dose.arm_dataset`; ``bd.arm_view(ds, "mono")`` is the
first arm's own Dataset) and the programme's per-trial totals ``programme_total_n``,
``programme_total_dlt`` (and in calendar time ``programme_duration_days``: Part I's first
dose to the later of the two arms' last DLT windows; under a rule other than a plain
:func:`opens_after` also ``programme_open_day``, NaN: not opened), indexed by the second
arm's designs.
:func:`bayes_dose.operating_characteristics` and :func:`bayes_dose.concordance` work on
it per arm, plus the programme OCs (:func:`bayes_dose.arm_dataset.programme_characteristics`:
correct selection in both arms, total N, total DLTs, duration, with MC SEs; under a rule
other than a plain :func:`opens_after` also ``programme_p_opened`` and, in calendar time,
``programme_mean_open_months`` (from Part I's first dose), with a note where Part II did not open in every programme:
the second arm's own OCs count those programmes as no patients, no selection, 0 days).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import xarray as xr

from . import checks
from .checks import check_seed
from .designs.base import Design
from .manifest import build_manifest, data_sha256
from .simulate import (
    _RNG,
    _assemble,
    _check_designs,
    _chunks,
    _scenario_table,
    _Uniforms,
    run_chunk,
)
from .simulate import simulate as _simulate

__all__ = [
    "AnyOf", "DayCounts", "DaySchedule", "OpensAfter", "OpensWhenCleared", "Programme",
    "SourceSchedule", "arm_seed",
    "correct_selection", "opens_after", "opens_when_cleared",
]  # fmt: skip

#: Stop reasons Part II designs get under a schedule (appended to each design's reasons).
SCHEDULE_REASONS = (
    "Part II not opened: Part I ended without clearing the opening level",
    "Part II stopped: no combination level at or below the highest monotherapy dose "
    "cleared when Part I ended",
    "Part II stopped: the next combination level is above the highest monotherapy dose "
    "cleared when Part I ended",
)


class _Rule:
    def __or__(self, other: Any) -> AnyOf:
        if not isinstance(other, _Rule):
            return NotImplemented
        return AnyOf((*_terms(self), *_terms(other)))


def _terms(rule: _Rule) -> tuple[_Rule, ...]:
    return rule.rules if isinstance(rule, AnyOf) else (rule,)


@dataclass(frozen=True)
class OpensAfter(_Rule):
    """Opening rule: the other arm opens once the trial of ``arm`` has ended."""

    arm: str

    def open_at(self, cum_n: np.ndarray, cum_y: np.ndarray, K: np.ndarray) -> np.ndarray:
        """Part I cohort after which Part II opens, per trial (-1: never)."""
        return K.astype(np.int64)

    def open_day(self, known: DayCounts) -> np.ndarray:
        """Calendar time: Part II's opening day per trial, Part I's clock (inf: never) --
        the day Part I's last DLT window completes."""
        return known.end_day.copy()


@dataclass(frozen=True)
class OpensWhenCleared(_Rule):
    """Opening rule: the other arm opens once ``arm`` has cleared ``level`` (1-based):
    at least ``min_patients`` treated there, DLTs in at most 1/6 of them."""

    arm: str
    level: int
    min_patients: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.arm, str) or not self.arm:
            raise ValueError(f"opens_when_cleared: arm must be a non-empty arm name, "
                             f"got {self.arm!r}")  # fmt: skip
        for name in ("level", "min_patients"):
            object.__setattr__(self, name, checks.whole("opens_when_cleared", name,
                                                        getattr(self, name), low=1))  # fmt: skip

    def open_at(self, cum_n: np.ndarray, cum_y: np.ndarray, K: np.ndarray) -> np.ndarray:
        """Part I cohort after which Part II opens, per trial (-1: never)."""
        L = self.level - 1
        if L >= cum_n.shape[2]:
            raise ValueError(f"opens_when_cleared: level {self.level} but arm {self.arm!r} "
                             f"has {cum_n.shape[2]} levels")  # fmt: skip
        ok = cleared(cum_n[:, :, L], cum_y[:, :, L], self.min_patients)
        ok[:, 0] = False
        c = np.arange(cum_n.shape[1])[None, :]
        ok &= c <= K[:, None]
        return np.where(ok.any(axis=1), np.argmax(ok, axis=1), -1).astype(np.int64)

    def open_day(self, known: DayCounts) -> np.ndarray:
        """Calendar time: the first day the level is cleared by the Part I information
        known that day, per trial, Part I's clock (inf: never)."""
        m = self.open_at(known.cum_n, known.cum_y, known.K)
        day = known.day[np.arange(m.size), np.maximum(m, 1) - 1]
        return np.where(m >= 1, day, np.inf)


@dataclass(frozen=True)
class AnyOf(_Rule):
    """Opening rule: whichever of ``rules`` opens first (``rule_a | rule_b``)."""

    rules: tuple[_Rule, ...]

    @property
    def arm(self) -> str:
        arms = {r.arm for r in self.rules}
        if len(arms) != 1:
            raise ValueError(f"opening rules name different arms: {sorted(arms)}")
        return arms.pop()

    @property
    def min_patients(self) -> int:
        return min([r.min_patients for r in self.rules if isinstance(r, OpensWhenCleared)] or [3])

    def open_at(self, cum_n: np.ndarray, cum_y: np.ndarray, K: np.ndarray) -> np.ndarray:
        """Part I cohort after which Part II opens, per trial (-1: never)."""
        at = np.stack([r.open_at(cum_n, cum_y, K) for r in self.rules])
        big = np.iinfo(np.int64).max
        first = np.where(at >= 0, at, big).min(axis=0)
        return np.where(first == big, -1, first)

    def open_day(self, known: DayCounts) -> np.ndarray:
        """Calendar time: the earliest opening day of ``rules`` (inf: never)."""
        return np.stack([r.open_day(known) for r in self.rules]).min(axis=0)


def opens_after(arm: str) -> OpensAfter:
    """The second arm opens after ``arm`` ends (its final data are what borrowing sees).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.opens_after("mono")
    OpensAfter(arm='mono')
    """
    if not isinstance(arm, str) or not arm:
        raise ValueError(f"opens_after: arm must be a non-empty arm name, got {arm!r}")
    return OpensAfter(arm)


def opens_when_cleared(arm: str, level: int, min_patients: int = 3) -> OpensWhenCleared:
    """The second arm opens once ``arm`` has cleared monotherapy ``level`` (1-based): at
    least ``min_patients`` patients treated there with DLTs in at most 1/6 of them; it
    never goes above the highest monotherapy dose cleared by then (module docstring).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> rule = bd.opens_after("mono") | bd.opens_when_cleared("mono", level=4)
    >>> [type(r).__name__ for r in rule.rules], rule.arm
    (['OpensAfter', 'OpensWhenCleared'], 'mono')
    """
    return OpensWhenCleared(arm, level, min_patients)


def cleared(n: np.ndarray, y: np.ndarray, min_patients: int = 3) -> np.ndarray:
    """Levels cleared: at least ``min_patients`` treated, DLTs in at most 1/6 of them."""
    return (n >= min_patients) & (6 * y <= n)


def arm_seed(seed: int, position: int) -> int:
    """Seed of the arm at ``position`` (0 = the first arm: ``seed`` itself; later arms:
    ``SeedSequence((seed, position)).generate_state(1)[0]``, independent streams)."""
    if position == 0:
        return int(seed)
    return int(np.random.SeedSequence((int(seed), int(position))).generate_state(1)[0])


def cumulative_counts(res: Mapping[str, np.ndarray], D: int) -> tuple[np.ndarray, np.ndarray]:
    """Per trial, Part I's counts after each cohort: ``(n, dlt)`` of shape
    ``(T, K_max + 1, D)``, row ``c`` = after ``c`` cohorts (from ``run_chunk``'s
    ``patient_dose``, ``patient_dlt``, ``patient_cohort``)."""
    pd_, pl, pc = (np.asarray(res[k]) for k in ("patient_dose", "patient_dlt", "patient_cohort"))
    T = pd_.shape[0]
    K = int(np.asarray(res["n_cohorts"]).max(initial=0))
    n = np.zeros((T, K + 1, D), dtype=np.int64)
    y = np.zeros((T, K + 1, D), dtype=np.int64)
    t, k = np.nonzero(pd_ > 0)
    np.add.at(n, (t, pc[t, k].astype(np.int64) + 1, pd_[t, k].astype(np.int64) - 1), 1)
    np.add.at(y, (t, pc[t, k].astype(np.int64) + 1, pd_[t, k].astype(np.int64) - 1),
              pl[t, k].astype(np.int64))  # fmt: skip
    return n.cumsum(axis=1), y.cumsum(axis=1)


class SourceSchedule:
    """What the Part II decisions of a chunk see under an opening rule (module docstring):
    Part I counts after cohort ``min(c0 + turn, K)``, the ceiling, waits and stops.

    Parameters
    ----------
    cum_n, cum_y : ndarray, shape (T, K_max + 1, D_source)
        Part I counts after each cohort (:func:`cumulative_counts`), chunk rows.
    K : ndarray, shape (T,)
        Part I cohorts per trial.
    open_at : ndarray, shape (T,)
        Part I cohort after which Part II opens (-1: never).
    ceiling_of : ndarray, shape (D_source + 1,)
        0-based highest combination level allowed when the highest cleared Part I level
        is ``i - 1`` (index 0: none cleared), ``-1``: none.
    codes : tuple of 3 int
        Reason codes of :data:`SCHEDULE_REASONS` for this design.
    min_patients : int
    """

    def __init__(self, cum_n: np.ndarray, cum_y: np.ndarray, K: np.ndarray,
                 open_at: np.ndarray, ceiling_of: np.ndarray, codes: tuple[int, int, int],
                 min_patients: int = 3) -> None:  # fmt: skip
        self.cum_n, self.cum_y, self.K = cum_n, cum_y, np.asarray(K, dtype=np.int64)
        self.open_at, self.ceiling_of = np.asarray(open_at, dtype=np.int64), ceiling_of
        self.codes, self.min_patients = codes, min_patients
        self.waits = np.zeros(self.K.size, dtype=np.int64)

    def _m(self, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
        return np.minimum(np.maximum(self.open_at[rows], 0) + k + self.waits[rows], self.K[rows])

    def at(self, rows: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Part I counts seen by the decision of ``rows`` after ``k`` Part II cohorts."""
        m = self._m(rows, k)
        return self.cum_n[rows, m], self.cum_y[rows, m]

    def ceiling(self, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
        """Highest 0-based combination level allowed (-1: none; or not opened)."""
        n, y = self.at(rows, k)
        ok = cleared(n, y, self.min_patients)
        top = np.where(ok.any(axis=1), n.shape[1] - 1 - np.argmax(ok[:, ::-1], axis=1), -1)
        return np.where(self.open_at[rows] < 0, -1, self.ceiling_of[top + 1])

    def gate(self, rows: np.ndarray, k: np.ndarray, nxt: np.ndarray, halt: np.ndarray,
             code: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
        """``(halt, code, wait)`` after the design's decision ``nxt``: not opened / no dose
        cleared stop; a proposal above the ceiling waits while Part I runs, else stops."""
        cap = self.ceiling(rows, k)
        closed = self.open_at[rows] < 0
        none = ~closed & (cap < 0)  # no combination level allowed yet
        over = ~halt & ~closed & (none | (nxt > cap))
        done = self._m(rows, k) >= self.K[rows]
        wait = over & ~done  # Part I still runs: wait a turn (it may clear more)
        late = over & done
        code = np.where(closed, self.codes[0], np.where(late & none, self.codes[1],
                        np.where(late, self.codes[2], code)))  # fmt: skip
        self.waits[rows[wait]] += 1
        return halt | closed | late, code, wait


def ceiling_table(mono_mg: Any, combo_mg: Any) -> np.ndarray:
    """``ceiling_of`` of :class:`SourceSchedule`: for each highest cleared monotherapy
    level (index 0: none), the highest combination level whose single-agent dose (mg) is
    at most that dose (-1: none)."""
    m, c = np.asarray(mono_mg, dtype=float), np.asarray(combo_mg, dtype=float)
    out = [-1]
    for mg in m:
        ok = np.flatnonzero(c <= mg * (1 + 1e-12))
        out.append(int(ok[-1]) if ok.size else -1)
    return np.asarray(out, dtype=np.int64)


@dataclass(frozen=True)
class DayCounts:
    """Part I's information in calendar time, per trial: a patient's DLT outcome is known
    from the day it resolves (the DLT day, else the day the DLT window completes); pending
    patients are not counted.

    Attributes
    ----------
    day : ndarray, shape (T, P)
        Resolution days, sorted (Part I's clock; inf beyond the trial's ``K`` patients).
    cum_n, cum_y : ndarray, shape (T, P + 1, D)
        Row ``m``: the counts known on ``day[:, m - 1]`` (every patient resolved by then,
        ties included; row 0: none).
    K : ndarray, shape (T,)
        Part I patients.
    end_day : ndarray, shape (T,)
        The day Part I's last DLT window completes.
    """

    day: np.ndarray
    cum_n: np.ndarray
    cum_y: np.ndarray
    K: np.ndarray
    end_day: np.ndarray

    @classmethod
    def of(cls, dose: np.ndarray, dose_day: np.ndarray, dlt_day: np.ndarray, window: float,
           D: int) -> DayCounts:  # fmt: skip
        """From a calendar-time arm's ``patient_dose`` (1-based, 0: none),
        ``patient_dose_day`` and ``patient_dlt_day`` (NaN: no DLT), shape (T, P)."""
        dose = np.asarray(dose, dtype=np.int64)
        treated = dose > 0
        with np.errstate(invalid="ignore"):
            done = np.asarray(dose_day, dtype=float) + window
            r = np.where(treated, np.fmin(np.asarray(dlt_day, dtype=float), done), np.inf)
        order = np.argsort(r, axis=1, kind="stable")
        day = np.take_along_axis(r, order, axis=1)
        lv = np.take_along_axis(np.where(treated, dose - 1, 0), order, axis=1)
        on = np.take_along_axis(treated, order, axis=1)
        tox = np.take_along_axis(treated & np.isfinite(dlt_day), order, axis=1)
        hit = (lv[..., None] == np.arange(D)) & on[..., None]
        T = dose.shape[0]
        zero = np.zeros((T, 1, D), dtype=np.int64)
        cn = np.concatenate([zero, hit.cumsum(axis=1)], axis=1)
        cy = np.concatenate([zero, (hit & tox[..., None]).cumsum(axis=1)], axis=1)
        known = (day[:, None, :] <= day[:, :, None]).sum(axis=2)  # ties: that day's last row
        rows = np.concatenate([np.zeros((T, 1), dtype=np.int64), known], axis=1)
        cn = np.take_along_axis(cn, rows[..., None], axis=1)
        cy = np.take_along_axis(cy, rows[..., None], axis=1)
        end = np.where(treated, done, -np.inf).max(axis=1, initial=-np.inf)
        return cls(day, cn, cy, treated.sum(axis=1), np.where(np.isfinite(end), end, 0.0))


class DaySchedule(SourceSchedule):
    """:class:`SourceSchedule` in calendar time (module docstring): the Part II decision
    of day ``d`` (Part II's clock, day 0 = its opening day) sees the Part I counts known
    on that day; a proposal above the ceiling waits until the next day Part I's
    information changes (:meth:`resume`) and stops once every Part I patient is resolved.

    Parameters
    ----------
    day : ndarray, shape (T, P)
        Part I's resolution days on Part II's clock (:class:`DayCounts` ``day`` minus the
        opening day), sorted, inf padded.
    cum_n, cum_y, K, ceiling_of, codes, min_patients
        As :class:`SourceSchedule`, over Part I patients resolved instead of cohorts.
    open_at : ndarray, shape (T,)
        ``0``: Part II opened (on its day 0), ``-1``: never.
    """

    def __init__(self, day: np.ndarray, cum_n: np.ndarray, cum_y: np.ndarray, K: np.ndarray,
                 open_at: np.ndarray, ceiling_of: np.ndarray, codes: tuple[int, int, int],
                 min_patients: int = 3) -> None:  # fmt: skip
        super().__init__(cum_n, cum_y, K, open_at, ceiling_of, codes, min_patients)
        self.day = day

    def _m(self, rows: np.ndarray, k: np.ndarray) -> np.ndarray:
        return (self.day[rows] <= np.asarray(k, dtype=float)[:, None]).sum(axis=1)

    def resume(self, rows: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The next day Part I's information changes, for waiting ``rows``."""
        return self.day[rows, self._m(rows, day)]


def correct_selection(ds: xr.Dataset, target: float | Mapping[str, float] | None) -> xr.DataArray:
    """Per trial: the selection is the true MTD (0 = none acceptable), as ``pcs``; float,
    NaN for a design x scenario without a target (e.g. a 3+3 on a scenario that names
    none)."""
    from .metrics import _targets
    from .scenarios import true_mtd

    tg = _targets(ds, target)
    mtd = np.full(tg.shape, -1, dtype=np.int64)
    for gi in range(tg.shape[0]):
        for si in range(tg.shape[1]):
            if np.isfinite(tg[gi, si]):
                mtd[gi, si] = true_mtd(ds["true_tox"].values[si], float(tg[gi, si]))
    truth = xr.DataArray(mtd, dims=("design", "scenario"),
                         coords={"design": ds["design"], "scenario": ds["scenario"]})  # fmt: skip
    return (ds["selected"] == truth).astype(float).where(truth >= 0)


class Programme:
    """Two arms simulated together, trial by trial (module docstring).

    Parameters
    ----------
    arms : dict
        ``{first_arm: {name: Design}, second_arm: {name: Design}}``, e.g.
        ``{"mono": {...}, "combo": {...}}``; the first arm is the one named by ``opens``.
    opens : opening rule
        ``bd.opens_after(first_arm)`` (the second arm opens after the first ends),
        ``bd.opens_when_cleared(first_arm, level=...)``, or several joined by ``|``
        (whichever first; module docstring).
    ceiling : bool
        Under :func:`opens_after`, also cap the second arm at the highest first-arm dose
        cleared (the rules that open earlier always do; module docstring): a proposal
        above it stops the second-arm trial, the selection is capped.  Default ``False``:
        :func:`opens_after` alone leaves the second arm's design to its own rules.
    source : dict, optional
        ``{second-arm design: first-arm design}``: whose per-trial counts a borrowing
        design reads (final under :func:`opens_after`, those accrued or known by each
        decision under the other rules), whose doses give the ceiling, and with which
        design it is paired in the programme totals.  Default: the first-arm design with the same name, else the first one.
        A borrowing design's stored ``mono_data`` is not used here: each trial reads its
        own simulated monotherapy counts.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> prog = bd.Programme(
    ...     arms={"mono": {"3+3": bd.ThreePlusThree(3)}, "combo": {"3+3": bd.ThreePlusThree(2)}},
    ...     opens=bd.opens_after("mono"))
    >>> ds = prog.simulate({"mono": [0.05, 0.1, 0.4], "combo": [0.1, 0.5]}, n_trials=20, seed=1)
    >>> ds["arm"].values.tolist(), int(ds["programme_total_n"].min()) >= 6
    (['mono', 'combo'], True)
    """

    def __init__(
        self,
        arms: Mapping[str, Mapping[str, Design]],
        opens: _Rule,
        source: Mapping[str, str] | None = None,
        ceiling: bool = False,
    ) -> None:
        if not isinstance(ceiling, bool | np.bool_):
            raise ValueError(f"Programme: ceiling must be True or False, got {ceiling!r}")
        if not isinstance(opens, _Rule):
            slot = type(opens).__module__.endswith("slots.backfill")
            raise ValueError(
                "Programme: opens must be bd.opens_after(arm), bd.opens_when_cleared(arm, "
                f"level=...) or rules joined by |, got {type(opens).__name__}"
                + (" (a backfill opening rule, for bd.Backfill(opening=...))" if slot else "")
            )
        if not isinstance(arms, Mapping) or len(arms) != 2:
            raise ValueError(
                "Programme: arms must be a dict of two arms {first: {name: Design}, "
                "second: {name: Design}}, got "
                f"{list(arms) if isinstance(arms, Mapping) else arms!r}"
            )
        if opens.arm not in arms:
            raise ValueError(f"Programme: the opening rule's arm {opens.arm!r} names no arm of "
                             f"{list(arms)}")  # fmt: skip
        first = opens.arm
        second = next(a for a in arms if a != first)
        for a in (first, second):
            ds = arms[a]
            if not isinstance(ds, Mapping) or not ds:
                raise ValueError(f"Programme: arms[{a!r}] must be a non-empty dict {{name: Design}}")
            for g, d in ds.items():
                if not isinstance(d, Design):
                    raise ValueError(f"Programme: arms[{a!r}][{g!r}] is not a Design: {type(d).__name__}")
        self.first, self.second, self.opens = first, second, opens
        self.arms = {first: dict(arms[first]), second: dict(arms[second])}
        src = dict(source or {})
        unknown = set(src) - set(arms[second])
        if unknown:
            raise ValueError(f"Programme: source names no {second!r} design: {sorted(unknown)}")
        mono = list(arms[first])
        self.source: dict[str, str] = {}
        for g, d in arms[second].items():
            s = src.get(g, g if g in arms[first] else mono[0])
            if s not in arms[first]:
                raise ValueError(f"Programme: source[{g!r}] = {s!r} is no {first!r} design ({mono})")
            self.source[g] = s
            for b in d.borrows_from:
                if b != first:
                    raise ValueError(
                        f"Programme: {second!r} design {g!r} borrows from arm {b!r}, but the "
                        f"programme's first arm is {first!r}"
                    )
                m = getattr(d, "mono", None)
                if m is not None and m.n_doses != arms[first][s].n_doses:
                    raise ValueError(
                        f"Programme: {g!r} borrows over {m.n_doses} monotherapy doses, "
                        f"{first!r} design {s!r} has {arms[first][s].n_doses}"
                    )
                mg = arms[first][s].doses_mg
                if m is not None and mg is not None and not np.allclose(m.doses, mg):
                    raise ValueError(
                        f"Programme: {g!r} borrows over monotherapy doses {list(m.doses)} mg, "
                        f"{first!r} design {s!r} has {list(mg)} mg"
                    )
        if ceiling and isinstance(opens, OpensAfter):
            # the ceiling without opening earlier: the scheduled path of a one-rule AnyOf
            opens = AnyOf((opens,))
            self.opens = opens
        self.ceiling = bool(ceiling) or not isinstance(opens, OpensAfter)
        self.scheduled = not isinstance(opens, OpensAfter)
        for a, why in ((second, "the second arm"), (first, "the first arm under " + repr(opens))):
            bf = [g for g, d in arms[a].items() if getattr(d, "backfill", None) is not None]
            if bf and (a == second or self.scheduled):
                raise ValueError(
                    f"Programme: {a!r} design(s) {bf} have backfill=, which the programme does "
                    f"not simulate in {why} (only bd.opens_after's first arm is bd.simulate's); "
                    "simulate them without backfill, or that arm alone with bd.simulate"
                )
        for rule in _terms(opens):  # a level the first arm lacks: refused before Part I runs
            if isinstance(rule, OpensWhenCleared):
                for s in dict.fromkeys(self.source.values()):
                    D = arms[first][s].n_doses
                    if rule.level > D:
                        raise ValueError(f"opens_when_cleared: level {rule.level} but {first!r} "
                                         f"design {s!r} has {D} levels")  # fmt: skip
        if self.scheduled:  # the ceiling compares single-agent doses in mg
            for g, d in arms[second].items():
                m, c = arms[first][self.source[g]].doses_mg, d.doses_mg
                if m is None or c is None:
                    raise ValueError(
                        f"Programme: {opens!r} caps {second!r} at the highest {first!r} dose "
                        f"cleared (in mg): give {first!r} design {self.source[g]!r} and "
                        f"{second!r} design {g!r} doses_mg"
                    )

    def _pairs_of(self, scenarios: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        if not isinstance(scenarios, Mapping) or not scenarios:
            raise ValueError("Programme.simulate: scenarios must be a non-empty dict")
        if set(scenarios) == {self.first, self.second}:
            return {"true_tox": dict(scenarios)}
        out = {}
        for name, pair in scenarios.items():
            if not isinstance(pair, Mapping) or set(pair) != {self.first, self.second}:
                raise ValueError(
                    f"Programme.simulate: scenario {name!r} must be a dict "
                    f"{{{self.first!r}: curve, {self.second!r}: curve}}, got "
                    f"{sorted(pair) if isinstance(pair, Mapping) else type(pair).__name__}"
                )
            out[str(name)] = dict(pair)
        return out

    def simulate(
        self,
        scenarios: Mapping[str, Any],
        n_trials: int = 1000,
        seed: int = 0,
        *,
        max_n: int | None = None,
        n_jobs: int = 1,
        chunk_size: int | None = None,
        progress: bool = False,
        timeline: Any = None,
        protocol: Any = None,
    ) -> xr.Dataset:
        """Simulate ``n_trials`` programmes per scenario pair.

        Parameters
        ----------
        scenarios : dict
            ``{first_arm: curve, second_arm: curve}`` (one pair, named ``"true_tox"``) or
            ``{pair_name: {first_arm: curve, second_arm: curve}}``.
        n_trials, seed, max_n, n_jobs, chunk_size, progress
            As in :func:`bayes_dose.simulate` (results are bit-identical for any
            ``n_jobs`` and ``chunk_size``); the second arm uses ``arm_seed(seed, 1)``.
            Without ``chunk_size`` the arms the programme runs itself (the second arm, and
            a first arm under a rule other than :func:`opens_after`) are one chunk.  The
            progress bar covers the first arm under
            :func:`opens_after` or with a timeline only.
        timeline : Timeline, optional
            Both arms in calendar time (:class:`bayes_dose.Timeline`, with ``protocol``'s
            DLT window and staggering) under every opening rule: Part II opens when Part
            I's last DLT window is complete (:func:`opens_after`) or on the first day the
            Part I outcomes known clear the level (:func:`opens_when_cleared`), then runs
            concurrently, each decision seeing the Part I counts known that day (module
            docstring).
        protocol : Protocol, optional
            With ``timeline``: the DLT window and staggering of both arms (default: a
            21-day window and the defaults of :class:`bayes_dose.protocol.Staggering`).

        Returns
        -------
        xarray.Dataset
            Dimension ``arm`` (layout: :mod:`bayes_dose.arm_dataset`), programme variables
            ``programme_total_n``, ``programme_total_dlt`` (and ``programme_duration_days``
            with a timeline, plus ``programme_open_day`` under a rule other than a plain
            :func:`opens_after`), design = second-arm design, coordinate ``source_design``.
        """
        pairs = self._pairs_of(scenarios)
        n_trials = checks.whole("Programme.simulate", "n_trials", n_trials, low=1)
        seed = check_seed(seed, "Programme.simulate")
        checks.flag("Programme.simulate", "progress", progress)
        max_n = None if max_n is None else checks.whole("Programme.simulate", "max_n", max_n, low=1)
        cal = None
        if timeline is not None:
            from .calendar_sim import calendar_settings

            cal = calendar_settings({**self.arms[self.first], **self.arms[self.second]},
                                    timeline, protocol)  # fmt: skip
        n_jobs = checks.whole("Programme.simulate", "n_jobs", n_jobs, low=1)
        # the programme's own loop (Part II, a scheduled Part I) runs all trials as one
        # chunk by default: the combination BLRM deduplicates states within a chunk, and its
        # matrix products already use both cores (one chunk per worker measured slower,
        # benchmarks/RESULTS.md)
        chunk = checks.whole("Programme.simulate", "chunk_size",
                             n_trials if chunk_size is None else chunk_size, low=1)
        curves1 = {s: p[self.first] for s, p in pairs.items()}
        sched = None
        if self.scheduled and cal is None:  # Part I by the programme's own loop: it keeps the cohorts
            designs = self.arms[self.first]
            table = _scenario_table(None, curves1)
            levels = {q.size for q, _ in table.values()}
            _check_designs(designs, levels, max_n)
            results = _run_arm(designs, table, seed, n_trials, max_n, n_jobs, chunk, None, None)
            sched = {}
            for g in dict.fromkeys(self.source.values()):
                for sc in table:
                    sched[(g, sc)] = _cumulative(results[(g, sc)], designs[g].n_doses, n_trials)
            first = _assemble(designs, table, results, n_trials, levels.pop(),
                              _manifest(designs, table, seed, n_trials, max_n, None,
                                        {"opens": repr(self.opens)}))  # fmt: skip
        else:
            extra = {} if timeline is None else {"timeline": timeline, "protocol": protocol}
            first = _simulate(
                self.arms[self.first], scenarios=curves1, n_trials=n_trials, seed=seed,
                max_n=max_n, n_jobs=n_jobs, chunk_size=chunk_size, progress=progress, **extra,
            )  # fmt: skip
        days = None
        if self.scheduled and cal is not None:  # Part I's information day by day
            days = {}
            for g in dict.fromkeys(self.source.values()):
                for sc in pairs:
                    at = first.sel(design=g, scenario=sc)
                    known = DayCounts.of(at["patient_dose"].values, at["patient_dose_day"].values,
                                         at["patient_dlt_day"].values, cal["window"],
                                         self.arms[self.first][g].n_doses)  # fmt: skip
                    days[(g, sc)] = (known, self.opens.open_day(known))
            sched = days
        second = self._second(first, sched, {s: p[self.second] for s, p in pairs.items()},
                              n_trials, arm_seed(seed, 1), max_n, n_jobs, chunk, cal)  # fmt: skip
        arms = {self.first: first, self.second: second}
        return _stack(arms, self.source, None if days is None else
                      {k: o for k, (_, o) in days.items()})  # fmt: skip

    def _second(self, first: xr.Dataset, sched: dict | None, curves: Mapping[str, Any],
                n_trials: int, seed: int, max_n: int | None, n_jobs: int, chunk: int,
                cal: dict | None) -> xr.Dataset:  # fmt: skip
        designs = self.arms[self.second]
        table = _scenario_table(None, curves)
        plain = {g: d for g, d in designs.items() if not d.borrows_from}
        levels = {p.size for p, _ in table.values()}
        if plain:
            _check_designs(plain, levels, max_n, None if cal is None else cal["timeline"])
        for g, d in designs.items():
            if g in plain:
                continue
            if levels != {d.n_doses}:
                raise ValueError(f"scenarios have {sorted(levels)} levels, design {g!r} {d.n_doses}")
            if max_n is None and d.max_n is None and d.stopping is None and not d.self_limiting:
                raise ValueError(f"{self.second!r} design {g!r} has no max_n and no stopping rule")
        if sched is None:
            src = {
                (g, s): (first["n"].sel(design=self.source[g], scenario=s).values,
                         first["dlt"].sel(design=self.source[g], scenario=s).values)
                for g, d in designs.items() if d.borrows_from for s in table
            }  # fmt: skip

            def source_of(g: str, s: str, a: int, b: int) -> Any:
                so = src.get((g, s))
                return None if so is None else (so[0][a:b], so[1][a:b])
        else:  # a schedule: cohort time, or calendar time (Part II's clock starts on its opening day)
            mp = getattr(self.opens, "min_patients", 3)
            opened = {}
            for g, d in designs.items():
                ceil = ceiling_table(self.arms[self.first][self.source[g]].doses_mg, d.doses_mg)
                R = len(d.reasons)
                for s in table:
                    opened[(g, s)] = _opening(self.opens, sched[(self.source[g], s)], ceil,
                                              (R, R + 1, R + 2), mp, cal is None)  # fmt: skip

            def source_of(g: str, s: str, a: int, b: int) -> Any:
                return opened[(g, s)](a, b)

        results = _run_arm(designs, table, seed, n_trials, max_n, n_jobs, chunk, source_of, cal)
        manifest = _manifest(designs, table, seed, n_trials, max_n, cal, {
            "opens": repr(self.opens), "source": dict(self.source),
            "first_arm_input_hash": json.loads(first.attrs["manifest"]).get("input_hash")})  # fmt: skip
        ds = _assemble(designs, table, results, n_trials, levels.pop(), manifest)
        if sched is not None:  # the schedule's stop reasons follow each design's own
            reasons = json.loads(ds.attrs["reasons"])
            ds.attrs["reasons"] = json.dumps({g: [*r, *SCHEDULE_REASONS] for g, r in reasons.items()})
        return ds


def _opening(opens: Any, entry: Any, ceil: np.ndarray, codes: tuple[int, int, int], mp: int,
             cohort_time: bool) -> Any:  # fmt: skip
    """Rows ``a:b`` of one Part I schedule as Part II's source: the counts and opening
    step per cohort (cohort time) or per day since Part II opened (calendar time)."""
    if cohort_time:
        cn, cy, K = entry
        at = opens.open_at(cn, cy, K)
        return lambda a, b: SourceSchedule(cn[a:b], cy[a:b], K[a:b], at[a:b], ceil, codes, mp)
    known, day0 = entry
    ok = np.isfinite(day0)
    ev = known.day - np.where(ok, day0, 0.0)[:, None]
    at = np.where(ok, 0, -1)
    return lambda a, b: DaySchedule(ev[a:b], known.cum_n[a:b], known.cum_y[a:b], known.K[a:b],
                                    at[a:b], ceil, codes, mp)  # fmt: skip


def _run_arm(designs: Mapping[str, Design], table: Mapping[str, Any], seed: int, n_trials: int,
             max_n: int | None, n_jobs: int, chunk: int, source_of: Any, cal: dict | None
             ) -> dict[tuple[str, str], list[tuple[int, dict]]]:  # fmt: skip
    """Chunk results of an arm (cohort or calendar time), common random numbers across its
    designs; ``source_of(design, scenario, a, b)`` gives a chunk's ``run_chunk(source=)``."""
    from .calendar_sim import run_calendar_chunk

    def unit(ab: tuple[int, int]) -> dict[tuple[str, str], list[tuple[int, dict]]]:
        a, b = ab
        cache = _Uniforms()
        out: dict[tuple[str, str], list[tuple[int, dict]]] = {}
        for s, (p, _) in table.items():
            for g, d in designs.items():
                so = None if source_of is None else source_of(g, s, a, b)

                def uni(k: int, a: int = a, b: int = b) -> np.ndarray:
                    return cache.get(seed, a, b, k)

                if cal is None:
                    out[(g, s)] = [(a, run_chunk(d, p, seed, a, b, max_n, uni, source=so))]
                else:
                    out[(g, s)] = [(a, run_calendar_chunk(d, p, seed, a, b, cal["timeline"],
                                                          cal["staggering"], cal["window"],
                                                          max_n, uni, source=so))]  # fmt: skip
        return out

    chunks = _chunks(n_trials, chunk)
    if n_jobs > 1:
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            parts = list(pool.map(unit, chunks))
    else:
        parts = [unit(c) for c in chunks]
    results: dict[tuple[str, str], list[tuple[int, dict]]] = {
        (g, s): [] for g in designs for s in table
    }
    for part in parts:
        for key, items in part.items():
            results[key].extend(items)
    return results


def _cumulative(parts: list[tuple[int, dict]], D: int, n_trials: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Part I counts after each cohort over all trials (padded with the final counts)."""
    got = [(a, *cumulative_counts(r, D), np.asarray(r["n_cohorts"], dtype=np.int64))
           for a, r in parts]  # fmt: skip
    Km = max(c[1].shape[1] for c in got)
    cn = np.zeros((n_trials, Km, D), dtype=np.int64)
    cy = np.zeros((n_trials, Km, D), dtype=np.int64)
    K = np.zeros(n_trials, dtype=np.int64)
    for a, n, y, k in got:
        b = a + n.shape[0]
        pad = ((0, 0), (0, Km - n.shape[1]), (0, 0))
        cn[a:b], cy[a:b], K[a:b] = np.pad(n, pad, mode="edge"), np.pad(y, pad, mode="edge"), k
    return cn, cy, K


def _manifest(designs: Mapping[str, Design], table: Mapping[str, Any], seed: int,
              n_trials: int, max_n: int | None, cal: dict | None,
              programme: Mapping[str, Any]) -> dict:  # fmt: skip
    inputs = {
        "designs": {g: d.spec() for g, d in designs.items()},
        "scenarios": {s: {"true_tox": p.tolist(), "target": None if np.isnan(t) else t}
                      for s, (p, t) in table.items()},
        "seed": seed, "n_trials": n_trials, "max_n": max_n, "rng": _RNG,
        "programme": dict(programme),
        **({"timeline": cal["spec"]} if cal is not None else {}),
    }  # fmt: skip
    return build_manifest(
        numpy=np.__version__, xarray=xr.__version__, **inputs,
        date=datetime.now(UTC).isoformat(timespec="seconds"),
        input_hash=data_sha256(json.dumps(inputs, sort_keys=True, default=str).encode()),
    )  # fmt: skip


def _stack(arms: Mapping[str, xr.Dataset], source: Mapping[str, str],
           open_day: Mapping[tuple[str, str], np.ndarray] | None = None) -> xr.Dataset:
    """The arms stacked along ``arm`` with the programme totals per second-arm design;
    ``open_day[(first-arm design, scenario)]``: Part II's opening day in calendar time
    (Part I's clock, inf: never) under a rule other than a plain ``opens_after``."""
    from .arm_dataset import stack_arms

    first, second = (arms[a] for a in arms)
    names = list(source)
    mono = [source[g] for g in names]
    f = first.sel(design=mono).assign_coords(design=names)
    sec = second.sel(design=names)
    tot = {
        "programme_total_n": f["n_patients"].astype(np.int64) + sec["n_patients"].astype(np.int64),
        "programme_total_dlt": (f["dlt"].sum("dose").astype(np.int64)
                                + sec["dlt"].sum("dose").astype(np.int64)),
    }  # fmt: skip
    if open_day is not None:  # overlapping arms: to the later of the two arms' ends
        sc = [str(x) for x in f["scenario"].values]
        o = np.stack([np.stack([open_day[(m, x)] for x in sc]) for m in mono])
        day0 = xr.DataArray(np.where(np.isfinite(o), o, np.nan), dims=("design", "scenario", "trial"),
                            coords={"design": names, "scenario": f["scenario"], "trial": f["trial"]})  # fmt: skip
        first_dose = f["patient_dose_day"].min("patient", skipna=True)
        gap = sec["patient_dose_day"].min("patient", skipna=True)
        end2 = (day0 - first_dose) + gap + sec["duration_days"]
        tot["programme_duration_days"] = xr.where(sec["n_patients"] > 0,
                                                  np.maximum(f["duration_days"], end2),
                                                  f["duration_days"])  # fmt: skip
        tot["programme_open_day"] = day0
    elif "duration_days" in first and "duration_days" in sec:  # Part I's first dose to the end
        gap = sec["patient_dose_day"].min("patient", skipna=True).fillna(0.0)
        tot["programme_duration_days"] = f["duration_days"] + gap + sec["duration_days"]
    tot = {k: v.drop_vars([c for c in v.coords if c not in ("design", "scenario", "trial")])
           for k, v in tot.items()}  # fmt: skip
    return stack_arms(arms, {"vars": tot, "source": dict(source)})
