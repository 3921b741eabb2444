"""The design contract suite: what every design promises, checked on any design.

:func:`check_design` runs the contracts below on one design (a package design or a
user's subclass of :class:`bayes_dose.Design`) and raises ``AssertionError`` naming every
broken contract; it returns a :class:`ContractReport` saying what was checked and what
did not apply (and why).  :func:`registered_designs` lists the package's own design
configurations, which the test suite checks in CI.

=================  ==========================================================================
key                contract
=================  ==========================================================================
``vectorised``     ``decide`` (and ``select``) on a batch of trials equals ``decide`` on each
                   trial alone
``spec``           ``design.replace() == design``; ``type(d)(**d.get_params()) == d``;
                   ``get_params`` names every constructor parameter; ``spec()`` is JSON and
                   stable (also after the design was used); changing any one parameter
                   with ``replace`` changes the spec
``stop``           a stopped trial has no next dose (``next_dose = -1``, ``cohort_size = 0``;
                   a stopped or held ``Fit``: ``next_dose`` and ``cohort_size`` None), a
                   running one has a dose and a cohort
``reasons``        every reason code reached (on the states, and on the dose paths of the
                   short-horizon design below) formats into a sentence (no unfilled field,
                   no level 0 / None), and so does every template of ``design.reasons``
                   with the fields ``Design.explain`` supplies
``selection``      the selected dose was given to patients (see *Selection* below)
``fit``            ``fit(outcomes)`` recommends what ``decide`` decides on the same patients
``last_cohort``    ``uses_last_cohort = False``: decisions and selections do not change when
                   only ``last_n`` / ``last_dlt`` change
``self_limiting``  ``self_limiting = True``: without ``max_n`` every path of the exact
                   enumeration ends within ``10 x n_doses`` cohorts
``uses_estimate``  ``uses_estimate = False``: ``decide(data, None)`` works and equals
                   ``decide(data, design.estimate(data))``
``exact``          on a short horizon (``max_n`` = first cohort + two cohorts, at least 6;
                   a self-limiting design without ``max_n``: its full horizon), exact
                   enumeration (:func:`~bayes_dose.exact_operating_characteristics`, and
                   :func:`~bayes_dose.dose_paths` to 1e-9) agrees with
                   :func:`~bayes_dose.simulate` of 2,000 trials on a rising and a toxic
                   true curve: every P(select level) (and P(no MTD)) and expected patients
                   per level within 4 Monte Carlo SE plus 1/2,000 (SEs from the exact
                   distribution: binomial for selections, the dose-path leaves for patients)
``other_arms``     ``compare`` fits the design on every arm's data exactly when it
                   ``borrows_from`` another arm; with ``requires_other_arms`` (it borrows
                   and holds no such data) ``simulate`` and ``dose_paths`` refuse it
``mcmc``           (``mcmc=True`` only) each MCMC engine's posterior mean DLT probability per
                   dose is within max(0.01, 3 MC SE) of the grid engine's on small data
                   (MC SE by batch means over 10 batches per chain)
=================  ==========================================================================

States.  The contracts run on a batch of evidence built with a fixed seed: ten trials
walked by the design itself for up to four cohorts (each trial with its own random
increasing DLT curve, random grade-2 toxicities; for a TITE design the last cohort's
patients without DLT are part-way through their window), plus six trials of deviating
data (cohorts at arbitrary levels, skipped levels, odd cohort sizes) that real data may
hold.  Only the walked states count as *reachable* (the ``selection`` contract).

Selection.  A design's ``selection_scope`` says which levels ``select`` may return:
``"treated"`` (default: a level with ``n > 0``), ``"tried_range"`` (a level at or below the
highest level tried, treated or not) or ``"any"``.  The documented exceptions in the
package: :class:`~bayes_dose.CRM` (``"any"``: dfcrm's MTD is the level closest to
target on the final curve, whether treated or not); the BLRM family (``"tried_range"``
when ``no_skip=False`` or ``start_level > 1``: eligible levels up to the highest tried,
so a skipped level or one below the start); :class:`~bayes_dose.ThreePlusThree`
``variant="escalation_only"`` with ``start_level > 1`` (``"tried_range"``: the level just
below the lowest with 2+ DLTs, below the start when that is the start level).  BOIN
selects among treated levels only.

Designs reading other arms.  A design with ``requires_other_arms`` (a
:class:`~bayes_dose.CombinationBLRM` borrowing without stored ``mono_data``) decides, on
counts of its own arm alone, as if the other arm had no patients; the count-level
contracts are checked on that, while ``exact`` (simulation refuses such designs) and the
fit-level parts of ``stop`` and ``fit`` (a fit needs the other arm's data) are skipped
and say so in the report.  A design that borrows (``borrows_from``) is fitted on data
whose own arm is named ``arm``; without ``arm`` its fit-level checks are skipped.

Examples
--------
>>> import bayes_dose as bd
>>> report = bd.testing.check_design(bd.ThreePlusThree(4, titration_levels=2))
>>> "vectorised" in report.checked and "exact" in report.checked
True
>>> print(report.skipped["mcmc"])
not requested (mcmc=False)

A reason template with a field ``explain`` does not supply is caught:

>>> class Typo(bd.ThreePlusThree):
...     own_reasons = (*bd.ThreePlusThree.own_reasons[:-1], "expand level {nxt} to 6")
>>> bd.testing.check_design(Typo(4), only=["reasons"])
Traceback (most recent call last):
...
AssertionError: design contract 'reasons' (every reason code formats) broken by Typo: ...
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import re
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .designs.base import Design
from .designs.rules import MaxPatients, StoppingRule
from .designs.slots import Slot, slot_types
from .designs.state import NONE, Decision, DoseData, Selection
from .exact import binom_pmf, exact_operating_characteristics, expand_frontier
from .inference.engines import engines
from .inference.mcmc import SETTINGS, MCMCWarning
from .outcomes import Outcomes
from .paths import dose_paths
from .simulate import simulate

__all__ = ["CONTRACTS", "ContractReport", "DesignCase", "check_design", "registered_designs"]

#: Contract keys (``only=``) and what each promises.
CONTRACTS: dict[str, str] = {
    "spec": "spec and replace round-trip",
    "vectorised": "vectorised decide equals per-trial decide",
    "stop": "a stopped or held trial has no next dose",
    "reasons": "every reason code formats",
    "selection": "the selected dose was given to patients",
    "fit": "fit agrees with decide",
    "last_cohort": "uses_last_cohort is honest",
    "self_limiting": "self_limiting is honest",
    "uses_estimate": "uses_estimate is honest",
    "exact": "exact enumeration agrees with simulation",
    "other_arms": "reading other arms is declared consistently",
    "mcmc": "MCMC engines agree with the grid engine",
}

#: Monte Carlo settings of the ``exact`` contract.
N_SIM_TRIALS = 2000
SIM_SE = 4.0
#: Cohort bound of the ``self_limiting`` contract (times ``n_doses``) and frontier guard.
SELF_LIMIT_COHORTS = 10
_FRONTIER_GUARD = 200_000
#: MCMC settings of the ``mcmc`` contract.
MCMC_SETTINGS = {"draws": 1000, "tune": 1000, "chains": 2, "random_seed": 20261206}
_BATCHES_PER_CHAIN = 10
#: Dose-path nodes explained per reason code (``reasons`` contract).
_NODES_PER_CODE = 20

_UNFILLED = re.compile(r"\{[A-Za-z_]\w*(![rsa])?(:[^{}]*)?\}")
_BAD_LEVEL = re.compile(r"\blevel (None|0|-\d+)\b")


class _Broken(AssertionError):
    """One contract's failure (collected, then raised together)."""


@dataclass(frozen=True)
class ContractReport:
    """What :func:`check_design` checked.

    Attributes
    ----------
    design : str
        The design's class name.
    checked : tuple of str
        Contract keys that ran and held.
    skipped : dict of str to str
        Contract keys that did not apply (or were not requested), with the reason.
    notes : dict of str to str
        What a contract checked, in numbers (e.g. states, parameters perturbed).
    """

    design: str
    checked: tuple[str, ...]
    skipped: Mapping[str, str]
    notes: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.design}: {len(self.checked)} contracts hold"]
        for k in self.checked:
            note = self.notes.get(k)
            lines.append(f"  ok    {k}: {CONTRACTS[k]}" + (f" ({note})" if note else ""))
        for k, why in self.skipped.items():
            lines.append(f"  skip  {k}: {why}")
        return "\n".join(lines)


# ----------------------------------------------------------------------------- states
@dataclass(frozen=True)
class _Cohort:
    dose: int  # 0-based
    dlt: tuple[int, ...]
    grade2: tuple[int, ...]
    days: tuple[int, ...]  # follow-up (days) while this is the last cohort (TITE)
    resp: tuple[int, ...] = ()  # responses (designs with uses_efficacy, e.g. BOIN12)


def _uses_efficacy(design: Design) -> bool:
    return bool(getattr(design, "uses_efficacy", False))


def _respond(c: _Cohort, rng: np.random.Generator | None, p: float = 0.4) -> _Cohort:
    """``c`` with responses drawn from ``rng`` (a stream of its own, so the DLT draws of
    the states are those of designs without efficacy); unchanged when ``rng`` is None."""
    if rng is None:
        return c
    return dataclasses.replace(c, resp=tuple(int(v) for v in rng.random(len(c.dlt)) < p))


@dataclass(frozen=True)
class _States:
    """The evidence the contracts run on."""

    trials: tuple[tuple[_Cohort, ...], ...]  # every state, as its cohorts
    reachable: np.ndarray  # bool per state: walked by the design
    batch: DoseData
    window: float | None
    decision: Decision  # design.decide(batch)
    selection: Selection  # design.select(batch)


def _window(design: Design) -> float | None:
    w = getattr(design, "tite_window", None)
    return None if w is None else float(w)


def _weights(cohorts: Sequence[_Cohort], window: float | None) -> list[float]:
    out: list[float] = []
    for i, c in enumerate(cohorts):
        last = i == len(cohorts) - 1
        for y, d in zip(c.dlt, c.days, strict=True):
            if window is None or y or not last:
                out.append(1.0)
            else:  # as DoseData.from_outcomes computes it
                out.append(float(np.minimum(d / float(window), 1.0)))
    return out


def _batch(trials: Sequence[Sequence[_Cohort]], n_doses: int, window: float | None) -> DoseData:
    """DoseData (with patient-level arrays) of trials given as cohorts."""
    T = len(trials)
    P = max([sum(len(c.dlt) for c in t) for t in trials] + [1])
    n = np.zeros((T, n_doses), dtype=np.int64)
    y = np.zeros((T, n_doses), dtype=np.int64)
    current = np.full(T, NONE, dtype=np.int64)
    last_n = np.zeros(T, dtype=np.int64)
    last_dlt = np.zeros(T, dtype=np.int64)
    grade2 = np.zeros(T, dtype=np.int64)
    pdose = np.full((T, P), -1, dtype=np.int64)
    pdlt = np.full((T, P), -1, dtype=np.int64)
    pw = np.ones((T, P))
    resp = np.zeros((T, n_doses), dtype=np.int64)
    both = np.zeros((T, n_doses), dtype=np.int64)
    for t, cohorts in enumerate(trials):
        k = 0
        for c in cohorts:
            n[t, c.dose] += len(c.dlt)
            y[t, c.dose] += sum(c.dlt)
            resp[t, c.dose] += sum(c.resp)
            both[t, c.dose] += sum(r * v for r, v in zip(c.resp, c.dlt, strict=False))
            grade2[t] += sum(c.grade2)
            for v in c.dlt:
                pdose[t, k], pdlt[t, k] = c.dose, v
                k += 1
        if cohorts:
            c = cohorts[-1]
            current[t], last_n[t], last_dlt[t] = c.dose, len(c.dlt), sum(c.dlt)
            w = _weights(cohorts, window)
            pw[t, : len(w)] = w
    return DoseData(n, y, current, last_n, last_dlt, grade2, pdose, pdlt, pw, resp, both)


def _cohort(rng: np.random.Generator, dose: int, size: int, p: float, window: float | None) -> _Cohort:
    dlt = tuple(int(v) for v in rng.random(size) < p)
    g2 = tuple(int(not a and b) for a, b in zip(dlt, rng.random(size) < 0.2, strict=True))
    w = int(window) if window is not None else 21
    days = tuple(int(d) for d in rng.integers(1, max(w, 2), size))
    return _Cohort(int(dose), dlt, g2, days)


def _states(design: Design, seed: int = 20261206, n_walks: int = 10, n_cohorts: int = 4,
            n_deviating: int = 6) -> _States:  # fmt: skip
    """Walk the design on random curves, plus deviating data (see the module docstring)."""
    rng = np.random.default_rng(seed)
    eff = np.random.default_rng(seed + 1) if _uses_efficacy(design) else None
    D = design.n_doses
    window = _window(design)
    tox = np.sort(rng.uniform(0.0, 0.8, (n_walks, D)), axis=1)
    seen: dict[tuple[_Cohort, ...], bool] = {(): True}
    walks: list[tuple[_Cohort, ...]] = [() for _ in range(n_walks)]
    running = list(range(n_walks))
    for _ in range(n_cohorts):
        if not running:
            break
        dec = design.decide(_batch([walks[i] for i in running], D, window))
        still = []
        for j, i in enumerate(running):
            nxt, size = int(dec.next_dose[j]), int(dec.cohort_size[j])
            if bool(dec.stop[j]) or not 0 <= nxt < D or size < 1:
                continue  # the 'stop' contract judges inconsistent decisions
            walks[i] = (*walks[i],
                        _respond(_cohort(rng, nxt, size, float(tox[i, nxt]), window), eff))
            seen.setdefault(walks[i], True)
            still.append(i)
        running = still
    for j in range(n_deviating):
        k = int(rng.integers(1, 5))
        rate = (0.0, 0.35, 0.8)[j % 3]
        cohorts = tuple(
            _respond(_cohort(rng, int(rng.integers(0, D)),
                             int(rng.integers(1, design.cohort_size + 2)), rate, window), eff)
            for _ in range(k)
        )  # fmt: skip
        seen.setdefault(cohorts, False)
    trials = tuple(seen)
    batch = _batch(trials, D, window)
    dec, sel = _decide_select(design, batch)
    return _States(
        trials=trials, reachable=np.array([seen[t] for t in trials]), batch=batch,
        window=window, decision=dec, selection=sel,
    )  # fmt: skip


def _decide_select(design: Design, data: DoseData) -> tuple[Decision, Selection]:
    """``decide`` and ``select`` on one estimate (what each computes when given none)."""
    est = design.estimate(data) if design.uses_estimate else None
    return design.decide(data, est), design.select(data, est)


def _label(cohorts: Sequence[_Cohort]) -> str:
    return " ".join(f"{c.dose + 1}" + "".join("T" if v else "N" for v in c.dlt) for c in cohorts) or "(none)"


def _outcomes(cohorts: Sequence[_Cohort], arm: str, window: float | None,
              extra: pd.DataFrame | None = None, pending: bool = False) -> Outcomes:  # fmt: skip
    """The patients of a state as Outcomes (follow-up days for TITE, and complete follow-up
    of 365 days with ``pending``), plus ``extra`` rows."""
    rows = []
    with_resp = any(c.resp for c in cohorts)
    for ci, c in enumerate(cohorts, start=1):
        last = ci == len(cohorts)
        for k, (y, g2, d) in enumerate(zip(c.dlt, c.grade2, c.days, strict=True)):
            row: dict[str, Any] = {
                "patient_id": f"P{len(rows) + 1:03d}", "arm": arm, "dose_level": c.dose + 1,
                "dlt": y, "cohort": ci, "grade2": g2,
            }  # fmt: skip
            if with_resp:
                row["response"] = c.resp[k]
            if window is not None:
                row["followup_days"] = float(d if last and not y else window)
            elif pending:
                row["followup_days"] = 365.0
            rows.append(row)
    frame = pd.DataFrame(rows)
    if extra is not None:
        frame = pd.concat([frame, extra], ignore_index=True)
    return Outcomes.from_frame(frame)


# ----------------------------------------------------------------------------- helpers
def _decisions_equal(a: Decision, i: int, b: Decision, j: int) -> bool:
    return all(
        int(getattr(a, f)[i]) == int(getattr(b, f)[j])
        for f in ("next_dose", "cohort_size", "stop", "reason")
    )


def _show(dec: Decision, i: int) -> str:
    return (
        f"next_dose={int(dec.next_dose[i])}, cohort_size={int(dec.cohort_size[i])}, "
        f"stop={bool(dec.stop[i])}, reason={int(dec.reason[i])}"
    )


def _fail(msg: str) -> None:
    raise _Broken(msg)


def _short_horizon(design: Design) -> tuple[Design | None, str]:
    """The design capped at first cohort + two cohorts, at least 6 patients (or itself
    when self-limiting)."""
    params = design.get_params()
    horizon = max(design.first_cohort_size() + 2 * design.cohort_size, 6)
    if "max_n" in params:
        cap = horizon if design.max_n is None else min(design.max_n, horizon)
        return design.replace(max_n=cap), f"max_n = {cap}"
    if design.self_limiting:
        return design, "full horizon (self-limiting)"
    return None, "the design has neither a max_n parameter nor self_limiting"


def _fit_input(design: Design, arm: str | None) -> tuple[str | None, str]:
    """The arm name to fit a state under, or None with the reason fits are skipped."""
    if design.requires_other_arms:
        return None, (
            f"requires_other_arms: a fit needs the {', '.join(design.borrows_from)} arm's data, "
            "which count states do not hold"
        )
    if design.borrows_from and arm is None:
        return None, "the design borrows from other arms: pass arm= (its own arm's name)"
    return (arm or "mono"), ""


# ----------------------------------------------------------------------------- contracts
def _check_spec(design: Design, given: Mapping[str, Sequence[Any]] | None = None) -> str:
    name = type(design).__name__
    params = design.get_params()
    sig = inspect.signature(type(design).__init__)
    ctor = [
        p.name for p in sig.parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]  # fmt: skip
    lost = [k for k in ctor if k not in params]
    if lost:
        _fail(f"get_params() lacks constructor parameter(s) {lost}")
    if not any(p.kind == p.VAR_KEYWORD for p in sig.parameters.values()):
        extra = [k for k in params if k not in ctor]
        if extra:
            _fail(f"get_params() holds {extra}, which {name}(...) does not accept")
    spec = design.spec()
    try:
        text = json.dumps(spec, sort_keys=True)
    except (TypeError, ValueError) as err:
        _fail(f"spec() is not JSON-serialisable: {err}")
    if json.loads(text) != spec:
        _fail("spec() does not survive a JSON round-trip (non-JSON values inside)")
    if design.spec() != spec:
        _fail("spec() differs between two calls")
    again = design.replace()
    if again != design or again.spec() != spec:
        _fail(f"design.replace() != design: {_spec_diff(spec, again.spec())}")
    rebuilt = type(design)(**params)
    if rebuilt != design:
        _fail(f"{name}(**get_params()) != design: {_spec_diff(spec, rebuilt.spec())}")
    if hash(rebuilt) != hash(design):
        _fail(f"hash({name}(**get_params())) != hash(design)")
    hints = _hints(type(design))
    changed, untried = [], []
    for key in ctor:
        if key not in params:
            continue
        ok = False
        mine = [a for a in (given or {}).get(key, ()) if not _same(a, params[key])]
        for alt in [*mine, *_alternatives(params[key], hints.get(key), design)]:
            try:
                other = design.replace(**{key: alt})
            except (ValueError, TypeError):
                continue
            if other.spec() == spec:
                _fail(f"replace({key}={alt!r}) builds a design, but its spec() is unchanged")
            ok = True
            break
        (changed if ok else untried).append(key)
    if not changed:
        _fail("no parameter could be changed with replace()")
    note = f"{len(changed)} parameters changed one at a time"
    return note + (f"; no valid alternative generated for {untried}" if untried else "")


def _spec_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    keys = sorted(set(a) | set(b))
    diff = [f"{k}: {a.get(k, '<missing>')!r} vs {b.get(k, '<missing>')!r}" for k in keys
            if a.get(k, "<missing>") != b.get(k, "<missing>")]  # fmt: skip
    return "; ".join(diff) or "specs equal but designs differ"


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except Exception:  # names only importable under TYPE_CHECKING: no hints
        return {}


def _hint_types(hint: Any) -> list[type]:
    if hint is None:
        return []
    args = typing.get_args(hint)
    members = args if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    out = []
    for m in members:
        origin = typing.get_origin(m) or m
        if isinstance(origin, type) and origin is not type(None):
            out.append(origin)
    return out


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except Exception:  # e.g. arrays: compare as different
        return False


def _alternatives(value: Any, hint: Any, design: Design, depth: int = 0) -> list[Any]:
    """Candidate other values of one parameter (the first valid one is used)."""
    return [a for a in _candidates(value, hint, design, depth) if not _same(a, value)]


def _candidates(value: Any, hint: Any, design: Design, depth: int) -> list[Any]:
    D = design.n_doses
    if value is None:
        out: list[Any] = []
        for t in _hint_types(hint):
            if t is bool:
                out.append(True)
            elif t is int:
                out += [12, 9]
            elif t is float:
                out += [2.0, 21.0]
            elif t in (tuple, list):
                out.append(tuple(float(i + 1) for i in range(D)))
            elif issubclass(t, StoppingRule):
                out.append(MaxPatients(12))
            elif issubclass(t, Slot):  # the registered slots of that kind with defaults
                for cls in slot_types(getattr(t, "kind", None) or None).values():
                    if issubclass(cls, t):
                        try:
                            out.append(cls())
                        except (TypeError, ValueError):
                            continue
            elif issubclass(t, Outcomes):
                out.append(Outcomes.parse("1NNN"))
            elif dataclasses.is_dataclass(t):
                try:
                    out.append(t())
                except Exception:
                    continue
        return out
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, (int, np.integer)):
        return [int(value) + 1, int(value) - 1]
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return [v * 0.9, v * 1.1, v + 0.01, v - 0.01]
    if isinstance(value, str):
        return []
    if isinstance(value, (tuple, list)) and value and all(
        isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) for x in value
    ):
        if all(isinstance(x, (int, np.integer)) for x in value):
            return [tuple(int(x) + 1 for x in value)]
        return [tuple(float(x) * 0.9 for x in value), tuple(float(x) * 1.1 for x in value)]
    if isinstance(value, StoppingRule):
        return [MaxPatients(97)]
    if isinstance(value, Slot):  # one parameter changed at a time
        out = []
        params = value.params()
        for k, v in params.items():
            for alt in _alternatives(v, None, design, depth + 1):
                try:
                    out.append(type(value)(**{**params, k: alt}))
                    break
                except (ValueError, TypeError):
                    continue
        return out
    if isinstance(value, Outcomes):
        arm = value.arms[0] if value.arms else "mono"
        return [Outcomes.parse("1NNT", arm=arm), Outcomes.parse("1NNN", arm=arm)]
    if depth == 0 and isinstance(value, Design):
        hints = _hints(type(value))
        out = []
        for k, v in value.get_params().items():
            for alt in _alternatives(v, hints.get(k), value, depth + 1):
                try:
                    out.append(value.replace(**{k: alt}))
                    break
                except (ValueError, TypeError):
                    continue
            if len(out) >= 3:
                break
        return out
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = []
        for f in dataclasses.fields(value):
            for alt in _alternatives(getattr(value, f.name), None, design, depth + 1):
                try:
                    out.append(dataclasses.replace(value, **{f.name: alt}))
                    break
                except (ValueError, TypeError):
                    continue
        return out
    return []


def _check_vectorised(design: Design, st: _States) -> str:
    batch, dec, sel = st.batch, st.decision, st.selection
    for i, cohorts in enumerate(st.trials):
        one = batch.take(np.array([i]))
        d1, s1 = _decide_select(design, one)
        if not _decisions_equal(dec, i, d1, 0):
            _fail(
                f"state {i} ({_label(cohorts)}): in a batch of {batch.n_trials} trials "
                f"{_show(dec, i)}; alone {_show(d1, 0)}"
            )
        if int(sel.dose[i]) != int(s1.dose[0]) or bool(sel.is_mad[i]) != bool(s1.is_mad[0]):
            _fail(
                f"state {i} ({_label(cohorts)}): select in a batch gives dose "
                f"{int(sel.dose[i])} (is_mad={bool(sel.is_mad[i])}), alone {int(s1.dose[0])} "
                f"(is_mad={bool(s1.is_mad[0])})"
            )
    return f"{batch.n_trials} states ({int(st.reachable.sum())} walked, {int((~st.reachable).sum())} deviating)"


def _check_stop_arrays(design: Design, dec: Decision, st: _States) -> None:
    D = design.n_doses
    for i, cohorts in enumerate(st.trials):
        stop, nxt, size = bool(dec.stop[i]), int(dec.next_dose[i]), int(dec.cohort_size[i])
        if stop and (nxt != NONE or size != 0):
            _fail(f"state {i} ({_label(cohorts)}) stops but {_show(dec, i)}")
        if not stop and not (0 <= nxt < D and size >= 1):
            _fail(f"state {i} ({_label(cohorts)}) does not stop but {_show(dec, i)}")


def _check_stop(design: Design, st: _States, arm: str | None) -> str:
    dec = st.decision
    _check_stop_arrays(design, dec, st)
    own, why = _fit_input(design, arm)
    if own is None:
        return f"decisions of {st.batch.n_trials} states; fits skipped: {why}"
    stopped = [st.trials[i] for i in range(len(st.trials)) if dec.stop[i] and st.reachable[i]]
    if not stopped:  # no walk stopped within its cohorts: walk one on until it stops
        ends = _walk_to_stop(design, st)
        stopped = [] if ends is None else [ends]
    for cohorts in stopped[:2]:
        fit = design.fit(_outcomes(cohorts, own, st.window))
        if not fit.stop or fit.next_dose is not None or fit.cohort_size is not None:
            _fail(
                f"fit on {_label(cohorts)} (a stopped state): stop={fit.stop}, "
                f"next_dose={fit.next_dose}, cohort_size={fit.cohort_size}"
            )
    going = [i for i in range(len(st.trials)) if not dec.stop[i] and st.trials[i]]
    held = []
    for i in going[:2]:
        unknown = pd.DataFrame(
            [{"patient_id": "P999", "arm": own, "dose_level": int(dec.next_dose[i]) + 1,
              "dlt": pd.NA, "cohort": len(st.trials[i]) + 1, "grade2": 0,
              **({"followup_days": float(st.window)} if st.window is not None else {})}]
        )  # fmt: skip
        held.append((f"{_label(st.trials[i])} + a patient of unknown DLT status",
                     _outcomes(st.trials[i], own, st.window, extra=unknown)))  # fmt: skip
        if st.window is None:  # a TITE design weights pending patients instead
            pending = unknown.assign(dlt=0, followup_days=2.0)
            held.append((f"{_label(st.trials[i])} + a patient 2 days into the DLT window",
                         _outcomes(st.trials[i], own, None, extra=pending, pending=True)))  # fmt: skip
    for what, out in held:
        fit = design.fit(out)
        if not fit.hold or fit.next_dose is not None or fit.cohort_size is not None or fit.stop:
            _fail(
                f"fit on {what}: hold={fit.hold}, next_dose={fit.next_dose}, "
                f"cohort_size={fit.cohort_size}, stop={fit.stop} (a held fit has no next dose "
                "and does not stop)"
            )
    return (
        f"decisions of {st.batch.n_trials} states; fits: {len(stopped[:2])} stopped, "
        f"{len(held)} held"
    )


def _walk_to_stop(design: Design, st: _States, limit: int = 60) -> tuple[_Cohort, ...] | None:
    """A trial walked from the longest walked state until the design stops (None if it
    does not within ``limit`` cohorts)."""
    rng = np.random.default_rng(7)
    eff = np.random.default_rng(8) if _uses_efficacy(design) else None
    walked = [t for i, t in enumerate(st.trials) if st.reachable[i]]
    cohorts = max(walked, key=lambda t: sum(len(c.dlt) for c in t))
    D = design.n_doses
    for _ in range(limit):
        dec = design.decide(_batch([cohorts], D, st.window))
        if bool(dec.stop[0]):
            return cohorts
        nxt, size = int(dec.next_dose[0]), int(dec.cohort_size[0])
        if not 0 <= nxt < D or size < 1:
            return None  # judged by the decision checks
        cohorts = (*cohorts, _respond(_cohort(rng, nxt, size, 0.3, st.window), eff))
    return None


def _explain_fields_ok(text: Any, where: str, reached: bool) -> None:
    if not isinstance(text, str) or not text:
        _fail(f"{where}: explain returned {text!r}")
    if _UNFILLED.search(text):
        _fail(f"{where}: unfilled field in {text!r}")
    if reached and _BAD_LEVEL.search(text):
        _fail(f"{where}: {text!r} names a level that does not exist")


def _check_reasons(design: Design, st: _States, paths: Any = None) -> str:
    batch, dec = st.batch, st.decision
    templates = design.reasons
    codes = set()
    for i, cohorts in enumerate(st.trials):
        r = int(dec.reason[i])
        if not 0 <= r < len(templates):
            _fail(f"state {i} ({_label(cohorts)}): reason code {r} outside 0..{len(templates) - 1}")
        codes.add(r)
        where = f"state {i} ({_label(cohorts)}), reason {r} {templates[r]!r}"
        try:
            text = design.explain(batch, dec, i)
        except (KeyError, IndexError, ValueError, AttributeError, TypeError) as err:
            _fail(f"{where}: explain raised {type(err).__name__}: {err}")
        _explain_fields_ok(text, where, reached=True)
    tree = ""
    if paths is not None:  # decisions of the short-horizon design's dose paths
        d = paths.design
        dec_p = Decision(np.where(paths.stop, NONE, paths.next_dose - 1), paths.cohort_size,
                         paths.stop, paths.reason_code)  # fmt: skip
        labels = None
        reached = np.unique(paths.reason_code)
        for r in reached:
            for i in np.flatnonzero(paths.reason_code == r)[:_NODES_PER_CODE]:
                if not 0 <= int(r) < len(d.reasons):
                    _fail(f"dose path node {i}: reason code {int(r)} outside 0..{len(d.reasons) - 1}")
                where = f"dose path node {i}, reason {int(r)} {d.reasons[int(r)]!r}"
                try:
                    text = d.explain(paths.state, dec_p, int(i))
                except (KeyError, IndexError, ValueError, AttributeError, TypeError) as err:
                    labels = labels or paths.labels()
                    _fail(f"{where} ({labels[i]}): explain raised {type(err).__name__}: {err}")
                _explain_fields_ok(text, where, reached=True)
        codes |= {int(r) for r in reached}
        tree = f" (states and {paths.n_nodes} dose-path nodes)"
    # every template, on a treated state, both as a stop and as a next dose
    some = [i for i, t in enumerate(st.trials) if t and st.reachable[i]] or [
        i for i, t in enumerate(st.trials) if t
    ]
    one = batch.take(np.array(some[:1]))
    cur = int(one.current[0])
    for code, template in enumerate(templates):
        for stop in (True, False):
            fake = Decision(
                np.array([NONE if stop else cur]), np.array([0 if stop else design.cohort_size]),
                np.array([stop]), np.array([code]),
            )  # fmt: skip
            where = f"reason code {code} {template!r} ({'stop' if stop else 'next dose'})"
            try:
                text = design.explain(one, fake, 0)
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as err:
                _fail(f"{where}: explain raised {type(err).__name__}: {err}")
            _explain_fields_ok(text, where, reached=False)
    return f"{len(templates)} templates; {len(codes)} codes reached{tree}"


def _scope(design: Design) -> str:
    scope = getattr(design, "selection_scope", "treated")
    if scope not in ("treated", "tried_range", "any"):
        _fail(f"selection_scope must be 'treated', 'tried_range' or 'any', got {scope!r}")
    return scope


def _check_selected(design: Design, n: np.ndarray, dose: np.ndarray, labels: Callable[[int], str],
                    scope: str) -> None:  # fmt: skip
    D = design.n_doses
    for i in range(len(dose)):
        d = int(dose[i])
        if d == NONE:
            continue
        if not 0 <= d < D:
            _fail(f"{labels(i)}: selected dose index {d} outside 0..{D - 1}")
        if scope == "treated" and n[i, d] <= 0:
            _fail(
                f"{labels(i)}: selects level {d + 1}, which no patient received (n = "
                f"{n[i].tolist()}); a design that may do so declares selection_scope"
            )
        if scope == "tried_range":
            tried = np.flatnonzero(n[i] > 0)
            top = int(tried[-1]) if tried.size else -1
            if d > top:
                _fail(f"{labels(i)}: selects level {d + 1} above the highest level tried ({top + 1})")


def _check_selection(design: Design, st: _States, sims: Any) -> str:
    scope = _scope(design)
    idx = np.flatnonzero(st.reachable)
    data = st.batch.take(idx)
    sel = st.selection
    _check_selected(design, data.n, sel.dose[idx], lambda i: f"state {_label(st.trials[idx[i]])}", scope)
    note = f"scope {scope!r}: {len(idx)} walked states"
    if sims is not None:
        for si, scen in enumerate(sims["scenario"].values):
            n = sims["n"].values[0, si]
            selected = sims["selected"].values[0, si].astype(np.int64) - 1
            _check_selected(design, n, selected, lambda i, s=scen: f"simulated trial {i} ({s})",
                            scope)  # fmt: skip
        note += f", {sims.sizes['trial']} simulated trials x {sims.sizes['scenario']} curves"
    return note


def _check_fit(design: Design, st: _States, arm: str | None) -> str:
    own, why = _fit_input(design, arm)
    if own is None:
        raise _Skip(why)
    dec = st.decision
    idx = [i for i in range(len(st.trials)) if st.trials[i]]
    pick = idx[:: max(1, len(idx) // 6)][:6]
    for i in pick:
        fit = design.fit(_outcomes(st.trials[i], own, st.window))
        want_next = None if dec.stop[i] else int(dec.next_dose[i]) + 1
        want_size = None if dec.stop[i] else int(dec.cohort_size[i])
        if (fit.next_dose, fit.cohort_size, fit.stop) != (want_next, want_size, bool(dec.stop[i])):
            _fail(
                f"on {_label(st.trials[i])}: fit gives next_dose={fit.next_dose}, cohort_size="
                f"{fit.cohort_size}, stop={fit.stop}; decide gives {_show(dec, i)} (0-based)"
            )
    return f"{len(pick)} fits"


def _check_last_cohort(design: Design, st: _States) -> str:
    if design.uses_last_cohort:
        raise _Skip("uses_last_cohort=True (decisions may read the last cohort)")
    b, dec, sel = st.batch, st.decision, st.selection
    at_cur_n, at_cur_y = b.at_current(b.n), b.at_current(b.dlt)
    variants = {
        "no last cohort (last_n = last_dlt = 0)": (np.zeros_like(b.last_n), np.zeros_like(b.last_dlt)),
        "last cohort = every patient at the current dose": (at_cur_n, at_cur_y),
        "last cohort = one patient with a DLT": (np.minimum(at_cur_n, 1), np.minimum(at_cur_y, 1)),
    }  # fmt: skip
    for what, (ln, ld) in variants.items():
        other = dataclasses.replace(b, last_n=ln, last_dlt=ld)
        d2, s2 = _decide_select(design, other)
        for i, cohorts in enumerate(st.trials):
            if not _decisions_equal(dec, i, d2, i):
                _fail(
                    f"uses_last_cohort=False, but on state {i} ({_label(cohorts)}) with {what} "
                    f"the decision changes from {_show(dec, i)} to {_show(d2, i)}"
                )
            if int(sel.dose[i]) != int(s2.dose[i]):
                _fail(
                    f"uses_last_cohort=False, but on state {i} ({_label(cohorts)}) with {what} "
                    f"the selection changes from {int(sel.dose[i])} to {int(s2.dose[i])}"
                )
    return f"{len(variants)} variants of the last cohort on {b.n_trials} states"


def _check_self_limiting(design: Design) -> str:
    if not design.self_limiting:
        raise _Skip("self_limiting=False (trials need max_n or a stopping rule to end)")
    if design.requires_other_arms:
        raise _Skip("requires_other_arms: count states lack the other arm's data")
    D = design.n_doses
    limit = SELF_LIMIT_COHORTS * D
    p = np.linspace(0.1, 0.6, D)
    frontier = DoseData.empty(1, D)
    prob = np.ones(1)
    for k in range(limit + 1):
        dec = design.decide(frontier)
        go = ~dec.stop
        if not go.any():
            return f"every path ends within {k} cohorts (bound {limit})"
        if frontier.n_trials > _FRONTIER_GUARD:
            break
        frontier, prob = expand_frontier(
            frontier.take(go), prob[go], dec.next_dose[go], dec.cohort_size[go], p,
            keep_last_cohort=design.uses_last_cohort,
        )  # fmt: skip
    _fail(
        f"self_limiting=True, but without max_n {int(frontier.n_trials)} states are still "
        f"running after {k} cohorts (bound {limit} = {SELF_LIMIT_COHORTS} x n_doses)"
    )
    return ""  # pragma: no cover - _fail raises


def _check_uses_estimate(design: Design, st: _States) -> str:
    if design.uses_estimate:
        raise _Skip("uses_estimate=True (decide estimates when no estimate is given)")
    b = st.batch
    a = design.decide(b, None)
    est = design.estimate(b)
    c = design.decide(b, est)
    for i, cohorts in enumerate(st.trials):
        if not _decisions_equal(a, i, c, i):
            _fail(
                f"uses_estimate=False, but on state {i} ({_label(cohorts)}) decide(data, None) "
                f"gives {_show(a, i)} and decide(data, estimate) {_show(c, i)}"
            )
    return f"{b.n_trials} states"


class _Skip(Exception):
    """A contract does not apply (the message says why)."""


def _scenarios(n_doses: int) -> dict[str, np.ndarray]:
    """True DLT curves of the ``exact`` contract: rising through the usual targets, and
    toxic from the first level (so stopping rules fire)."""
    return {
        "rising": np.round(np.linspace(0.05, 0.5, n_doses), 4),
        "toxic": np.round(np.linspace(0.35, 0.8, n_doses), 4),
    }


def _simulate_short(design: Design) -> tuple[Any, Design, str]:
    capped, how = _short_horizon(design)
    if capped is None:
        raise _Skip(how)
    if design.requires_other_arms:
        raise _Skip("requires_other_arms: simulation refuses a design whose decisions need "
                    "another arm's data")  # fmt: skip
    if getattr(design, "tite_window", None) is not None:
        raise _Skip("tite_window: cohort-time simulation refuses TITE designs (every "
                    "follow-up would count as complete); they simulate with timeline= "
                    "(tests/test_tite.py)")  # fmt: skip
    scen = _scenarios(design.n_doses)
    eff = ({s: np.full(design.n_doses, 0.4) for s in scen} if _uses_efficacy(design)
           else None)  # fmt: skip
    sims = simulate(
        {"design": capped}, scenarios=scen, n_trials=N_SIM_TRIALS, seed=20261206,
        progress=False, efficacy=eff,
    )  # fmt: skip
    return sims, capped, how


def _paths(capped: Design) -> Any:
    """Every dose path of the short-horizon design."""
    if _uses_efficacy(capped):
        raise _Skip("uses_efficacy: dose paths and exact enumeration branch on DLTs only, "
                    "not on responses")  # fmt: skip
    return dose_paths(capped, cohort_sizes=None, max_cohorts=SELF_LIMIT_COHORTS * capped.n_doses)


def _exact_var_n(paths: Any, p: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Exact variance of the patients per level at the end of a trial, from the leaves of
    the full dose-path tree (the SE of a simulated mean is ``sqrt(var / N)``)."""
    step = np.ones(paths.n_nodes)
    kids = paths.parent >= 0
    step[kids] = binom_pmf(paths.cohort_dlt[kids], paths.cohort_n[kids],
                           p[paths.cohort_dose[kids] - 1])  # fmt: skip
    prob = step.copy()
    for d in range(1, int(paths.depth.max()) + 1):  # parents are one level up
        at = paths.depth == d
        prob[at] = prob[paths.parent[at]] * step[at]
    leaf = paths.is_leaf
    n = paths.state.n[leaf].astype(float)
    return np.maximum(prob[leaf] @ n**2 - mean**2, 0.0)


def _check_exact(design: Design, sims: Any, capped: Design, how: str, paths: Any) -> str:
    D = design.n_doses
    N = N_SIM_TRIALS
    states = []
    for si, (scen, p) in enumerate(_scenarios(D).items()):
        oc = exact_operating_characteristics(capped, p, max_cohorts=SELF_LIMIT_COHORTS * D)
        states.append(oc.n_states)
        tree = paths.probabilities(p)
        for what, a, b in (
            ("P(select)", tree.p_select, oc.p_select), ("P(no MTD)", tree.p_no_mtd, oc.p_no_mtd),
            ("E[n per level]", tree.expected_n_per_dose, oc.expected_n_per_dose),
        ):  # fmt: skip
            if not np.allclose(a, b, rtol=0, atol=1e-9):
                _fail(
                    f"{scen} curve {p.tolist()}: dose_paths and "
                    f"exact_operating_characteristics disagree on {what}: {a} vs {b}"
                )
        where = f"on a short horizon ({how}), {scen} true DLT curve {p.tolist()}"
        selected = sims["selected"].values[0, si].astype(np.int64)  # 1-based, 0 = none
        sim_sel = np.bincount(selected, minlength=D + 1) / N
        exact_sel = np.concatenate([[oc.p_no_mtd], oc.p_select])
        tol = SIM_SE * np.sqrt(exact_sel * (1 - exact_sel) / N) + 1.0 / N
        bad = np.abs(sim_sel - exact_sel) > tol
        if bad.any():
            k = int(np.argmax(bad))
            what = "P(no MTD)" if k == 0 else f"P(select level {k})"
            _fail(
                f"{where}: {what} is {exact_sel[k]:.4f} exactly but {sim_sel[k]:.4f} in {N} "
                f"simulated trials (tolerance {tol[k]:.4f} = {SIM_SE:g} SE + 1/{N})"
            )
        n = sims["n"].values[0, si].astype(float)
        mean = n.mean(axis=0)
        var = _exact_var_n(paths, p, oc.expected_n_per_dose)
        tol_n = SIM_SE * np.sqrt(var / N) + 1.0 / N
        bad = np.abs(mean - oc.expected_n_per_dose) > tol_n
        if bad.any():
            k = int(np.argmax(bad))
            _fail(
                f"{where}: E[patients at level {k + 1}] is {oc.expected_n_per_dose[k]:.4f} "
                f"exactly but {mean[k]:.4f} simulated (tolerance {tol_n[k]:.4f} = {SIM_SE:g} SE "
                f"+ 1/{N})"
            )
    return (
        f"{how}; 2 curves; {'/'.join(map(str, states))} terminal states, {paths.n_nodes} path "
        f"nodes, {N} trials each"
    )


def _check_other_arms(design: Design) -> str:
    from .compare import reads_all_arms

    borrows = tuple(design.borrows_from)
    if reads_all_arms(design) != bool(borrows):
        _fail(f"compare.reads_all_arms is {reads_all_arms(design)} but borrows_from is {borrows}")
    if design.requires_other_arms and not borrows:
        _fail("requires_other_arms is True but borrows_from names no arm")
    if not design.requires_other_arms:
        return f"borrows_from {borrows}; counts of the design's own arm suffice"
    for what, run in (
        ("simulate", lambda: simulate({"d": design}, [0.2] * design.n_doses, n_trials=1,
                                      max_n=3, progress=False)),
        ("dose_paths", lambda: dose_paths(design, cohort_sizes=[1])),
    ):  # fmt: skip
        try:
            run()
        except ValueError:
            continue
        _fail(f"requires_other_arms is True, but {what} runs on counts that lack the other arm")
    return f"borrows_from {borrows}; simulate and dose_paths refuse the design"


class _Probe:
    """An engine that records the model and options a design passes, then delegates."""

    def __init__(self, name: str, inner: Any) -> None:
        self.name = name
        self.inner = inner
        self.vectorised = inner.vectorised
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def estimate(self, model: Any, evidence: Any, *, resolution: Any = None, **options: Any) -> Any:
        self.calls.append((model, dict(options)))
        return self.inner.estimate(model, evidence, resolution=resolution, **options)


def _probe_estimate(design: Design, data: DoseData, inner: str, **kwargs: Any) -> tuple[Any, _Probe]:
    probe = _Probe(f"_contract_probe_{inner}", engines[inner])
    engines.register(probe)
    try:
        est = design.estimate(data, engine=probe.name, **kwargs)
    finally:
        engines.unregister(probe.name)
    return est, probe


def _mcmc_engines(mcmc: bool | Iterable[str]) -> list[str]:
    if mcmc is True:
        return sorted(k for k in engines if not engines[k].vectorised)
    return [str(m) for m in mcmc]  # type: ignore[union-attr]


def _check_mcmc(design: Design, st: _States, names: list[str]) -> str:
    from .inference.adapters import adapter_for

    if not design.uses_estimate:
        raise _Skip("uses_estimate=False: decisions read no posterior")
    cand = [i for i, t in enumerate(st.trials)
            if st.reachable[i] and sum(len(c.dlt) for c in t) >= 4 and any(sum(c.dlt) for c in t)]  # fmt: skip
    if not cand:
        cand = [i for i, t in enumerate(st.trials) if t]
    i = cand[0]
    data = st.batch.take(np.array([i]))
    grid, probe = _probe_estimate(design, data, "grid")
    if not probe.calls:
        raise _Skip("the design's estimate calls no engine")
    notes = []
    for name in names:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MCMCWarning)
            est, probe = _probe_estimate(design, data, name, **MCMC_SETTINGS)
        model, options = probe.calls[-1]
        summary_opts = {k: v for k, v in options.items() if k not in SETTINGS}
        post = est.posterior.posterior
        scalars = [v for v in post.data_vars if post[v].dims == ("chain", "draw")]
        C, S = post.sizes["chain"], post.sizes["draw"]
        edges = np.linspace(0, S, _BATCHES_PER_CHAIN + 1).astype(int)
        means = []
        for c in range(C):
            for a, b in itertools.pairwise(edges):
                draws = {v: np.asarray(post[v].values[c, a:b], dtype=float) for v in scalars}
                means.append(adapter_for(model).summarise(model, draws, **summary_opts).prob_mean[0])
        means = np.asarray(means)
        mcse = means.std(axis=0, ddof=1) / np.sqrt(len(means))
        tol = np.maximum(0.01, 3 * mcse)
        diff = np.abs(np.asarray(est.prob_mean[0]) - np.asarray(grid.prob_mean[0]))
        if np.any(diff > tol):
            k = int(np.argmax(diff - tol))
            _fail(
                f"engine {name!r} on {_label(st.trials[i])}: posterior mean DLT probability at "
                f"level {k + 1} is {est.prob_mean[0][k]:.4f}, grid {grid.prob_mean[0][k]:.4f} "
                f"(tolerance max(0.01, 3 MC SE) = {tol[k]:.4f})"
            )
        notes.append(f"{name}: max |diff| {diff.max():.4f}")
    return f"on {_label(st.trials[i])}: " + ", ".join(notes)


# ----------------------------------------------------------------------------- entry point
def check_design(
    design: Design,
    *,
    mcmc: bool | Iterable[str] = False,
    only: Iterable[str] | None = None,
    arm: str | None = None,
    alternatives: Mapping[str, Sequence[Any]] | None = None,
) -> ContractReport:
    """Check that ``design`` keeps every design contract (see the module docstring).

    Parameters
    ----------
    design : Design
        Any design (a package design or a subclass of :class:`bayes_dose.Design`).
    mcmc : bool or sequence of str
        Also compare MCMC engines with the grid engine (``True``: every registered
        engine that is not vectorised, i.e. ``"pymc"`` and ``"nutpie"``; or the names).
        Each engine samples 2 x 1,000 draws; nutpie compiles its model once per process.
    only : iterable of str, optional
        Run these contract keys only (:data:`CONTRACTS`).
    arm : str, optional
        Name of the design's own arm in the data its ``fit`` reads; needed only by a
        design that borrows other arms' data (``CombinationBLRM``: ``"combo"``).
    alternatives : mapping of str to sequence, optional
        Other valid values of parameters, tried first by the ``spec`` contract (it makes
        its own for numbers, flags, tuples, rules, slots, priors and nested designs, but cannot
        guess the choices of a string parameter such as ``variant``).

    Returns
    -------
    ContractReport
        The contracts checked, with what they checked, and those that did not apply.

    Raises
    ------
    AssertionError
        Naming each broken contract (``design contract 'key' (what it promises) broken
        by ClassName: the evidence``).
    ValueError
        ``design`` is not a Design, or ``only`` names an unknown contract.
    """
    if not isinstance(design, Design):
        raise ValueError(f"check_design: expected a Design, got {type(design).__name__}")
    keys = list(CONTRACTS) if only is None else list(only)
    unknown = [k for k in keys if k not in CONTRACTS]
    if unknown:
        raise ValueError(f"check_design: unknown contract(s) {unknown}; known: {list(CONTRACTS)}")
    name = type(design).__name__
    checked: list[str] = []
    skipped: dict[str, str] = {k: "not requested (only=...)" for k in CONTRACTS if k not in keys}
    notes: dict[str, str] = {}
    broken: list[tuple[str, str, BaseException]] = []
    cache: dict[str, Any] = {}

    def states() -> _States:
        if "states" not in cache:
            cache["states"] = _states(design)
        return cache["states"]

    def sims() -> tuple[Any, Design, np.ndarray, str]:
        if "sims" not in cache:
            try:
                cache["sims"] = _simulate_short(design)
            except _Skip as why:
                cache["sims"] = why
        if isinstance(cache["sims"], _Skip):
            raise cache["sims"]
        return cache["sims"]

    def paths() -> Any:
        if "paths" not in cache:
            cache["paths"] = _paths(sims()[1])
        return cache["paths"]

    def paths_or_none() -> Any:
        try:
            return paths()
        except _Skip:
            return None

    def sims_or_none() -> Any:
        try:
            return sims()[0]
        except _Skip:
            return None

    runners: dict[str, Callable[[], str]] = {
        "spec": lambda: _check_spec(design, alternatives),
        "vectorised": lambda: _check_vectorised(design, states()),
        "stop": lambda: _check_stop(design, states(), arm),
        "reasons": lambda: _check_reasons(design, states(), paths_or_none()),
        "selection": lambda: _check_selection(design, states(), sims_or_none()),
        "fit": lambda: _check_fit(design, states(), arm),
        "last_cohort": lambda: _check_last_cohort(design, states()),
        "self_limiting": lambda: _check_self_limiting(design),
        "uses_estimate": lambda: _check_uses_estimate(design, states()),
        "exact": lambda: _check_exact(design, *sims(), paths()),
        "other_arms": lambda: _check_other_arms(design),
        "mcmc": lambda: _check_mcmc(design, states(), _mcmc_engines(mcmc)),
    }
    try:
        spec_before = json.dumps(design.spec(), sort_keys=True)
    except Exception:  # the 'spec' contract reports it
        spec_before = None
    for key in keys:
        if key == "mcmc" and mcmc is False:
            skipped[key] = "not requested (mcmc=False)"
            continue
        try:
            notes[key] = runners[key]()
            checked.append(key)
        except _Skip as why:
            skipped[key] = str(why)
        except _Broken as err:
            broken.append((key, str(err), err))
        except Exception as err:  # a design raising inside a contract breaks it
            broken.append((key, f"raised {type(err).__name__}: {err}", err))
    if "spec" in checked and spec_before != json.dumps(design.spec(), sort_keys=True):
        checked.remove("spec")
        msg = "spec() changed while the design was used (decide / select / fit)"
        broken.append(("spec", msg, _Broken(msg)))
    if broken:
        text = "\n".join(
            f"design contract {k!r} ({CONTRACTS[k]}) broken by {name}: {msg}" for k, msg, _ in broken
        )
        raise AssertionError(text) from broken[0][2]
    return ContractReport(design=name, checked=tuple(checked), skipped=skipped, notes=notes)


# ----------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class DesignCase:
    """One registered design configuration and the :func:`check_design` options it needs."""

    design: Design
    options: Mapping[str, Any] = field(default_factory=dict)


def registered_designs() -> dict[str, DesignCase]:
    """Every design configuration of the package that the contract suite checks in CI.

    Covers each design class: ThreePlusThree (both variants, with and without accelerated
    titration), BOIN (plain, and with its options and a stopping rule), CRM (empiric,
    logistic with MLE and posterior-mean selection, TITE), BLRM (plain, and with
    titration, an escalation limit and a stopping rule), CombinationBLRM (borrowing
    from stored ``mono_data``, borrowing without it, and not borrowing), BOIN12 (states
    with responses; simulated with efficacy), the rule slots (BOIN with relative
    increments and coherence), and every design a user registered
    (:func:`bayes_dose.register_design`) whose class has an ``example()`` classmethod
    returning a configured design (case ``"<name> (registered)"``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> cases = bd.testing.registered_designs()
    >>> sorted({type(c.design).__name__ for c in cases.values()})
    ['BLRM', 'BOIN', 'BOIN12', 'CRM', 'CombinationBLRM', 'ThreePlusThree']
    """
    from .designs import registry, rules, slots
    from .designs.blrm import BLRM
    from .designs.boin import BOIN
    from .designs.boin12 import BOIN12
    from .designs.combo_blrm import CombinationBLRM
    from .designs.crm import CRM, crm_skeleton
    from .designs.three_plus_three import ThreePlusThree
    from .examples import bat6021_outcomes
    from .protocols import bat6021

    proto = bat6021()
    mono_mg = proto.arm("mono").doses_mg
    skel = crm_skeleton(0.25, 0.05, mtd_guess=3, n_doses=5)
    mono = BLRM(mono_mg, reference_dose=300)
    small = (5, 5, 15, 21)  # a coarse combination grid keeps the suite fast
    # (method="grid": the prior grid alone, flagging what it does not resolve; the
    # certified quadrature of method="auto" is tested in tests/test_combo_engine.py)
    mono_data = bat6021_outcomes().arm("mono")
    combo_mg = proto.arm("combo").doses_mg
    tpt = {"alternatives": {"variant": ["escalation_only", "deescalation"]}}
    crm = {"alternatives": {"link": ["logistic", "empiric"], "method": ["mle", "bayes"],
                            "selection": ["posterior_mean", "plugin"]}}  # fmt: skip
    cases = {
        "3+3": DesignCase(ThreePlusThree(6), tpt),
        "3+3 escalation-only": DesignCase(ThreePlusThree(6, variant="escalation_only"), tpt),
        "3+3 titration": DesignCase(
            ThreePlusThree(8, titration_levels=3, titration_grade2=True), tpt
        ),
        "3+3 escalation-only titration start 2": DesignCase(
            ThreePlusThree(6, titration_levels=3, variant="escalation_only", start_level=2), tpt
        ),
        "BOIN": DesignCase(BOIN(target=0.3, n_doses=5, max_n=24)),
        "BOIN options": DesignCase(
            BOIN(target=0.25, n_doses=6, cohort_size=3, max_n=30, p_saf=0.15, p_tox=0.35,
                 elimination_cutoff=0.9, extrasafe=True, offset=0.1, n_earlystop=9,
                 titration_levels=2, stopping=rules.PatientsAtDose(6) & rules.MinPatients(12))
        ),
        "BOIN12": DesignCase(BOIN12(target=0.3, n_doses=5, phi_e=0.2, max_n=24)),
        "CRM empiric": DesignCase(CRM(skel, target=0.25, max_n=18), crm),
        "CRM logistic mle": DesignCase(
            CRM(crm_skeleton(0.25, 0.05, 3, 5, link="logistic"), target=0.25, link="logistic",
                cohort_size=2, max_n=16, method="mle", selection="posterior_mean", coherent=False),
            crm,
        ),
        "TITE-CRM": DesignCase(
            CRM(skel, target=0.25, cohort_size=1, max_n=12, tite_window=21), crm
        ),
        "BLRM": DesignCase(mono.replace(max_n=24)),
        "BLRM options": DesignCase(
            mono.replace(max_n=24, titration_levels=3, max_increment=3.5, ewoc=0.3,
                         stopping=rules.PatientsAtDose(9))
        ),
        "combo BLRM mono_data": DesignCase(
            CombinationBLRM(mono=mono, doses=combo_mg, grid=small, max_n=15, mono_data=mono_data,
                            method="grid"),
            {"arm": "combo"},
        ),
        "combo BLRM needs mono arm": DesignCase(
            CombinationBLRM(mono=mono, doses=combo_mg, grid=small, max_n=15, method="grid"),
            {"arm": "combo"},
        ),
        "combo BLRM no borrowing": DesignCase(
            CombinationBLRM(mono=mono, doses=combo_mg, grid=small, max_n=15, borrow=False,
                            method="grid"),
            {"arm": "combo"},
        ),
        "BOIN slots": DesignCase(
            BOIN(target=0.3, n_doses=5, max_n=18, doses_mg=(10, 20, 40, 100, 150),
                 escalation_limit=slots.RelativeIncrements(1.0), coherence=slots.Coherence(0.3))
        ),
    }
    covered = {type(c.design) for c in cases.values()}
    for name, cls in registry.designs().items():
        example = getattr(cls, "example", None)
        if cls not in covered and callable(example):
            cases[f"{name} (registered)"] = DesignCase(example())
    return cases
