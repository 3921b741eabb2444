"""Slot ``backfill``: patients treated at lower, cleared doses while escalation waits.

Semantics follow crmPack 2.1's ``Backfill`` (an opening rule, a recruitment ratio, caps
and a priority among the open doses) and BF-BOIN (Zhao, Yuan, Korn & Freidlin 2024,
*Clin Cancer Res* 30:673):

* **Opening** (combinable with ``&`` / ``|``): :class:`OpensWhenCleared` (escalation has
  moved above the dose after a complete cohort there), :class:`AtOrBelowCurrent`,
  :class:`BelowCurrent`, :class:`MinResponses` (at least ``k`` responders at the dose).
* **Closing**: a dose is closed for backfill when the design's own rule, applied at that
  dose with all its patients (escalation and backfill), would de-escalate from it, stop or
  eliminate it (BOIN, as BF-BOIN: observed rate ``>= lambda_d`` both on the dose's own
  data and pooled with the next level -- so a dose stays open while either is below the
  boundary, e.g. 2/6 next to 0/3 -- or eliminated; 3+3: too many DLTs;
  CRM / BLRM: the model recommends a lower dose, e.g. its overdose control binds); every
  dose above a closed one is closed too.  A dose is also closed when it holds
  ``max_per_dose`` patients (escalation and backfill, as BF-BOIN's ``n.cap``) or when
  ``max_total`` backfill patients were treated.
* **Recruitment ratio**: at most ``ratio`` backfill patients per escalation patient
  treated so far (``ratio=None``: no ratio; needs calendar time, see below).
* **Priority** among open doses: ``"highest"`` (BF-BOIN's default), ``"lowest"`` or
  ``"random"`` (uniform among the open doses, from a stream of its own).
* **De-escalation with the backfill data** (``deescalate=True``, the step of ``decide``):
  when a dose below the current one is closed as too toxic by its pooled data, the next
  escalation cohort goes at most to the dose below it (BF-BOIN's "a backfilled dose
  closes and de-escalation applies").  BOIN (BF-BOIN) instead pools the conflicting
  doses ``b*..d`` and decides on the pooled data (see :func:`too_toxic` and the reason
  text); other designs take the cap below the lowest too-toxic dose.

Simulation (:mod:`bayes_dose.backfill`): in **cohort time**, after each escalation cohort,
backfill patients are treated one by one at the open dose chosen by priority until the
ratio is met (``ratio * escalation patients`` backfill patients in all), within the caps.
In **calendar time**, patients who arrive while escalation waits for a DLT window (those
who would be queued or turned away) are backfilled on arrival instead, subject to the
ratio and caps.  Backfill patients count in the toxicity data of every later decision
(once their window completes; TITE designs weight them by follow-up), in ``n`` / ``dlt``,
in the final selection and in the duration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ... import checks
from ...errors import flag
from ..state import Decision, DoseData
from .base import Slot, SlotContext, register_slot

if TYPE_CHECKING:
    from ..base import Design

__all__ = [
    "AtOrBelowCurrent",
    "Backfill",
    "BackfillOpening",
    "BelowCurrent",
    "MinResponses",
    "OpeningAll",
    "OpeningAny",
    "OpensWhenCleared",
    "backfill_ids",
    "backfill_status",
    "opening_types",
    "too_toxic",
]  # fmt: skip

PRIORITIES = ("highest", "lowest", "random")
_OPENINGS: dict[str, type[BackfillOpening]] = {}


def _register(cls: type[BackfillOpening]) -> type[BackfillOpening]:
    _OPENINGS[cls.__name__] = cls
    return cls


def opening_types() -> dict[str, type[BackfillOpening]]:
    """Registered backfill opening rules by name (the grammar reads them)."""
    return dict(sorted(_OPENINGS.items()))


class BackfillOpening:
    """Base class of opening rules: ``open(data, design) -> (T, D) bool``."""

    def open(self, data: DoseData, design: Design) -> np.ndarray:  # pragma: no cover - abstract
        raise TypeError(f"{type(self).__name__} must implement open()")

    def text(self) -> str:
        """A protocol phrase."""
        return repr(self)

    def params(self) -> dict[str, Any]:
        return dict(vars(self))

    def spec(self) -> dict[str, Any]:
        return {"opening": type(self).__name__, **self.params()}

    def __and__(self, other: BackfillOpening) -> BackfillOpening:
        return OpeningAll(self, other)

    def __or__(self, other: BackfillOpening) -> BackfillOpening:
        return OpeningAny(self, other)

    def __repr__(self) -> str:
        from ..rule_grammar import call_text

        return call_text(type(self).__name__, self.params(), type(self))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.spec() == other.spec()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(repr(self))


class _Combined(BackfillOpening):
    op = ""
    word = ""

    def __init__(self, *parts: BackfillOpening) -> None:
        flat: list[BackfillOpening] = []
        for p in parts:
            if not isinstance(p, BackfillOpening):
                raise ValueError(f"{type(self).__name__}: expected opening rules, got {p!r}")
            flat.extend(p.parts if type(p) is type(self) else [p])  # type: ignore[attr-defined]
        self.parts = tuple(flat)

    def spec(self) -> dict[str, Any]:
        return {"opening": type(self).__name__, "parts": [p.spec() for p in self.parts]}

    def text(self) -> str:
        return f" {self.word} ".join(f"({p.text()})" for p in self.parts)

    def __repr__(self) -> str:
        def show(p: BackfillOpening) -> str:
            return f"({p!r})" if isinstance(p, _Combined) else repr(p)

        return f" {self.op} ".join(show(p) for p in self.parts)


class OpeningAll(_Combined):
    """Open where every part opens (``a & b``)."""

    op, word = "&", "and"

    def open(self, data: DoseData, design: Design) -> np.ndarray:
        out = self.parts[0].open(data, design)
        for p in self.parts[1:]:
            out = out & p.open(data, design)
        return out


class OpeningAny(_Combined):
    """Open where any part opens (``a | b``)."""

    op, word = "|", "or"

    def open(self, data: DoseData, design: Design) -> np.ndarray:
        out = self.parts[0].open(data, design)
        for p in self.parts[1:]:
            out = out | p.open(data, design)
        return out


def escalation_n(data: DoseData) -> np.ndarray:
    """Escalation patients per dose (all patients minus ``DoseData.backfill_n``)."""
    bn = getattr(data, "backfill_n", None)
    return data.n if bn is None else data.n - bn


@_register
class OpensWhenCleared(BackfillOpening):
    """A dose opens once escalation has moved above it after at least ``min_patients``
    escalation patients there (default: the design's cohort size)."""

    def __init__(self, min_patients: int | None = None) -> None:
        self.min_patients = None if min_patients is None else checks.whole(
            "OpensWhenCleared", "min_patients", min_patients, low=1)

    def params(self) -> dict[str, Any]:
        return {} if self.min_patients is None else {"min_patients": self.min_patients}

    def open(self, data: DoseData, design: Design) -> np.ndarray:
        k = design.cohort_size if self.min_patients is None else self.min_patients
        top = np.maximum(data.current, data.highest_tried if getattr(data, "backfill_n", None)
                         is None else _highest(escalation_n(data)))  # fmt: skip
        below = np.arange(data.n_doses)[None, :] < top[:, None]
        return below & (escalation_n(data) >= k)

    def text(self) -> str:
        k = "a complete cohort" if self.min_patients is None else f"{self.min_patients} patients"
        return f"escalation has moved above the dose after {k} there"


def _highest(n: np.ndarray) -> np.ndarray:
    tried = n > 0
    D = n.shape[1]
    return np.where(tried.any(axis=1), D - 1 - np.argmax(tried[:, ::-1], axis=1), -1)


@_register
class AtOrBelowCurrent(BackfillOpening):
    """Doses at or below the current escalation dose."""

    def open(self, data: DoseData, design: Design) -> np.ndarray:
        return np.arange(data.n_doses)[None, :] <= data.current[:, None]

    def text(self) -> str:
        return "the dose is at or below the current escalation dose"


@_register
class BelowCurrent(BackfillOpening):
    """Doses strictly below the current escalation dose (BF-BOIN)."""

    def open(self, data: DoseData, design: Design) -> np.ndarray:
        return np.arange(data.n_doses)[None, :] < data.current[:, None]

    def text(self) -> str:
        return "the dose is below the current escalation dose"


@_register
class MinResponses(BackfillOpening):
    """At least ``k`` responders at the dose (needs response data: ``efficacy=`` in
    simulation, a ``response`` column in real data)."""

    def __init__(self, k: int = 1) -> None:
        if isinstance(k, (bool, np.bool_)) or int(k) != k or k < 1:
            raise ValueError(f"MinResponses: k must be a whole number >= 1, got {k!r}")
        self.k = int(k)

    def open(self, data: DoseData, design: Design) -> np.ndarray:
        if data.resp is None:
            raise ValueError(
                "MinResponses: backfill opening needs response data (simulate with "
                "efficacy=, or give Outcomes a response column)"
            )
        return data.resp >= self.k

    def text(self) -> str:
        return f"at least {self.k} response(s) at the dose"


def too_toxic(design: Design, data: DoseData) -> np.ndarray:
    """Doses too toxic for backfill, shape (T, D): the design's rule applied at the dose
    (current dose set to it) de-escalates from it, stops, or (BOIN, as BF-BOIN) its
    observed rate is at or above ``lambda_d`` both on its own data and pooled with the
    next level, or it is eliminated; closed upward (a dose above a too-toxic one is too
    toxic)."""
    from ..boin import BOIN

    T, D = data.n_trials, data.n_doses
    if isinstance(design, BOIN) and design.tite_window is None:
        # BF-BOIN: at or above lambda_d on its own data AND pooled with the next level
        # (a dose stays open when either is below the de-escalation boundary)
        tab = design._tables(2 * int(data.n.max(initial=0)))
        n2 = data.n + np.concatenate([data.n[:, 1:], np.zeros((T, 1), dtype=data.n.dtype)], 1)
        y2 = data.dlt + np.concatenate([data.dlt[:, 1:], np.zeros((T, 1), dtype=data.dlt.dtype)], 1)
        bad = (data.n > 0) & (data.dlt >= tab["de"][data.n]) & (y2 >= tab["de"][n2])
        bad |= design.eliminated(data)
    else:
        rows = np.repeat(np.arange(T), D)
        big = data.take(rows)
        lv = np.tile(np.arange(D), T)
        big = DoseData(big.n, big.dlt, lv, np.zeros(T * D, dtype=np.int64),
                       np.zeros(T * D, dtype=np.int64), big.grade2, big.patient_dose,
                       big.patient_dlt, big.patient_weight, big.resp, big.resp_dlt,
                       big.source_n, big.source_dlt)  # fmt: skip
        est = design.estimate(big) if design.uses_estimate else None
        dec = design._rule(big, est)
        bad = (dec.stop | (dec.next_dose < lv)).reshape(T, D) & (data.n > 0)
    return np.logical_or.accumulate(bad, axis=1)


@register_slot
class Backfill(Slot):
    """Backfill cohorts (see the module docstring).

    Parameters
    ----------
    opening : BackfillOpening or str
        When a dose opens (combine with ``&`` / ``|``); default :class:`OpensWhenCleared`.
        Text is parsed (``"OpensWhenCleared() & MinResponses(1)"``).
    ratio : float or None
        Backfill patients per escalation patient at most (cohort time: the number added
        after each escalation cohort; ``None``: no ratio, calendar time only).
    max_per_dose : int or None
        Patients (escalation and backfill) at which a dose closes for backfill (BF-BOIN's
        ``n.cap``, 12).
    max_total : int or None
        Backfill patients in all.
    priority : {"highest", "lowest", "random"}
    deescalate : bool
        Cap the next escalation dose below a lower dose the backfill data show too toxic.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bf = bd.Backfill(opening=bd.OpensWhenCleared() & bd.AtOrBelowCurrent(), max_total=12)
    >>> bf
    Backfill(opening=OpensWhenCleared() & AtOrBelowCurrent(), max_total=12)
    >>> bd.designs.slots.backfill.parse_backfill(repr(bf)) == bf
    True
    """

    kind: ClassVar[str] = "backfill"

    def __init__(
        self,
        opening: BackfillOpening | str | None = None,
        ratio: float | None = 1.0,
        max_per_dose: int | None = 12,
        max_total: int | None = None,
        priority: str = "highest",
        deescalate: bool = True,
    ) -> None:
        if isinstance(opening, str):
            opening = parse_opening(opening)
        self.opening = OpensWhenCleared() if opening is None else opening
        if not isinstance(self.opening, BackfillOpening):
            raise ValueError(f"Backfill: opening must be an opening rule, got {opening!r}")
        if ratio is not None and (isinstance(ratio, (bool, np.bool_)) or not isinstance(
                ratio, (int, float, np.integer, np.floating)) or not np.isfinite(ratio)
                or ratio <= 0):  # fmt: skip
            raise ValueError(f"Backfill: ratio must be > 0 or None, got {ratio!r}")
        self.ratio = None if ratio is None else float(ratio)
        for name, v in (("max_per_dose", max_per_dose), ("max_total", max_total)):
            if v is not None and (isinstance(v, (bool, np.bool_, str)) or int(v) != v or v < 1):
                raise ValueError(f"Backfill: {name} must be a whole number >= 1 or None, got {v!r}")
        self.max_per_dose = None if max_per_dose is None else int(max_per_dose)
        self.max_total = None if max_total is None else int(max_total)
        if priority not in PRIORITIES:
            raise ValueError(f"Backfill: priority must be one of {PRIORITIES}, got {priority!r}")
        self.priority = priority
        self.deescalate = flag("Backfill", "deescalate", deescalate)

    def params(self) -> dict[str, Any]:
        return {"opening": self.opening, "ratio": self.ratio, "max_per_dose": self.max_per_dose,
                "max_total": self.max_total, "priority": self.priority,
                "deescalate": self.deescalate}  # fmt: skip

    def spec(self) -> dict[str, Any]:
        out = super().spec()
        out["opening"] = self.opening.spec()
        return out

    def __repr__(self) -> str:
        parts = [f"opening={self.opening!r}"] if self.opening != OpensWhenCleared() else []
        defaults = {"ratio": 1.0, "max_per_dose": 12, "max_total": None, "priority": "highest",
                    "deescalate": True}  # fmt: skip
        for k, dv in defaults.items():
            v = getattr(self, k)
            if v != dv or type(v) is not type(dv):
                parts.append(f"{k}={v!r}")
        return f"Backfill({', '.join(parts)})"

    @property
    def reasons(self) -> tuple[str, ...]:
        return ("backfill data: {why}; the next cohort goes to level {next}",)

    def describe(self, design: Design) -> str:
        caps = []
        if self.ratio is not None:
            caps.append(f"at most {self.ratio:g} backfill patient(s) per escalation patient")
        if self.max_per_dose is not None:
            caps.append(f"a dose closes at {self.max_per_dose} patients")
        if self.max_total is not None:
            caps.append(f"at most {self.max_total} backfill patients in all")
        return (f"Backfill: a dose opens when {self.opening.text()}; it closes when the "
                f"design's rule at the dose would de-escalate (all its patients counted); "
                f"{'; '.join(caps) or 'no caps'}; the {self.priority} open dose is filled "
                "first; backfill patients count in every later decision and in the MTD "
                "selection; max_n counts escalation patients"
                + ("; when a lower dose's own BOIN decision conflicts with the current dose's, "
                   "the doses in between are pooled (BF-BOIN)" if _pooling(design) else "")
                + ".")  # fmt: skip

    def open_doses(self, data: DoseData, design: Design, n_backfill: np.ndarray,
                   n_escalation: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
        """Doses open for the next backfill patient, shape (T, D)."""
        ok = self.opening.open(data, design) & ~too_toxic(design, data)
        if self.max_per_dose is not None:
            ok &= data.n < self.max_per_dose
        room = np.ones(data.n_trials, dtype=bool)
        if self.max_total is not None:
            room &= n_backfill < self.max_total
        if self.ratio is not None and n_escalation is not None:
            room &= n_backfill < np.floor(self.ratio * n_escalation + 1e-9)
        return ok & room[:, None]

    def choose(self, open_: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """The dose (0-based, -1 = none) each trial backfills next, by priority
        (``u``: uniforms for ``"random"``)."""
        any_ = open_.any(axis=1)
        D = open_.shape[1]
        if self.priority == "lowest":
            d = np.argmax(open_, axis=1)
        elif self.priority == "highest":
            d = D - 1 - np.argmax(open_[:, ::-1], axis=1)
        else:
            k = open_.sum(axis=1)
            pick = np.minimum((np.asarray(u) * k).astype(np.int64), np.maximum(k - 1, 0))
            d = np.argmax(np.cumsum(open_, axis=1) > pick[:, None], axis=1)
        return np.where(any_, d, -1)

    def _cap(self, data: DoseData, design: Design) -> tuple[np.ndarray, np.ndarray]:
        bad = too_toxic(design, data)
        below = np.arange(data.n_doses)[None, :] < data.current[:, None]
        hit = bad & below & (escalation_n(data) < data.n)  # backfilled doses only
        low = np.where(hit.any(axis=1), np.argmax(hit, axis=1), data.n_doses)
        return np.maximum(low - 1, 0), low

    def apply(self, data: DoseData, proposal: Decision, ctx: SlotContext) -> Decision:
        if not self.deescalate or getattr(data, "backfill_n", None) is None:
            return proposal
        if _pooling(ctx.design):
            nxt, hit = boin_conflict(ctx.design, data, proposal)
            return Decision(nxt, proposal.cohort_size, proposal.stop,
                            np.where(hit, ctx.code(), proposal.reason))  # fmt: skip
        cap, _ = self._cap(data, ctx.design)
        capped = ~proposal.stop & (proposal.next_dose > cap)
        return Decision(np.where(capped, cap, proposal.next_dose), proposal.cohort_size,
                        proposal.stop, np.where(capped, ctx.code(), proposal.reason))  # fmt: skip

    def fields(self, data: DoseData, decision: Decision, trial: int, design: Design) -> dict[str, Any]:
        one = data.take(np.array([trial]))
        if _pooling(design):
            lo = int(_conflict_parts(design, one)[0][0])
            return {"why": f"level {lo + 1} disagrees with level {int(one.current[0]) + 1}; "
                           f"levels {lo + 1}-{int(one.current[0]) + 1} pooled"}  # fmt: skip
        _, low = self._cap(one, design)
        return {"why": f"level {int(low[0]) + 1} is too toxic"}


def parse_opening(text: str) -> BackfillOpening:
    """An opening rule from text (``"OpensWhenCleared() & MinResponses(2)"``)."""
    return _parser(text, "backfill opening", True).parse()


def parse_backfill(text: str) -> Backfill:
    """A :class:`Backfill` from its text (TOML ``backfill = "Backfill(...)"``): the
    grammar of :mod:`..rule_grammar` with opening rules as values of ``opening=``."""
    if isinstance(text, Backfill):
        return text
    if not isinstance(text, str):
        raise ValueError(f"backfill: expected text, got {text!r}")
    return _parser(text, "backfill", False).parse()


def _parser(text: str, what: str, combine: bool) -> Any:
    from ..rule_grammar import _Parser

    class P(_Parser):
        def expr(self) -> Any:
            parts = [self.term()]
            while self.take("|"):
                parts.append(self.term())
            return parts[0] if len(parts) == 1 else OpeningAny(*parts)

        def term(self) -> Any:
            parts = [self.factor()]
            while self.take("&"):
                parts.append(self.factor())
            return parts[0] if len(parts) == 1 else OpeningAll(*parts)

        def value(self) -> Any:
            tok = self.peek()
            if tok is not None and tok[0] == "name" and tok[1] in _OPENINGS:
                known, self.known = self.known, _OPENINGS
                try:
                    return self.expr()
                finally:
                    self.known = known
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if tok is not None and tok[0] == "name" and nxt is not None and nxt[1] == "(":
                self.fail(tok[2], f"unknown opening rule {tok[1]!r}; known: "
                                  f"{', '.join(sorted(_OPENINGS))}")  # fmt: skip
            return super().value()

    known = dict(_OPENINGS) if combine else {"Backfill": Backfill}
    return P(text, what, known, combine)


def _pooling(design: Design) -> bool:
    """BOIN waiting for complete data: BF-BOIN's conflict rule (:func:`boin_conflict`)."""
    from ..boin import BOIN

    return isinstance(design, BOIN) and design.tite_window is None


_ESC, _STAY, _DE, _ELIM = 0, 1, 2, 3


def _conflict_parts(design: Design, data: DoseData) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(b_star, conflict, tables)``: the highest level below the current one whose own
    BOIN decision conflicts with the current dose's (-1: none)."""
    tab = design._tables(int(data.n.sum(axis=1).max(initial=0)))  # type: ignore[attr-defined]
    n, y = data.n, data.dlt
    move = np.full(n.shape, _STAY)
    move[y <= tab["esc"][n]] = _ESC
    de = (y > tab["esc"][n]) & (y >= tab["de"][n])
    move[de] = _DE
    move[(n > 0) & (y >= tab["elim"][n])] = _ELIM
    T, D = n.shape
    d = np.clip(data.current, 0, None)
    here = move[np.arange(T), d]
    if getattr(design, "stay_one_in_three", False):  # BF-BOIN's Table 1 rule at the current dose
        nd, yd = n[np.arange(T), d], y[np.arange(T), d]
        here = np.where((nd == 3) & (yd == 1) & (here == _DE), _STAY, here)
    lower = np.arange(D)[None, :] < d[:, None]
    bad = np.where((here == _ESC)[:, None], move != _ESC, move >= _DE) & lower & (n > 0)
    b_star = np.where(bad.any(axis=1), D - 1 - np.argmax(bad[:, ::-1], axis=1), -1)
    return b_star, b_star >= 0, tab


def boin_conflict(design: Design, data: DoseData, proposal: Decision) -> tuple[np.ndarray, np.ndarray]:
    """BF-BOIN's decision when backfill data at a lower level conflict with the current
    dose (Zhao et al. 2024): with ``b*`` the highest lower level whose own BOIN decision
    disagrees (not "escalate" when the current dose escalates; "de-escalate" or
    "eliminate" when it stays or de-escalates), pool levels ``b*..d``: escalate when the
    pooled rate is at most ``lambda_e``, stay when it lies between the boundaries, and
    when it is at least ``lambda_d`` go to the highest level ``k`` in ``b*..d`` whose
    cumulative data from ``b*`` to ``k`` lie below ``lambda_d`` (``b* - 1`` if none, the
    lowest level at the bottom).  Returns the next dose and where the rule changed it."""
    b_star, conflict, tab = _conflict_parts(design, data)
    T, D = data.n.shape
    nxt = proposal.next_dose.copy()
    run = conflict & ~proposal.stop & (data.current >= 0)
    if not run.any():
        return nxt, np.zeros(T, dtype=bool)
    d = np.clip(data.current, 0, None)
    k = np.arange(D)[None, :]
    span = (k >= b_star[:, None]) & (k <= d[:, None])
    cn = np.cumsum(np.where(span, data.n, 0), axis=1)
    cy = np.cumsum(np.where(span, data.dlt, 0), axis=1)
    pn, py = cn[np.arange(T), d], cy[np.arange(T), d]
    esc = py <= tab["esc"][pn]
    de = ~esc & (py >= tab["de"][pn])
    elim = design.eliminated(data)  # type: ignore[attr-defined]
    up_ok = (d < D - 1) & ~elim[np.arange(T), np.minimum(d + 1, D - 1)]
    safe = span & (cy < tab["de"][cn])
    top_safe = np.where(safe.any(axis=1), D - 1 - np.argmax(safe[:, ::-1], axis=1), -1)
    target = np.where(esc, np.where(up_ok, d + 1, d),
                      np.where(de, np.where(top_safe >= 0, top_safe, np.maximum(b_star - 1, 0)),
                               d))  # fmt: skip
    new = np.where(run, target, nxt)
    return new, run & (new != proposal.next_dose)


def backfill_status(fit: Any) -> tuple[tuple[int, ...], str]:
    """The levels open for the next backfill patient of a :class:`~bayes_dose.Fit` and
    the reason per level (opening rule, closing by the design's rule, caps).

    A fit without ``backfill=`` gives ``((), "no backfill: the design has no
    backfill=")``; a stopped or held fit opens nothing and says so.  The ratio is counted
    on the fit's patients (``Outcomes`` column ``role``).
    """
    design, data = fit.design, fit.data
    bf = getattr(design, "backfill", None)
    if bf is None:
        return (), "no backfill: the design has no backfill="
    if fit.stop:
        return (), "no backfill: the trial stops (backfill ends with escalation)"
    if fit.hold:
        return (), "no backfill: the decision is held (" + fit.reason + ")"
    bn = data.backfill_n if data.backfill_n is not None else np.zeros_like(data.n)
    d2 = DoseData(data.n, data.dlt, data.current, data.last_n, data.last_dlt, data.grade2,
                  resp=data.resp, backfill_n=bn)  # fmt: skip
    nb = bn.sum(axis=1)
    esc = (data.n - bn).sum(axis=1)
    opened = bf.opening.open(d2, design)[0]
    toxic = too_toxic(design, d2)[0]
    ok = bf.open_doses(d2, design, nb, esc)[0]
    parts = []
    for i in range(data.n_doses):
        why = (
            "open" if ok[i]
            else f"not opened (needs: {bf.opening.text()})" if not opened[i]
            else "closed: the design's rule at this dose would de-escalate (too toxic, all "
                 "patients counted)" if toxic[i]
            else f"closed: {int(data.n[0, i])} patients >= max_per_dose {bf.max_per_dose}"
            if bf.max_per_dose is not None and data.n[0, i] >= bf.max_per_dose
            else "closed: the backfill total or ratio is reached"
        )  # fmt: skip
        parts.append(f"level {i + 1}: {why}")
    return tuple(int(i) + 1 for i in np.flatnonzero(ok)), "; ".join(parts)


def backfill_ids(outcomes: Any) -> set[str]:
    """Patient ids with ``role = "backfill"`` (Outcomes column ``role``; none without it)."""
    f = outcomes._frame
    if "role" not in f.columns:
        return set()
    return set(map(str, f.loc[f["role"] == "backfill", "patient_id"]))
