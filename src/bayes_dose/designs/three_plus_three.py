"""The protocol's rule-based design: accelerated titration followed by 3+3.

3+3 (Storer 1989) at the current dose with ``n`` patients and ``y`` DLTs:

* fewer than 3 patients (after a titration DLT): complete the cohort to 3;
* 0/3, or at most 1/6: escalate one level (at the top dose: stop, the top dose is the
  MAD);
* 1/3: expand the dose to 6;
* 2 or more DLTs: the dose is above the MTD.  ``"escalation_only"``: stop, MTD = the
  next lower dose.  ``"deescalation"`` (the bundled example protocol's): go down one level and expand it
  to 6 if it has fewer (the MTD needs at most 1/6 of 6); stop when that dose has 6 with
  at most 1 DLT.

The lowest level with 2+ DLTs is never given again, and no dose is skipped.  Data at or
above that level (a deviation in real data) are treated as 2+ DLTs at the current level.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..inference.estimate import Estimate
from ..protocol import MTDRule, Protocol
from .base import Design
from .options import BaseOptions
from .state import NONE, Decision, DoseData, Selection

__all__ = ["ThreePlusThree"]

VARIANTS = ("deescalation", "escalation_only")

(COMPLETE, ESCALATE, EXPAND, TOP_MAD, ABOVE_STOP, ABOVE_NONE, DEESCALATE,
 MTD_FOUND, BLOCKED_EXPAND) = range(9)  # fmt: skip


class ThreePlusThree(Design):
    """Rule-based 3+3 with optional accelerated titration.

    Parameters
    ----------
    n_doses : int
        Number of dose levels.
    titration_levels : int
        Levels ``1..titration_levels`` use one patient each until the first DLT (e.g. 3).
    variant : {"deescalation", "escalation_only"}
        What follows a dose with 2+ DLTs (see module docstring).
    titration_grade2 : bool
        Also end titration at the second grade-2 drug-related toxicity.
    start_level : int
        1-based starting level.
    doses_mg : sequence of float, optional
        Dose labels.
    mtd_rule : MTDRule, optional
        The protocol's MTD definition (:attr:`Protocol.mtd_rule
        <bayes_dose.Protocol.mtd_rule>`), used to choose the MTD below a level with 2+
        DLTs (``"deescalation"``).  Default ``None``: the textbook rule, at most 1 DLT in
        6 or more patients.  A design built from a protocol (:meth:`from_protocol`) or
        from a spec (:func:`bayes_dose.io.load_spec`) gets the protocol's rule.  The
        escalation steps themselves are the 3+3's (expand to 6 patients).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> d = bd.ThreePlusThree(n_doses=8, titration_levels=3)
    >>> fit = d.fit(bd.Outcomes.parse("1N 2N 3N 4NNN 4NTN"))
    >>> fit.next_dose, fit.stop
    (5, False)
    >>> print(fit.reason)
    1 DLT in 6 patients at level 4: escalate to level 5
    >>> d.fit(bd.Outcomes.parse("1N 2N 3N 4NNN 5NTT")).next_dose   # 2/3 at level 5: back to 4
    4
    """

    label = "3+3"
    uses_last_cohort = False
    uses_estimate = False
    self_limiting = True
    own_reasons = (
        "{dlt} DLT in {n} patient(s) at level {dose}: complete the cohort to 3 at level {next}",
        "{dlt} DLT in {n} patients at level {dose}: escalate to level {next}",
        "1 DLT in {n} patients at level {dose}: expand level {next} to 6",
        "{dlt} DLT in {n} patients at the top level {dose}: stop; MAD = level {dose}",
        "{dlt} DLTs in {n} patients at level {dose}: above the MTD; stop, MTD = the next lower "
        "level below the lowest level with 2+ DLTs",
        "{dlt} DLTs in {n} patients at level {dose}; level 1 has 2+ DLTs: stop, no MTD",
        "{dlt} DLTs in {n} patients at level {dose}: above the MTD; de-escalate and expand "
        "level {next} to 6",
        "{dlt} DLT(s) in {n} patients at level {dose} and the level above has 2+ DLTs: stop; "
        "MTD = level {dose}",
        "{dlt} DLT(s) in {n} patients at level {dose}; the level above has 2+ DLTs: expand "
        "level {next} to 6",
    )

    #: 3+3 fixes its cohorts of 3 and its own stopping (no max_n, no stopping rule).
    base_options = BaseOptions(
        fixed={"cohort_size": 3, "max_n": None, "no_skip": True, "stopping": None}
    )

    def __init__(
        self,
        n_doses: int,
        titration_levels: int = 0,
        variant: str = "deescalation",
        titration_grade2: bool = False,
        start_level: int = 1,
        doses_mg: tuple[float, ...] | None = None,
        mtd_rule: MTDRule | None = None,
    ) -> None:
        # n_doses, titration_levels, titration_grade2, start_level and doses_mg are base
        # options listed here for their positions; the base sets them
        if variant not in VARIANTS:
            raise ValueError(f"ThreePlusThree: variant must be one of {VARIANTS}, got {variant!r}")
        self.variant = variant
        if mtd_rule is not None and not isinstance(mtd_rule, MTDRule):
            raise ValueError(f"ThreePlusThree: mtd_rule must be an MTDRule, got {mtd_rule!r}")
        self.mtd_rule = mtd_rule

    @classmethod
    def from_protocol(
        cls, protocol: Protocol, arm: str | None = None, **overrides: Any
    ) -> ThreePlusThree:
        """The protocol's 3+3 for one arm.

        The arm's levels, doses and start level, the protocol's MTD rule
        (``protocol.mtd_rule``) and 3+3 variant (``protocol.escalation_variant``), and its
        accelerated titration (``protocol.titration_levels``) on an arm without a partner
        drug (the protocol titrates monotherapy only).  ``overrides`` replace any of these
        (e.g. ``titration_levels=0``).

        Parameters
        ----------
        protocol : Protocol
        arm : str, optional
            Arm name; required when the protocol has more than one arm.
        **overrides
            Constructor parameters that replace the protocol's.

        Examples
        --------
        >>> import bayes_dose as bd
        >>> d = bd.ThreePlusThree.from_protocol(bd.protocols.bat6021(), "mono")
        >>> d.n_doses, d.titration_levels, d.mtd_rule
        (8, 3, MTDRule(max_dlt_fraction=Fraction(1, 6), min_patients=6))
        >>> bd.ThreePlusThree.from_protocol(bd.protocols.bat6021(), "combo").titration_levels
        0
        """
        if arm is None:
            if len(protocol.arms) != 1:
                raise ValueError(
                    f"ThreePlusThree.from_protocol: protocol {protocol.name!r} has arms "
                    f"{protocol.arm_names}; name one"
                )
            arm = protocol.arms[0].name
        a = protocol.arm(arm)
        params: dict[str, Any] = {
            "n_doses": a.n_doses,
            "doses_mg": a.doses_mg,
            "start_level": a.start_level,
            "variant": protocol.escalation_variant,
            "titration_levels": protocol.titration_levels if a.partner is None else 0,
            "mtd_rule": protocol.mtd_rule,
        }
        return cls(**{**params, **overrides})

    @property
    def selection_scope(self) -> str:  # type: ignore[override]
        """``"tried_range"`` for ``"escalation_only"`` starting above level 1 (the MTD, the
        level below the lowest with 2+ DLTs, is then untreated when that is the start
        level), else ``"treated"``."""
        return "tried_range" if self.variant == "escalation_only" and self.start_level > 1 else "treated"

    # -- helpers ---------------------------------------------------------------------
    def _cap(self, data: DoseData) -> np.ndarray:
        """0-based lowest level with 2+ DLTs (``n_doses`` when none)."""
        toxic = data.dlt >= 2
        return np.where(toxic.any(axis=1), np.argmax(toxic, axis=1), self.n_doses)

    def _cleared(self, data: DoseData) -> np.ndarray:
        """Levels whose data allow escalation past them, shape (T, D)."""
        n, y = data.n, data.dlt
        ok = ((n >= 3) & (y == 0)) | ((n >= 6) & (y <= 1))
        if self.titration_levels:
            tit = np.arange(self.n_doses) < self.titration_levels
            ok |= tit[None, :] & (n == 1) & (y == 0)
        return ok

    # -- the rule --------------------------------------------------------------------------
    def _rule(self, data: DoseData, estimate: Estimate | None) -> Decision:
        T, D = data.n_trials, self.n_doses
        d = np.clip(data.current, 0, None)
        n = data.at_current(data.n)
        y = data.at_current(data.dlt)
        cap = self._cap(data)
        rows = np.arange(T)

        nxt = np.full(T, NONE)
        size = np.zeros(T, dtype=np.int64)
        stop = np.zeros(T, dtype=bool)
        reason = np.zeros(T, dtype=np.int64)

        def put(mask, dose, sz, st, code):
            nxt[mask] = np.broadcast_to(dose, (T,))[mask]
            size[mask] = np.broadcast_to(sz, (T,))[mask]
            stop[mask] = st
            reason[mask] = self._code(code)

        # above the MTD: 2+ DLTs at the current level, or the current level is at/above
        # the lowest level with 2+ DLTs (real data may deviate from the textbook path)
        toxic = (y >= 2) | (d >= cap)
        if self.variant == "escalation_only":
            put(toxic & (cap > 0), NONE, 0, True, ABOVE_STOP)
            put(toxic & (cap == 0), NONE, 0, True, ABOVE_NONE)
        else:
            j = cap - 1
            jj = np.clip(j, 0, None)
            nj = data.n[rows, jj]
            put(toxic & (j < 0), NONE, 0, True, ABOVE_NONE)
            put(toxic & (j >= 0) & (nj >= 6), NONE, 0, True, ABOVE_STOP)
            put(toxic & (j >= 0) & (nj < 6), jj, np.minimum(3, 6 - nj), False, DEESCALATE)

        ok = ~toxic
        fill3 = ok & (n < 3)
        put(fill3, d, 3 - n, False, COMPLETE)
        expand = ok & ~fill3 & (y == 1) & (n < 6)
        put(expand, d, np.minimum(3, 6 - n), False, EXPAND)
        clear = ok & ~fill3 & ~expand
        up = d + 1
        can_up = clear & (up < cap) & (up < D)
        put(can_up, up, 3, False, ESCALATE)
        blocked = clear & ~can_up & (up == cap) & (cap < D)
        put(blocked & (n >= 6), NONE, 0, True, MTD_FOUND)
        put(blocked & (n < 6), d, np.minimum(3, 6 - n), False, BLOCKED_EXPAND)
        put(clear & ~can_up & ~blocked, NONE, 0, True, TOP_MAD)
        return Decision(nxt, size, stop, reason)

    def select(self, data: DoseData, estimate: Estimate | None = None) -> Selection:
        """MTD on the data so far.

        With a level having 2+ DLTs: ``"deescalation"`` gives the highest level below it
        with at most 1 DLT in 6 or more patients; ``"escalation_only"`` gives the level
        just below it.  Without one, the highest cleared level is reported as the MAD.
        """
        _T, D = data.n_trials, self.n_doses
        cap = self._cap(data)
        has_cap = cap < D
        levels = np.arange(D)[None, :]
        if self.variant == "escalation_only":
            mtd = cap - 1
        else:
            if self.mtd_rule is None:
                ok = (data.n >= 6) & (data.dlt <= 1)
            else:
                ok = self.mtd_rule.acceptable(data.n, data.dlt)
            good = ok & (levels < cap[:, None])
            mtd = np.where(good.any(axis=1), D - 1 - np.argmax(good[:, ::-1], axis=1), NONE)
        cleared = self._cleared(data)
        mad = np.where(cleared.any(axis=1), D - 1 - np.argmax(cleared[:, ::-1], axis=1), NONE)
        dose = np.where(has_cap, mtd, mad)
        return Selection(dose.astype(np.int64), ~has_cap & (dose >= 0))
