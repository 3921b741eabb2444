"""The design interface: an immutable specification that decides from evidence.

Every design is a :class:`Design`: parameters are stored in ``__init__`` (nothing is
computed there), ``fit(outcomes)`` returns a new :class:`Fit`.  A design is its own
decision rule (``_rule``) and MTD selector (``select``) followed by ordered, typed rule
slots (:mod:`.slots`, one module per kind), identical for all designs and vectorised
over trials:

1. the design's own rule (``_rule``) proposes the next dose, cohort size and any
   design-specific stop (e.g. lowest dose eliminated);
2. ``titration`` (when ``titration_levels > 0``) overrides the proposal while it is
   active: one patient per level, up a level at a time, until the first DLT (or, with
   ``titration_grade2=True``, the second grade-2 toxicity) or the last titration level;
3. ``start``: before the first patient, the start level;
4. ``escalation_limit``: no-skip (``no_skip=True``: never above one level past the
   highest dose tried), then ``escalation_limit`` (e.g. ``RelativeIncrements(1.0)``);
5. ``coherence`` (off unless ``coherence=Coherence(target)``);
6. ``max_n`` and ``stopping`` (the user's rule, see :mod:`.rules`).

Steps are fixed, so a mechanism's effect never depends on how a design was put
together.  The base options are declared once (:data:`.options.OPTIONS`); a design
declares its own parameters only (:mod:`.options`).  The MTD is chosen by ``select`` on
the same evidence.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from .. import checks
from ..errors import DoseGridError
from ..inference.engines import engines
from ..inference.estimate import Estimate
from ..manifest import build_manifest, data_sha256
from ..outcomes import DEFAULT_DLT_WINDOW, MISSING_POLICIES, Outcomes
from . import options as _options
from .options import BY_NAME, OPTIONS, BaseOptions, check_options, set_options
from .rules import StoppingRule
from .slots import MaxN, NoSkip, Slot, SlotContext, Start, Stopping, Titration
from .state import NONE, Decision, DoseData, Selection

__all__ = ["Design", "Fit"]

#: Reasons every design shares (codes 0..len-1, owned by the original slots); a design's
#: own follow, then those of any other slot (``escalation_limit``, ``coherence``).
BASE_REASONS: tuple[str, ...] = (
    Start().reasons[0], Titration(1).reasons[0], MaxN(1).reasons[0],
    Stopping(None).reasons[0], NoSkip().reasons[0],  # type: ignore[arg-type]
)  # fmt: skip
START, TITRATION, MAX_N, STOP_RULE, NO_SKIP = range(len(BASE_REASONS))


class Design(ABC):
    """Base class of dose-finding designs.

    Parameters
    ----------
    n_doses : int
        Number of dose levels.
    cohort_size : int
        Patients per cohort (after titration).
    max_n : int, optional
        Stop when this many patients have been treated.
    start_level : int
        1-based starting level.
    titration_levels : int
        Accelerated titration over levels ``1..titration_levels`` (0 = none).
    titration_grade2 : bool
        Also end titration at the second grade-2 drug-related toxicity.
    no_skip : bool
        Never escalate past one level above the highest level tried.
    stopping : StoppingRule, optional
        Extra stopping rule (``&``/``|`` combinations of :mod:`bayes_dose.rules`).
    doses_mg : sequence of float, optional
        Dose labels for tables and plots.
    escalation_limit : EscalationLimit or str, optional
        A further escalation limit after no-skip (``slots.RelativeIncrements(1.0)``: at
        most +100 % in mg; needs ``doses_mg``), or its text.
    coherence : Coherence or str, optional
        No escalation right after a cohort with DLT rate ``>= target``
        (``slots.Coherence(target)``); off by default.

    The options are declared once, in :data:`bayes_dose.designs.options.OPTIONS`; a
    subclass lists its own parameters only (see :mod:`bayes_dose.designs.options`).
    """

    #: Reason templates of the design's own rule (codes follow BASE_REASONS).
    own_reasons: ClassVar[tuple[str, ...]] = ()
    #: Short design name used in tables.
    label: ClassVar[str] = "design"
    #: Whether decisions read the last cohort (``DoseData.last_n``/``last_dlt``); designs
    #: that do not let exact enumeration merge more paths.
    uses_last_cohort: ClassVar[bool] = True
    #: Whether every trial ends within a bounded number of patients without ``max_n``
    #: (3+3: at most 6 per level); others need ``max_n`` or a stopping rule to simulate.
    self_limiting: ClassVar[bool] = False
    #: Whether the rule reads an Estimate (rule-based designs skip estimation in ``decide``).
    uses_estimate: ClassVar[bool] = True
    #: Whether estimates come from a statistical model fitted by the inference engine
    #: (CRM, BLRM family): only such designs can be checked with MCMC; rule-based ones
    #: estimate observed rates whatever the engine.
    model_based: ClassVar[bool] = False
    #: Which levels ``select`` may return: ``"treated"`` (a level given to patients),
    #: ``"tried_range"`` (any level up to the highest level tried, e.g. a skipped one) or
    #: ``"any"``; checked by the design contract suite (:mod:`bayes_dose.testing`).
    selection_scope: ClassVar[str] = "treated"

    #: What the class does with the base options (fixed / derived ones); a class that
    #: sets it in its body declares only its own parameters (see :mod:`.options`).
    base_options: ClassVar[BaseOptions] = BaseOptions()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "base_options" in cls.__dict__:
            if "__init__" not in cls.__dict__:
                raise TypeError(
                    f"{cls.__name__}: base_options needs an __init__ listing the class's own "
                    "parameters (see bayes_dose.designs.options)"
                )
            _options.declare(cls)

    def __init__(self, n_doses: int, **options: Any) -> None:
        # The old-style entry point: subclasses that forward base options call this.
        # Its signature (legacy_signature) lists the options of the table.
        unknown = sorted(set(options) - set(BY_NAME))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unexpected keyword argument(s) {unknown}; base "
                f"options: {', '.join(BY_NAME)}"
            )
        nested = "_setting_options" in self.__dict__
        values = {} if nested else {o.name: o.default for o in OPTIONS if o.name != "n_doses"}
        values.update(options)
        values["n_doses"] = n_doses
        set_options(self, values)
        if not nested:
            self._check_base()

    def _check_base(self) -> None:
        check_options(self)
        # a slot that reads the last cohort makes the design read it (exact enumeration
        # then keeps states apart by their last cohort)
        for key in ("escalation_limit", "coherence"):
            slot = getattr(self, key, None)
            if slot is not None and slot.uses_last_cohort and not self.uses_last_cohort:
                self.__dict__["uses_last_cohort"] = True

    # -- parameters (scikit-learn style) ---------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        """Constructor parameters: those of every ``__init__`` up the MRO, down to the
        first declared one (whose signature holds the base options it accepts)."""
        names: list[str] = []
        inits = [k for k in cls.__mro__ if k is not object and "__init__" in vars(k)]
        stop = next((k for k in inits if _options.declared(k)), None)
        for klass in inits:
            for p in inspect.signature(klass.__init__).parameters.values():
                if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                    if p.name not in names:
                        names.append(p.name)
            if klass is stop:
                break
        if inits and inits[0] is Design:  # no __init__ of its own: every base option
            names += [o.name for o in OPTIONS if o.name not in names]
        if stop is not None and inits[0] is not stop:
            # an old-style __init__ above a declared one: what it accepts
            own = inspect.signature(cls.__init__).parameters
            if not any(p.kind is p.VAR_KEYWORD for p in own.values()):
                names = [n for n in names if n in own]
        return names

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (as given, after normalisation)."""
        return {k: getattr(self, k) for k in self._param_names() if hasattr(self, k)}

    def replace(self, **changes: Any) -> Design:
        """A copy with some parameters changed (designs are immutable)."""
        params = {**self.get_params(), **changes}
        return type(self)(**params)

    def spec(self) -> dict[str, Any]:
        """JSON-able specification (for manifests and reports)."""

        def plain(v: Any) -> Any:
            if isinstance(v, StoppingRule):
                return v.spec()
            if isinstance(v, Outcomes):
                c = v.counts() if len(v) else None
                return {
                    "patients": len(v),
                    "n": [] if c is None else c["n"].tolist(),
                    "dlt": [] if c is None else c["dlt"].tolist(),
                    "sha256": data_sha256(v),
                }
            if hasattr(v, "spec") and callable(v.spec):
                return v.spec()
            if isinstance(v, np.ndarray):
                return v.tolist()
            if isinstance(v, tuple):
                return [plain(x) for x in v]
            if isinstance(v, (np.floating, np.integer)):
                return v.item()
            if hasattr(v, "__dataclass_fields__"):
                return {k: plain(getattr(v, k)) for k in v.__dataclass_fields__}
            return v

        out = {"design": type(self).__name__}
        out.update({k: plain(v) for k, v in self.get_params().items()})
        json.dumps(out)  # fail early if not serialisable
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.spec() == other.spec()  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash(json.dumps(self.spec(), sort_keys=True))

    @property
    def borrows_from(self) -> tuple[str, ...]:
        """Arms whose data the decisions read besides the design's own (the combination
        BLRM borrowing from its ``source_arm``).  ``compare`` fits such a design on
        every arm's data (:func:`bayes_dose.compare.reads_all_arms`)."""
        return ()

    @property
    def requires_other_arms(self) -> bool:
        """Whether decisions need another arm's data that counts of this arm lack (then
        simulation and dose paths refuse the design rather than ignore that data): the
        design borrows (:attr:`borrows_from`) and does not hold that data itself."""
        return bool(self.borrows_from)

    @property
    def reasons(self) -> tuple[str, ...]:
        """All reason templates: shared ones, the design's own, then other slots'."""
        return BASE_REASONS + self._own_templates() + self._slot_templates()

    def _own_templates(self) -> tuple[str, ...]:
        """The design's own reason templates (codes from ``len(BASE_REASONS)``)."""
        return self.own_reasons

    def _code(self, index: int) -> int:
        """Reason code of the design's own reason number ``index``."""
        return len(BASE_REASONS) + index

    # -- slots -----------------------------------------------------------------------------
    def slots(self) -> tuple[Slot, ...]:
        """The rule slots ``decide`` applies after the design's rule, in order (titration,
        start, escalation limits, coherence, max_n, stopping); unused ones left out."""
        out: list[Slot] = []
        if self.titration_levels > 0:
            out.append(Titration(self.titration_levels, self.titration_grade2))
        out.append(Start(self.start_level))
        if self.no_skip:
            out.append(NoSkip())
        for key in ("escalation_limit", "coherence", "backfill"):
            slot = getattr(self, key, None)
            if slot is not None:
                out.append(slot)
        if self.max_n is not None:
            out.append(MaxN(self.max_n))
        rule = self._stopping_rule()
        if rule is not None:
            out.append(Stopping(rule))
        return tuple(out)

    def _pipeline(self) -> list[tuple[Slot, tuple[int, ...]]]:
        """Each slot with its reason codes (fixed ones, else after the design's own)."""
        code = len(BASE_REASONS) + len(self.own_reasons)
        out = []
        for slot in self.slots():
            codes = slot.fixed_codes
            if codes is None:
                codes = tuple(range(code, code + len(slot.reasons)))
                code += len(codes)
            out.append((slot, codes))
        return out

    def _slot_templates(self) -> tuple[str, ...]:
        return tuple(t for s in self.slots() if s.fixed_codes is None for t in s.reasons)

    def _stopping_rule(self) -> StoppingRule | None:
        """The stopping rule applied in step 5: the user's ``stopping``, combined (with
        ``|``) with any rule a design's own parameters imply (e.g. BOIN's n_earlystop)."""
        return self.stopping

    # -- what a design must provide ---------------------------------------------------
    @abstractmethod
    def _rule(self, data: DoseData, estimate: Estimate | None) -> Decision:
        """The design's own proposal for every trial (vectorised; ``estimate`` is None
        for designs with ``uses_estimate = False``)."""

    @abstractmethod
    def select(self, data: DoseData, estimate: Estimate | None = None) -> Selection:
        """The MTD (or MAD) each trial would select on the evidence so far."""

    def estimate(self, data: DoseData, engine: str = "grid", **kwargs: Any) -> Estimate:
        """Estimate DLT probabilities (rule-based designs: observed rates)."""
        engines[engine]  # an unknown name is an error listing the registered engines
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}.estimate: unexpected arguments {sorted(kwargs)}"
            )
        return Estimate.empirical(data.n, data.dlt)

    # -- the shared pipeline ---------------------------------------------------------------
    def first_cohort_size(self) -> int:
        """Size of the first cohort (1 under accelerated titration)."""
        return 1 if self.titration_levels >= self.start_level else self.cohort_size

    def titration_active(self, data: DoseData) -> np.ndarray:
        """Trials still in accelerated titration (boolean, shape (T,))."""
        return Titration(self.titration_levels, self.titration_grade2).active(data, self.n_doses)

    def skip_cap(self, data: DoseData) -> np.ndarray:
        """Highest 0-based dose no-skip allows: one above the highest tried (shape (T,))."""
        return np.maximum(data.highest_tried + 1, self.start_level - 1)

    def decide(self, data: DoseData, estimate: Estimate | None = None) -> Decision:
        """Next dose, cohort size, stop and reason for every trial (vectorised).

        Parameters
        ----------
        data : DoseData
            Evidence for ``T`` trials.
        estimate : Estimate, optional
            Posterior summaries (computed with the default engine when omitted).
        """
        if data.n_doses != self.n_doses:
            raise ValueError(
                f"{type(self).__name__}: data have {data.n_doses} dose levels, design {self.n_doses}"
            )
        if estimate is None and self.uses_estimate:
            estimate = self.estimate(data)
        T = data.n_trials
        d = self._rule(data, estimate)
        proposal = Decision(
            *(np.array(a, copy=True) for a in (d.next_dose, d.cohort_size, d.stop, d.reason))
        )
        for slot, codes in self._pipeline():
            proposal = slot.apply(data, proposal, SlotContext(self, codes))
        stop = proposal.stop
        nxt = np.where(stop, NONE, proposal.next_dose)
        size = np.where(stop, 0, proposal.cohort_size)
        return Decision(
            nxt.astype(np.int64),
            size.astype(np.int64),
            stop.astype(bool),
            proposal.reason.astype(np.int64).reshape(T),
        )

    def explain(self, data: DoseData, decision: Decision, trial: int = 0) -> str:
        """The reason of ``trial``'s decision as a sentence."""
        cur = int(data.current[trial])
        fields = {
            "dose": cur + 1,
            "dose_mg": self._mg(cur),
            "n": int(data.n[trial, cur]) if cur >= 0 else 0,
            "dlt": int(data.dlt[trial, cur]) if cur >= 0 else 0,
            "next": int(decision.next_dose[trial]) + 1 if decision.next_dose[trial] >= 0 else None,
            "size": int(decision.cohort_size[trial]),
            "total": int(data.n[trial].sum()),  # this row only: O(1) per node of a tree
            "max_n": self.max_n,
            "rule": str(self._stopping_rule()),
            "last_n": int(data.last_n[trial]),
            "last_dlt": int(data.last_dlt[trial]),
        }
        code = int(decision.reason[trial])
        if code >= len(BASE_REASONS) + len(self.own_reasons):  # another slot's sentence
            for slot, codes in self._pipeline():
                if code in codes:
                    fields.update(slot.fields(data, decision, trial, self))
        if decision.next_dose[trial] < 0 and "{next}" in self.reasons[code]:
            fields["next"] = cur + 1
        return self.reasons[code].format(**fields)

    def _mg(self, idx: int) -> str:
        if self.doses_mg is None or idx < 0:
            return ""
        return f"{self.doses_mg[idx]:g} mg"

    # -- analysis of one data set -------------------------------------------------------
    def _data_from(self, outcomes: Outcomes) -> DoseData:
        return DoseData.from_outcomes(outcomes, self.n_doses)

    def fit(
        self,
        outcomes: Outcomes,
        engine: str = "grid",
        *,
        missing: str | None = None,
        dlt_window: float | None = None,
        **engine_kwargs: Any,
    ) -> Fit:
        """Analyse one arm's cohort data and recommend.

        Patients who cannot be counted yet make the fit *hold* (``hold=True``: no next
        cohort, ``stop=False``, a reason naming them):

        * patients without DLT whose follow-up is shorter than the DLT window
          (:meth:`Outcomes.pending`), unless the design is time-to-event (TITE-CRM), which
          weights them by follow-up and says how many pending patients the decision
          rests on.  Data without ``followup_days`` are taken as complete
          (``outcomes.has_followup`` is False);
        * patients with unknown DLT status (:meth:`Outcomes.unknown`), unless ``missing``
          says how to count them;
        * with ``titration_grade2=True``, patients of unknown grade-2 status
          (:meth:`Outcomes.grade2_unknown`) when the titration decision depends on them
          (when it does not, the reason says so).  ``missing`` does not fill them; designs
          not reading grade-2 toxicities ignore them.

        A held fit's estimates and MTD use the evaluable patients only.

        Parameters
        ----------
        outcomes : Outcomes
            Patients of one arm.
        engine : str
            A registered inference engine (:data:`bayes_dose.engines`: ``"grid"``,
            ``"pymc"``, ``"nutpie"``, ...); rule-based designs estimate observed rates
            whatever the engine.
        missing : {None, "assume_dlt", "assume_not"}
            Policy for patients with unknown DLT status (:meth:`Outcomes.resolve_unknown`);
            recorded in ``Fit.missing_policy`` and the posterior's manifest.  None: hold.
        dlt_window : float, optional
            DLT window (days) of a non-TITE design.  Default: the protocol's window when
            the data were read with a protocol (``outcomes.dlt_window_days``), else
            :data:`~bayes_dose.outcomes.DEFAULT_DLT_WINDOW` (21).  A TITE design uses its
            ``tite_window``.
        **engine_kwargs
            Passed to the engine (e.g. ``draws``, ``chains``, ``random_seed``).

        Examples
        --------
        >>> import bayes_dose as bd
        >>> fit = bd.ThreePlusThree(4).fit(bd.Outcomes.parse("1NNN 2N?N"))
        >>> fit.hold, fit.next_dose, fit.unknown
        (True, None, ('P005',))
        >>> bd.ThreePlusThree(4).fit(bd.Outcomes.parse("1NNN 2N?N"), missing="assume_not").next_dose
        3
        """
        if not isinstance(outcomes, Outcomes):
            raise ValueError(
                f"{type(self).__name__}.fit: expected Outcomes, got {type(outcomes).__name__}"
            )
        engines[engine]  # an unknown name is an error listing the registered engines
        self._check_dose_grid(outcomes)
        ev = self._evidence(outcomes, missing, dlt_window)
        data = self._data_from(ev.evaluable)
        est = self.estimate(data, engine=engine, **engine_kwargs)
        dec = self.decide(data, est)
        sel = self.select(data, est)
        return self._finish(self._make_fit(ev.outcomes, data, est, dec, sel), ev)

    def _check_dose_grid(self, outcomes: Outcomes) -> None:
        """The design's doses (mg) must be the data's dose grid (read with a protocol), and
        a design without doses must have its number of levels: otherwise a level would mean
        one dose in the data and another in the model."""
        own = self.doses_mg
        arms = outcomes.arms
        if len(arms) != 1:
            arms = tuple(a for a in arms if a == getattr(self, "arm", None))
        for arm in arms:
            mg = outcomes.doses_mg(arm)
            if own is None:  # no dose labels: the number of levels must still agree
                if mg and len(mg) != self.n_doses:
                    raise DoseGridError(
                        f"{type(self).__name__}.fit: the design has {self.n_doses} dose "
                        f"levels, arm {arm!r} has {len(mg)} in the data "
                        f"([{', '.join(f'{x:g}' for x in mg)}] mg); give the design the "
                        "arm's number of levels"
                    )
                continue
            if mg and tuple(float(x) for x in mg) != tuple(float(x) for x in own):
                raise DoseGridError(
                    f"{type(self).__name__}.fit: the design's doses "
                    f"[{', '.join(f'{x:g}' for x in own)}] mg are not the dose grid of arm {arm!r} "
                    f"[{', '.join(f'{x:g}' for x in mg)}] mg in the data; "
                    "give the design the arm's doses"
                )

    # -- patients not evaluable yet (pending follow-up, unknown DLT status) ----------------
    def _window(self, outcomes: Outcomes, dlt_window: float | None) -> float:
        """The DLT window (days) pending patients are measured against."""
        if dlt_window is not None:  # a positive finite number of days (fractional allowed)
            dlt_window = checks.real(f"{type(self).__name__}.fit", "dlt_window", dlt_window,
                                     low=0, low_open=True)  # fmt: skip
        tite = getattr(self, "tite_window", None)
        if tite is not None:
            if dlt_window is not None and dlt_window != float(tite):
                raise ValueError(
                    f"{type(self).__name__}.fit: dlt_window={dlt_window!r} differs from the "
                    f"design's tite_window={tite:g}"
                )
            proto = outcomes.dlt_window_days
            if proto is not None and float(proto) != float(tite):
                warnings.warn(
                    f"{type(self).__name__}: tite_window={tite:g} days differs from the "
                    f"protocol's DLT window ({float(proto):g} days, the data's "
                    f"dlt_window_days); pending patients are weighted over {tite:g} days",
                    UserWarning, stacklevel=4,
                )  # fmt: skip
            return float(tite)
        if dlt_window is not None:
            return dlt_window
        proto = outcomes.dlt_window_days
        return float(DEFAULT_DLT_WINDOW if proto is None else proto)

    def _evidence(
        self, outcomes: Outcomes, missing: str | None, dlt_window: float | None
    ) -> Evidence:
        """Which patients the decision can count, and which make it hold."""
        if missing is not None and missing not in MISSING_POLICIES:
            raise ValueError(
                f"{type(self).__name__}.fit: missing must be None or one of "
                f"{MISSING_POLICIES}, got {missing!r}"
            )
        unknown = outcomes.unknown()
        resolved = outcomes if missing is None else outcomes.resolve_unknown(missing)
        window = self._window(outcomes, dlt_window)
        tite = getattr(self, "tite_window", None) is not None
        pending = resolved.pending(window)
        held = () if tite else tuple(pending["patient_id"])
        held_unknown = unknown if missing is None else ()
        waiting = ()  # backfill patients in their window (column role): not counted, no hold
        if held and "role" in resolved._frame.columns:
            from .slots.backfill import backfill_ids

            bf = backfill_ids(resolved)
            waiting, held = tuple(p for p in held if p in bf), tuple(p for p in held if p not in bf)
        out = held + held_unknown + waiting
        evaluable = resolved._without(out) if out else resolved
        grade2, held_grade2 = self._grade2_unknown(evaluable)
        if grade2:
            evaluable = evaluable._grade2_filled(0)  # the decision does not depend on it, or holds
        return Evidence(
            outcomes=resolved, evaluable=evaluable, window=window, tite=tite,
            pending=pending, unknown=held_unknown, imputed=resolved.imputed,
            missing_policy=resolved.missing_policy, grade2_unknown=grade2,
            grade2_held=held_grade2,
        )  # fmt: skip

    def _reads_grade2(self) -> bool:
        """Whether decisions read grade-2 toxicities (accelerated titration with
        ``titration_grade2=True``)."""
        return any(isinstance(s, Titration) and s.grade2 for s in self.slots())

    def _grade2_unknown(self, evaluable: Outcomes) -> tuple[tuple[str, ...], bool]:
        """(patients of unknown grade-2 status, whether the decision depends on them).

        Titration is active while fewer than two grade-2 toxicities are seen, so the
        decision depends on the unknown ones exactly when titration would go on with
        none of them a grade-2 toxicity and end with all of them."""
        ids = evaluable.grade2_unknown()
        if not ids or not self._reads_grade2():
            return ids, False
        none, every = (self._data_from(evaluable._grade2_filled(v)) for v in (0, 1))
        return ids, bool((self.titration_active(none) != self.titration_active(every)).any())

    def _finish(self, fit: Fit, *evidence: Evidence) -> Fit:
        """Put the hold (or the TITE / missing-policy notes) on a fit."""
        pend = pd.concat([e.pending for e in evidence], ignore_index=True)
        unknown = tuple(p for e in evidence for p in e.unknown)
        imputed = tuple(p for e in evidence for p in e.imputed)
        policy = next((e.missing_policy for e in evidence if e.missing_policy), None)
        tite = evidence[0].tite
        window = evidence[0].window
        frames = {p: f for e in evidence for p, f in _rows(e.outcomes).items()}
        waiting: tuple[str, ...] = ()  # backfill patients in their window: no hold
        if not tite and len(pend) and any("role" in e.outcomes._frame.columns for e in evidence):
            from .slots.backfill import backfill_ids

            bf = set().union(*(backfill_ids(e.outcomes) for e in evidence))
            waiting = tuple(p for p in pend["patient_id"] if p in bf)
        hold_rows = pend[~pend["patient_id"].isin(waiting)]
        hold_pending = () if tite else tuple(hold_rows["patient_id"])
        changes: dict[str, Any] = {
            "pending": tuple(pend["patient_id"]), "unknown": unknown or imputed,
            "missing_policy": policy, "dlt_window": window,
        }  # fmt: skip
        reads_grade2 = self._reads_grade2()
        grade2 = tuple(p for e in evidence if reads_grade2 for p in e.grade2_unknown)
        held_grade2 = tuple(p for e in evidence if e.grade2_held for p in e.grade2_unknown)
        changes["grade2_unknown"] = held_grade2
        reason = fit.reason
        if hold_pending or unknown or held_grade2:
            parts = []
            if hold_pending:
                who = "; ".join(_pending_text(r, window) for r in hold_rows.itertuples())
                k = len(hold_rows)
                parts.append(
                    f"DLT window ({window:g} days) not complete for {k} patient"
                    f"{'s' if k > 1 else ''}: {who}; no next cohort until "
                    f"{'their windows complete' if k > 1 else 'it completes'}"
                )
            if unknown:
                who = ", ".join(_where(frames[p]) for p in unknown)
                parts.append(
                    f"DLT status unknown for {who}; resolve the "
                    f"{'queries' if len(unknown) > 1 else 'query'}, or fit with "
                    "missing='assume_dlt' or missing='assume_not'"
                )
            if held_grade2:
                who = ", ".join(_where(frames[p]) for p in held_grade2)
                parts.append(  # the data do not say why (adjudication, or typed so)
                    f"grade-2 toxicity status unknown (grade2 = unknown) for {who}, and "
                    "accelerated titration ends at the second grade-2 toxicity: whether it "
                    "goes on depends on "
                    f"{'them' if len(held_grade2) > 1 else 'it'}; resolve the "
                    f"{'queries' if len(held_grade2) > 1 else 'query'} (grade2 0 or 1)"
                )
            n_eval = sum(len(e.evaluable) for e in evidence)
            reason = (
                "hold: " + "; and ".join(parts) + f". Estimates and the MTD use the {n_eval} "
                "evaluable patients."
            )
            changes.update(hold=True, next_dose=None, stop=False, cohort_size=None)
        elif tite and len(pend):
            k = len(pend)
            who = ", ".join(
                f"{r.patient_id} ({r.followup_days:g} of {window:g} days)" for r in pend.itertuples()
            )  # a TITE fit needs every follow-up (DoseData.from_outcomes), so none is NaN
            reason += (
                f" [TITE: the decision rests on {k} patient{'s' if k > 1 else ''} still in "
                f"DLT follow-up, weighted by follow-up: {who}]"
            )
        if waiting:
            reason += (f" [backfill patient(s) {', '.join(waiting)} still in the DLT window: "
                       "not counted yet]")  # fmt: skip
        if grade2 and not held_grade2:
            reason += (f" [grade-2 toxicity status unknown for {', '.join(grade2)}: does not "
                       "change this decision]")  # fmt: skip
        if imputed and not unknown:
            what = "a DLT" if policy == "assume_dlt" else "no DLT"
            reason += (
                f" [unknown DLT status of {', '.join(imputed)} counted as {what} "
                f"(missing={policy!r})]"
            )
        changes["reason"] = reason
        return dataclasses.replace(fit, **changes)

    def _manifest(self, outcomes: Outcomes) -> str:
        """JSON manifest stored with a posterior: package version, design spec, data hash."""
        return json.dumps(
            build_manifest(design=self.spec(), outcomes_sha256=data_sha256(outcomes),
                           missing_policy=outcomes.missing_policy,
                           imputed=list(outcomes.imputed))
        )  # fmt: skip

    def _fit_fields(self, data: DoseData, estimate: Estimate) -> dict[str, Any]:
        """Extra, design-specific fields of the Fit (override in subclasses)."""
        return {}

    def _fit_class(self) -> type[Fit]:
        return Fit

    def _make_fit(
        self, outcomes: Outcomes, data: DoseData, est: Estimate, dec: Decision, sel: Selection
    ) -> Fit:
        arm = outcomes.arms[0] if outcomes.arms else None
        mg = self.doses_mg or (outcomes.doses_mg(arm) if arm else None)
        coords = {
            "dose_level": ("dose", np.arange(1, self.n_doses + 1)),
            "dose_mg": ("dose", np.asarray(mg if mg else [np.nan] * self.n_doses, dtype=float)),
        }
        prob = xr.DataArray(
            est.prob_mean[0],
            dims="dose",
            coords=coords,
            name="prob_tox",
            attrs={"engine": est.engine},
        )
        interval = None
        if est.prob_lower is not None and est.prob_upper is not None:
            interval = xr.DataArray(
                np.stack([est.prob_lower[0], est.prob_upper[0]], axis=-1),
                dims=("dose", "bound"),
                coords={**coords, "bound": ["lower", "upper"]},
                name="prob_tox_interval",
                attrs={"mass": est.interval},
            )
        if est.posterior is not None and hasattr(est.posterior, "posterior"):
            est.posterior.posterior.attrs["bayes_dose_manifest"] = self._manifest(outcomes)
        nd = int(dec.next_dose[0])
        sd = int(sel.dose[0])
        return self._fit_class()(
            design=self,
            outcomes=outcomes,
            data=data,
            estimate=est,
            next_dose=None if nd < 0 else nd + 1,
            cohort_size=int(dec.cohort_size[0]) or None,
            stop=bool(dec.stop[0]),
            reason=self.explain(data, dec),
            mtd=None if sd < 0 else sd + 1,
            is_mad=bool(sel.is_mad[0]) and sd >= 0,
            prob_tox=prob,
            prob_tox_interval=interval,
            **self._fit_fields(data, est),
        )


Design.__init__.__signature__ = _options.legacy_signature()  # type: ignore[attr-defined]
Design.__init__.__annotations__ = {o.name: o.hint for o in OPTIONS if o.legacy}


@dataclass(frozen=True, kw_only=True)
class Fit:
    """What a design recommends on one arm's data.

    Attributes
    ----------
    next_dose : int or None
        1-based level of the next cohort (None when stopping).
    cohort_size : int or None
    stop : bool
    reason : str
        The rule that fired, as a sentence.
    mtd : int or None
        1-based selected level on the data so far (None: no acceptable dose).
    is_mad : bool
        The selection is a maximum administered dose (no MTD reached).
    prob_tox : xarray.DataArray
        Estimated DLT probability per dose (coords ``dose_level``, ``dose_mg``).
    prob_tox_interval : xarray.DataArray or None
        Credible interval of the DLT probability per dose (dim ``bound``: ``lower``,
        ``upper``; its mass in ``attrs["mass"]``, e.g. CRM's ``credible_level``).  Not a
        toxicity interval (``BLRMFit.interval_probs``).
    estimate : Estimate
        The engine's output (posterior and diagnostics for PyMC).
    hold : bool
        The design cannot decide yet: patients are pending (DLT window not complete, non-
        TITE design) or have unknown DLT status, or an unknown grade-2 status decides
        accelerated titration (``titration_grade2=True``); then ``next_dose`` and
        ``cohort_size`` are None, ``stop`` is False and ``reason`` names the patients.
    pending : tuple of str
        Patients without DLT still inside the DLT window (a TITE design weights them).
    unknown : tuple of str
        Patients with unknown DLT status (held on, or counted by ``missing_policy``).
    grade2_unknown : tuple of str
        Patients of unknown grade-2 toxicity status (:meth:`Outcomes.grade2_unknown`) the
        fit holds on: their status decides whether accelerated titration goes on
        (``titration_grade2=True``).  Empty otherwise (an unknown status that does not
        change the decision is named in ``reason`` only).
    missing_policy : str or None
        ``"assume_dlt"`` / ``"assume_not"`` when unknown statuses were counted so.
    dlt_window : float or None
        DLT window (days) pending patients were measured against
        (``outcomes.pending(dlt_window)`` lists them with the days left).
    """

    design: Design
    outcomes: Outcomes
    data: DoseData = field(repr=False)
    estimate: Estimate = field(repr=False)
    next_dose: int | None
    cohort_size: int | None
    stop: bool
    reason: str
    mtd: int | None
    is_mad: bool
    prob_tox: xr.DataArray = field(repr=False)
    prob_tox_interval: xr.DataArray | None = field(default=None, repr=False)
    hold: bool = False
    pending: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    grade2_unknown: tuple[str, ...] = ()
    missing_policy: str | None = None
    dlt_window: float | None = None

    @property
    def backfill_open(self) -> tuple[int, ...]:
        """1-based levels open for the next backfill patient (design with ``backfill=``;
        ``()`` otherwise, or when stopping or held); :attr:`backfill_reason` says why."""
        from .slots.backfill import backfill_status

        return backfill_status(self)[0]

    @property
    def backfill_reason(self) -> str:
        """Why each level is open or closed for backfill (one sentence per level)."""
        from .slots.backfill import backfill_status

        return backfill_status(self)[1]

    @property
    def mtd_label(self) -> str:
        """``"MTD"``, ``"MAD"`` or ``"none"``."""
        return "none" if self.mtd is None else ("MAD" if self.is_mad else "MTD")

    @property
    def posterior(self) -> Any:
        """The ArviZ posterior (PyMC engine), else None."""
        return self.estimate.posterior

    @property
    def diagnostics(self) -> Any:
        """MCMC diagnostics (PyMC engine), else None."""
        return self.estimate.diagnostics

    def summary(self) -> pd.DataFrame:
        """Per-dose table: patients, DLTs and the estimated DLT probability."""
        df = pd.DataFrame(
            {
                "dose_mg": self.prob_tox["dose_mg"].to_numpy(),
                "n": self.data.n[0],
                "dlt": self.data.dlt[0],
                "prob_tox": self.prob_tox.to_numpy(),
            },
            index=pd.Index(self.prob_tox["dose_level"].to_numpy(), name="dose_level"),
        )
        if self.prob_tox_interval is not None:
            df["lower"] = self.prob_tox_interval.sel(bound="lower").to_numpy()
            df["upper"] = self.prob_tox_interval.sel(bound="upper").to_numpy()
        return df

    def _headline(self) -> str:
        nxt = (
            "hold"
            if self.hold
            else "stop"
            if self.stop
            else f"next: level {self.next_dose} (cohort of {self.cohort_size})"
        )
        sel = f"{self.mtd_label} {self.mtd}" if self.mtd is not None else "no dose selected"
        if self.hold:
            sel = f"on the evaluable patients: {sel}"
        return f"{self.design.label}: {nxt}; {sel}. {self.reason}"

    def __str__(self) -> str:
        return self._headline() + "\n" + self.summary().to_string()

    def _repr_html_(self) -> str:
        return f"<p><b>{self._headline()}</b></p>" + self.summary().to_html(float_format="%.3f")


@dataclass(frozen=True)
class Evidence:
    """The patients a fit can count (``evaluable``) and those it holds on."""

    outcomes: Outcomes
    evaluable: Outcomes
    window: float
    tite: bool
    pending: pd.DataFrame
    unknown: tuple[str, ...]
    imputed: tuple[str, ...]
    missing_policy: str | None
    #: evaluable patients of unknown grade-2 status (counted as none in ``evaluable``)
    grade2_unknown: tuple[str, ...] = ()
    #: whether the decision depends on them (then the fit holds)
    grade2_held: bool = False


def _rows(outcomes: Outcomes) -> dict[str, Any]:
    f = outcomes.to_frame()
    return {str(r.patient_id): r for r in f.itertuples()}


def _where(r: Any) -> str:
    return f"{r.patient_id} (arm {r.arm}, level {r.dose_level})"


def _pending_text(r: Any, window: float) -> str:
    if not np.isfinite(r.followup_days):
        return f"{r.patient_id} (arm {r.arm}, level {r.dose_level}: follow-up not recorded)"
    done = (
        f"window completes on study day {r.window_complete_day:g}, "
        if np.isfinite(r.window_complete_day)
        else ""
    )
    return (
        f"{r.patient_id} (arm {r.arm}, level {r.dose_level}: {r.followup_days:g} of "
        f"{window:g} days, {done}{r.days_left:g} days left)"
    )
