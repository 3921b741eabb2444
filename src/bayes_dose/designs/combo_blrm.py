"""Combination BLRM with EWOC: a drug escalated with a partner given at a fixed dose.

The model (:mod:`bayes_dose.inference.combo_blrm_model`) joins the drug's single-agent
BLRM, the partner's single-agent DLT probability at its fixed dose and an interaction on
the odds; decisions on the combination arm follow the same EWOC rule as the BLRM
(:class:`~bayes_dose.designs.blrm.EWOCDesign`).  The arms are data: the design decides
for its own arm (``arm``) and borrows from the single-agent arm ``source_arm``.

Default partner prior: a partner that alone rarely causes DLTs in the first cycle (as
anti-PD-1 antibodies, whose phase I trials did not reach an MTD with first-cycle DLT
rates of a few percent): ``logit P(DLT | partner) ~ N(logit 0.05, 0.8^2)``, median 5%,
95% prior interval about 1%-20%.  This is an assumption, not a trial result; set
``partner_prior`` to your own.

Default interaction prior: ``eta ~ N(0, 1.121^2)``, i.e. no interaction expected, and at
the reference dose the odds multiplier ``exp(eta)`` lies between 1/9 and 9 with 95% prior
probability.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import checks
from ..errors import flag
from ..inference.borrowing import (
    EXNEX,
    BorrowingReport,
    Exchangeable,
    HierarchicalCombinationModel,
    TauPrior,
    borrowing_report,
)
from ..inference.combo_blrm_model import CombinationModel, NormalPrior
from ..inference.combo_quadrature import QuadratureSettings, replace_rows
from ..inference.engines import engines
from ..inference.estimate import Estimate
from ..outcomes import Outcomes
from .base import Fit
from .blrm import BLRM, BLRMFit, EWOCDesign, point_counts
from .options import BaseOptions
from .state import DoseData

__all__ = ["DEFAULT_INTERACTION_PRIOR", "DEFAULT_PARTNER_PRIOR", "CombinationBLRM", "CombinationFit"]

#: Assumed prior of logit P(DLT) of the partner alone at its dose (see module docstring).
DEFAULT_PARTNER_PRIOR = NormalPrior(mean=float(np.log(0.05 / 0.95)), sd=0.8)
#: Interaction prior centred at no interaction.
DEFAULT_INTERACTION_PRIOR = NormalPrior(mean=0.0, sd=1.121)


#: Keys of a ``borrowing`` table in a TOML spec.
BORROWING_KEYS = ("type", "tau_median", "tau_sd_log", "rho", "p_exch")


def _borrowing_from_table(table: Mapping[str, Any]) -> str | Exchangeable:
    """``borrowing = {type = "exnex", p_exch = 0.5, tau_median = [0.25, 0.125], ...}``."""
    unknown = sorted(set(table) - set(BORROWING_KEYS))
    if unknown:
        raise ValueError(
            f"CombinationBLRM: borrowing table: unknown key(s) {unknown}; keys: {', '.join(BORROWING_KEYS)}"
        )
    kind = table.get("type")
    if kind in ("full", "none"):
        if len(table) > 1:
            raise ValueError(f"CombinationBLRM: borrowing type {kind!r} takes no other keys")
        return str(kind)
    if kind not in ("exchangeable", "exnex"):
        raise ValueError(
            "CombinationBLRM: borrowing table: 'type' must be 'full', 'none', 'exchangeable' "
            f"or 'exnex', got {kind!r}"
        )
    tau = TauPrior(
        median=table.get("tau_median", TauPrior().median),
        sd_log=table.get("tau_sd_log", TauPrior().sd_log),
    )
    rho = table.get("rho", "uniform")
    if kind == "exchangeable":
        if "p_exch" in table:
            raise ValueError("CombinationBLRM: borrowing table: 'p_exch' belongs to type 'exnex'")
        return Exchangeable(tau_prior=tau, rho=rho)
    if "p_exch" not in table:
        raise ValueError("CombinationBLRM: borrowing table of type 'exnex' needs 'p_exch'")
    return EXNEX(tau_prior=tau, rho=rho, p_exch=table["p_exch"])


def _borrowing_spec(borrow: bool | None, borrowing: Any) -> str | Exchangeable:
    """The borrowing model from ``borrowing`` and its alias ``borrow``."""
    if borrow is not None:
        flag("CombinationBLRM", "borrow", borrow)
    if borrowing is None:
        return "none" if borrow is False else "full"
    if isinstance(borrowing, Mapping):
        borrowing = _borrowing_from_table(borrowing)
    if isinstance(borrowing, str):
        if borrowing not in ("full", "none"):
            raise ValueError(
                "CombinationBLRM: borrowing must be 'full', 'none', bd.Exchangeable(...) or "
                f"bd.EXNEX(...), got {borrowing!r}"
            )
    elif not isinstance(borrowing, Exchangeable):
        raise ValueError(
            "CombinationBLRM: borrowing must be 'full', 'none', bd.Exchangeable(...) or "
            f"bd.EXNEX(...), got {type(borrowing).__name__}"
        )
    if borrow is not None and bool(borrow) != (borrowing != "none"):
        raise ValueError(
            f"CombinationBLRM: borrow={borrow!r} contradicts borrowing={borrowing!r} "
            "(borrow is an alias: True = 'full', False = 'none'); give one of them"
        )
    return borrowing


@dataclasses.dataclass(frozen=True)
class CombinationFit(BLRMFit):
    """A combination-BLRM fit: :class:`~bayes_dose.BLRMFit` plus the borrowing strength.

    Attributes
    ----------
    borrowing : BorrowingReport or None
        Effective sample size of the monotherapy data in the combination prior per
        combination dose, and (EXNEX) the posterior EX weight.
    start_dose : bool
        ``next_dose`` is the recommended combination starting level (monotherapy data,
        no combination patients yet).
    """

    borrowing: BorrowingReport | None = None
    start_dose: bool = False


class CombinationBLRM(EWOCDesign):
    """EWOC on the combination arm, borrowing from the monotherapy arm.

    Parameters
    ----------
    mono : BLRM
        The single-agent design: monotherapy doses, reference dose, prior of
        ``(log alpha, log beta)``; its target interval and ``ewoc`` are the defaults here.
    partner_prior : NormalPrior
        Prior of ``logit P(DLT)`` of the partner alone at its fixed dose.
    interaction_prior : NormalPrior
        Prior of the interaction ``eta`` on the odds (centred at 0 = no interaction).
    borrow : bool
        Fit both arms jointly (``True``) or the combination arm alone (``False``).
    doses : sequence of float
        Doses (mg) of the escalated drug on the combination arm's levels.  Not giving
        them is deprecated: the doses of the arm named ``arm`` in the bundled example
        protocol are used, with a ``DeprecationWarning``.
    target_interval, ewoc : optional
        Default: the monotherapy design's.
    cohort_size, max_n, max_increment, no_skip, titration_levels, start_level, stopping
        As in :class:`~bayes_dose.designs.blrm.BLRM`.
    mono_data : Outcomes, optional
        Monotherapy data to borrow from whenever a call supplies none: simulation, dose
        paths and decision tables of the combination arm then borrow from these (observed)
        monotherapy results.  Data given to ``fit`` take precedence.
    grid : tuple of 4 int
        Prior-grid points (partner, interaction, log beta, log alpha) of the product-grid
        engine (``method="grid"``).  The default (872,000 nodes, ~0.5 s per fit after a
        ~5 s build) gives interval probabilities within 1e-3 of an independent
        integration on the bundled example, but not under prior-data conflict, a strong
        interaction or the narrow single-agent posterior of a finished Part I (flagged
        there: ``Estimate.grid_flags`` and a ``[grid warning: ...]`` in the fit's reason;
        ``method="auto"`` recomputes those states with the quadrature).  On simulated
        programme states ``(25, 25, 41, 61)`` flags far fewer (about a quarter against
        two thirds) at ~1.8 times the cost per state.
    method : {"auto", "quadrature", "grid"}
        Exact engine (``engine="grid"``): ``"quadrature"`` follows each posterior
        (Laplace frames, one per dose, with the interval cut integrated along a direction
        in which the dose's logit is monotone; Gauss-Hermite orders raised until the
        result settles to ``quadrature.tol``; results cached per count state;
        :mod:`bayes_dose.inference.combo_quadrature`); ``"grid"`` the 4-D prior grid
        alone; ``"auto"`` (default) the prior grid, and the quadrature for every state
        the prior grid flags (prior-data conflict, strong interactions).  Each flags what
        it cannot certify.
    quadrature : QuadratureSettings or mapping, optional
        Settings of the quadrature engine (default ``QuadratureSettings()``).
    borrowing : "full", "none", Exchangeable or EXNEX
        How the combination arm borrows from the monotherapy arm (default ``"full"``):
        shared single-agent parameters (``"full"``), none (``"none"``), exchangeable
        parameters with a between-arm heterogeneity ``tau``
        (:class:`~bayes_dose.Exchangeable`) or exchangeable with prior probability
        ``p_exch`` (:class:`~bayes_dose.EXNEX`); see :mod:`bayes_dose.inference.borrowing`.
        The grid engine fits the robust models by importance sampling with exact
        weights (Monte Carlo errors in ``Estimate.stats["mc_se_p_*"]``).  ``fit(...)
        .borrowing`` reports the borrowing strength.  In a TOML spec: ``borrowing =
        "none"`` or a table ``{type = "exnex", p_exch = 0.5, tau_median = [0.25, 0.125],
        tau_sd_log = [0.354, 0.354], rho = "uniform"}`` (``type = "exchangeable"``
        without ``p_exch``).
    source_arm : str
        The arm borrowed from (single agent): its patients in the data given to ``fit``
        or in ``mono_data`` (default ``"mono"``).
    arm : str
        The design's own (combination) arm in the data (default ``"combo"``).

    Notes
    -----
    Starting dose.  With monotherapy data and no combination patients yet, ``fit``
    recommends the highest combination level whose P(overdose) under the borrowed prior
    is below ``ewoc`` and whose single-agent dose does not exceed the highest monotherapy dose
    cleared in monotherapy (at least ``cohort_size`` evaluable patients, DLTs in at most
    1/6 of them: the protocol's MTD definition): the protocol opens the combination only
    after the monotherapy data are submitted, so the combination starts at a dose the
    monotherapy arm has cleared.  No
    skipping does not apply to this first choice (no combination level has been tried).
    Simulation keeps starting at ``start_level``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> proto = bd.protocols.bat6021()
    >>> mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    >>> combo = bd.CombinationBLRM(mono=mono, doses=proto.arm("combo").doses_mg,
    ...                            grid=(9, 9, 25, 41))
    >>> out = bd.examples.bat6021_outcomes()
    >>> fit = combo.fit({"mono": out.arm("mono"), "combo": out.arm("combo")})
    >>> fit.interval_probs.dims
    ('dose', 'category')
    """

    label = "combo BLRM"
    #: ``n_doses`` and ``doses_mg`` come from ``doses``.
    base_options = BaseOptions(fixed={"titration_grade2": False}, derived=("n_doses", "doses_mg"))

    def __init__(
        self,
        mono: BLRM,
        partner_prior: NormalPrior | None = None,
        interaction_prior: NormalPrior | None = None,
        borrow: bool | None = None,
        doses: Sequence[float] | None = None,
        target_interval: tuple[float, float] | None = None,
        ewoc: float | None = None,
        max_increment: float | None = None,
        grid: tuple[int, int, int, int] = (25, 25, 31, 45),
        mono_data: Outcomes | None = None,
        borrowing: Any = None,
        source_arm: str = "mono",
        arm: str = "combo",
        method: str = "auto",
        quadrature: QuadratureSettings | Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(mono, BLRM):
            raise ValueError(f"CombinationBLRM: mono must be a BLRM, got {type(mono).__name__}")
        for name, v in (("source_arm", source_arm), ("arm", arm)):
            if not isinstance(v, str) or not v.strip():
                raise ValueError(f"CombinationBLRM: {name} must be an arm name, got {v!r}")
        if source_arm == arm:
            raise ValueError(f"CombinationBLRM: source_arm and arm are both {arm!r}")
        self.source_arm, self.arm = source_arm, arm
        if doses is None:
            doses = _example_doses(arm)
        self.mono = mono
        self.partner_prior = DEFAULT_PARTNER_PRIOR if partner_prior is None else partner_prior
        self.interaction_prior = (
            DEFAULT_INTERACTION_PRIOR if interaction_prior is None else interaction_prior
        )
        for name in ("partner_prior", "interaction_prior"):
            if not isinstance(getattr(self, name), NormalPrior):
                raise ValueError(f"CombinationBLRM: {name} must be a NormalPrior")
        self.borrowing = _borrowing_spec(borrow, borrowing)
        self.borrow = self.borrowing != "none"
        if mono_data is not None:
            if not isinstance(mono_data, Outcomes):
                raise ValueError(
                    f"CombinationBLRM: mono_data must be Outcomes, got {type(mono_data).__name__}"
                )
            if source_arm in mono_data.arms:
                mono_data = mono_data.arm(source_arm)
            elif len(mono_data):
                raise ValueError(
                    f"CombinationBLRM: mono_data holds arms {mono_data.arms}, not {source_arm!r}"
                )
        self.mono_data = mono_data
        self.doses = checks.doses("CombinationBLRM", "doses", doses)
        self.grid = point_counts("CombinationBLRM", grid, 4)
        self.doses_mg = self.doses
        if method not in ("auto", "quadrature", "grid"):
            raise ValueError(
                f"CombinationBLRM: method must be 'auto', 'quadrature' or 'grid', got {method!r}"
            )
        self.method = method
        self.quadrature = QuadratureSettings.coerce(quadrature)
        super().__init__(
            len(self.doses),
            target_interval=mono.target_interval if target_interval is None else target_interval,
            ewoc=mono.ewoc if ewoc is None else ewoc,
            max_increment=max_increment,
        )  # fmt: skip
        mono_model = mono.model
        if mono_model.cuts != self.target_interval:
            mono_model = type(mono_model)(
                mono_model.doses, mono_model.reference_dose, mono_model.prior, self.target_interval
            )
        self.combo_model = CombinationModel(
            mono_model, self.doses, self.partner_prior, self.interaction_prior
        )
        self.model = self.combo_model
        if isinstance(self.borrowing, Exchangeable):
            b = self.borrowing
            self.model = HierarchicalCombinationModel(
                self.combo_model,
                mono.prior if b.mu_prior is None else b.mu_prior,
                b.tau_prior,
                None if b.rho == "uniform" else float(b.rho),
                b.p_exch if isinstance(b, EXNEX) else 1.0,
                (mono.prior if b.nex_prior is None else b.nex_prior) if isinstance(b, EXNEX) else None,
            )

    @property
    def borrowing_method(self) -> str:
        """``"full"``, ``"none"``, ``"exchangeable"`` or ``"exnex"``."""
        b = self.borrowing
        return b if isinstance(b, str) else b.kind

    def _fit_class(self) -> type[Fit]:
        return CombinationFit

    def replace(self, **changes: Any) -> CombinationBLRM:
        """A copy with some parameters changed; ``borrow`` and ``borrowing`` name one
        setting: changing one of them replaces the other."""
        params = self.get_params()
        if "borrow" in changes and "borrowing" not in changes:
            params.pop("borrowing", None)
        if "borrowing" in changes and "borrow" not in changes:
            params.pop("borrow", None)
        return type(self)(**{**params, **changes})

    @property
    def borrows_from(self) -> tuple[str, ...]:
        """``(source_arm,)`` when borrowing: ``fit`` reads that arm of the data."""
        return (self.source_arm,) if self.borrow else ()

    @property
    def requires_other_arms(self) -> bool:
        """Borrowing with no stored ``mono_data``: decisions need the monotherapy data
        passed in (``fit``), so count-only uses (simulation, paths) are refused."""
        return bool(self.borrows_from) and self.mono_data is None

    # -- data ----------------------------------------------------------------------------
    def split(self, outcomes: Outcomes | Mapping[str, Outcomes]) -> tuple[Outcomes | None, Outcomes]:
        """``(source arm, own arm)`` outcomes from a mapping or one :class:`Outcomes` with
        both arms."""
        src, own = self.source_arm, self.arm
        if isinstance(outcomes, Outcomes):
            mono = outcomes.arm(src) if src in outcomes.arms else None
            combo = outcomes.arm(own)
            other = set(outcomes.arms) - {src, own}
            if other:
                raise ValueError(
                    f"CombinationBLRM.fit: arms must be {src!r} and {own!r}, got {outcomes.arms}"
                )
            return mono, combo
        if isinstance(outcomes, Mapping):
            unknown = set(outcomes) - {src, own}
            if unknown or own not in outcomes:
                raise ValueError(
                    f"CombinationBLRM.fit: expected {{{src!r}: Outcomes, {own!r}: Outcomes}}, "
                    f"got keys {sorted(outcomes)}"
                )
            for k, v in outcomes.items():
                if not isinstance(v, Outcomes):
                    raise ValueError(
                        f"CombinationBLRM.fit: {k!r} must be Outcomes, got {type(v).__name__}"
                    )
            return outcomes.get(src), outcomes[own]
        raise ValueError(
            f"CombinationBLRM.fit: expected Outcomes or a mapping of arms, got {type(outcomes).__name__}"
        )

    def mono_counts(self, mono: Outcomes | None) -> tuple[np.ndarray, np.ndarray]:
        """Monotherapy patients and DLTs per dose, shape (1, D_mono) each."""
        D = self.mono.n_doses
        if mono is None or len(mono) == 0:
            z = np.zeros((1, D), dtype=np.int64)
            return z, z.copy()
        d = DoseData.from_outcomes(mono._grade2_filled(0), D)  # grade-2 status not read
        return d.n, d.dlt

    # -- estimate and fit ------------------------------------------------------------------
    def estimate(
        self,
        data: DoseData,
        engine: str = "grid",
        mono_counts: tuple[np.ndarray, np.ndarray] | None = None,
        **kwargs: Any,
    ) -> Estimate:
        """Posterior summaries of the combination arm.

        Parameters
        ----------
        data : DoseData
            Combination-arm evidence (``T`` trials).
        engine : str
            A registered engine (:data:`bayes_dose.engines`).
        mono_counts : (n, y), optional
            Monotherapy patients and DLTs per dose (shape (D_mono,) or (T, D_mono)); used
            only when ``borrow=True``.  When omitted, the per-trial source counts carried
            in ``data`` (``DoseData.source_n``/``source_dlt``, set by
            :class:`bayes_dose.Programme`) are used, else the stored ``mono_data``.
        **kwargs
            Engine settings (PyMC: ``draws``, ``tune``, ``chains``, ``random_seed``, ...).
        """
        # the model's components: the decision (combination) arm and the single agent
        own, single = self.model.decision_arm, _other(self.model.arms, self.model.decision_arm)
        counts: dict[str, tuple[np.ndarray, np.ndarray]] = {own: (data.n, data.dlt)}
        if mono_counts is None and data.source_n is not None:
            mono_counts = (data.source_n, data.source_dlt)
        if mono_counts is None and self.mono_data is not None:
            mono_counts = self.mono_counts(self.mono_data)
        if self.borrow and mono_counts is not None:  # "full" and the robust models
            n, y = (np.atleast_2d(np.asarray(a, dtype=np.int64)) for a in mono_counts)
            if n.shape[1] != self.mono.n_doses:
                raise ValueError(
                    f"CombinationBLRM: mono_counts have {n.shape[1]} doses, mono design {self.mono.n_doses}"
                )
            T = data.n_trials
            counts[single] = (
                np.broadcast_to(n, (T, n.shape[1])),
                np.broadcast_to(y, (T, n.shape[1])),
            )
        est = engines[engine].estimate(self.model, counts, resolution=self.resolution, **kwargs)
        # the quadrature serves the combination model itself (models of other borrowing
        # structures keep the prior grid's result, flagged where it is not resolved)
        if engine == "grid" and self.method == "auto" and type(self.model) is CombinationModel:
            flag = np.asarray(est.stats.get("grid_flag", np.zeros(data.n_trials, bool)))
            rows = np.flatnonzero(flag)
            if rows.size:
                sub = {a: (np.asarray(n)[rows], np.asarray(y)[rows]) for a, (n, y) in counts.items()}
                fixed = engines[engine].estimate(self.model, sub, resolution=self.quadrature, **kwargs)
                est = replace_rows(est, rows, fixed)
        return est

    @property
    def resolution(self) -> tuple[int, ...] | QuadratureSettings:
        """What the exact engine is given first: the quadrature settings
        (``method="quadrature"``) or the prior grid."""
        return self.quadrature if self.method == "quadrature" else self.grid

    def fit(  # type: ignore[override]
        self,
        outcomes: Outcomes | Mapping[str, Outcomes],
        engine: str = "grid",
        *,
        missing: str | None = None,
        dlt_window: float | None = None,
        **engine_kwargs: Any,
    ) -> Fit:
        """Fit both arms (or the combination arm alone with ``borrow=False``) and decide
        for the combination arm.

        With ``borrow=True`` the monotherapy data come from ``outcomes`` (an Outcomes
        holding both arms, or the mapping's ``source_arm``), else from the stored
        ``mono_data``; with neither the fit raises rather than borrow from nothing.
        Pending or unknown patients of either arm make the fit hold (see
        :meth:`~bayes_dose.designs.base.Design.fit`).

        Parameters
        ----------
        outcomes : {source_arm: Outcomes, arm: Outcomes} or Outcomes holding both arms
        engine : str
            A registered engine (:data:`bayes_dose.engines`).
        missing, dlt_window
            As in :meth:`~bayes_dose.designs.base.Design.fit` (both arms).
        **engine_kwargs
            Passed to the engine.
        """
        mono, combo = self.split(outcomes)
        if not self.borrow:
            mono = None
        elif mono is None or len(mono) == 0:
            if self.mono_data is None:
                given = outcomes.arms if isinstance(outcomes, Outcomes) else tuple(outcomes)
                raise ValueError(
                    "CombinationBLRM.fit: borrow=True needs the monotherapy arm's data, but "
                    f"the data given hold no {self.source_arm!r} patients (arms {given}); fit "
                    f"the data with both arms (fit(outcomes) or {{{self.source_arm!r}: ..., "
                    f"{self.arm!r}: ...}}), store them (mono_data=), or set borrow=False"
                )
            mono = self.mono_data
        ev = [self._evidence(combo, missing, dlt_window)]
        if mono is not None:
            ev.append(self._evidence(mono, missing, dlt_window))
        data = DoseData.from_outcomes(ev[0].evaluable, self.n_doses)
        counts = self.mono_counts(ev[1].evaluable) if mono is not None else None
        est = self.estimate(data, engine=engine, mono_counts=counts, **engine_kwargs)
        dec = self.decide(data, est)
        sel = self.select(data, est)
        fit = self._finish(self._make_fit(ev[0].outcomes, data, est, dec, sel), *ev)
        mono_nd = None if counts is None else (counts[0][0], counts[1][0])
        report = borrowing_report(self.borrowing_method, self.model, mono_nd, est)
        fit = dataclasses.replace(fit, borrowing=report)
        if (
            not fit.hold and mono_nd is not None and int(data.total_n[0]) == 0
            and int(mono_nd[0].sum()) > 0
        ):  # fmt: skip
            fit = self._starting_dose(fit, est, *mono_nd)
        return fit

    def _starting_dose(
        self, fit: CombinationFit, est: Estimate, mono_n: np.ndarray, mono_y: np.ndarray
    ) -> CombinationFit:
        """The combination starting level: the highest level with P(overdose) < ewoc
        under the borrowed prior, at a single-agent dose cleared in monotherapy (see Notes)."""
        p_over = np.asarray(est.stats["p_over"])[0]
        mono_mg = np.asarray(self.mono.doses)
        n, y = np.asarray(mono_n), np.asarray(mono_y)
        cleared = np.flatnonzero((n >= self.cohort_size) & (6 * y <= n))
        top_mg = float(mono_mg[cleared[-1]]) if cleared.size else None
        mg = np.asarray(self.doses)
        within = mg <= (top_mg if top_mg is not None else -np.inf) * (1 + 1e-12)
        ok = (p_over < self.ewoc) & within
        values = ", ".join(f"{k + 1} ({mg[k]:g} mg): {p_over[k]:.3f}" for k in range(len(mg)))
        where = (
            f"the highest single-agent dose cleared in monotherapy ({top_mg:g} mg: at least "
            f"{self.cohort_size} evaluable patients, DLTs in at most 1/6)"
            if top_mg is not None
            else f"no monotherapy dose is cleared yet (at least {self.cohort_size} evaluable "
            "patients with DLTs in at most 1/6)"
        )
        borrowed = f"under the {self.borrowing_method} borrowed prior"
        if not ok.any():
            reason = (
                f"combination starting dose: no combination level has P(overdose) < "
                f"{self.ewoc:g} {borrowed} at or below {where} (P(overdose) by level: "
                f"{values}): do not open the combination arm on these data"
            )
            return dataclasses.replace(
                fit, next_dose=None, cohort_size=None, stop=True, reason=reason, start_dose=True
            )
        level = int(np.flatnonzero(ok)[-1]) + 1
        reason = (
            f"combination starting dose: level {level} ({mg[level - 1]:g} mg) is the highest "
            f"combination level with P(overdose) < {self.ewoc:g} {borrowed} at or below "
            f"{where} (P(overdose) by level: {values})"
        )
        if fit.grid_flags:
            reason += f" [grid warning: {'; '.join(fit.grid_flags)}]"
        return dataclasses.replace(
            fit, next_dose=level, cohort_size=self.first_cohort_size(), stop=False,
            reason=reason, start_dose=True,
        )  # fmt: skip


def _other(arms: Sequence[str], one: str) -> str:
    """The model component of ``arms`` that is not ``one``."""
    (rest,) = (a for a in arms if a != one)
    return rest


def _example_doses(arm: str) -> tuple[float, ...]:
    """Deprecated default of ``doses``: arm ``arm`` of the bundled example protocol."""
    from ..protocols import example

    proto = example()
    if arm not in proto.arm_names:
        raise ValueError(
            f"CombinationBLRM: give doses= (the example protocol {proto.name!r} has no arm "
            f"{arm!r} to take them from)"
        )
    doses = proto.arm(arm).doses_mg
    warnings.warn(
        f"CombinationBLRM without doses= takes arm {arm!r}'s doses {list(doses)} mg from the "
        f"bundled example protocol ({proto.name}); give doses= (this default will be removed)",
        DeprecationWarning,
        stacklevel=3,
    )
    return doses
