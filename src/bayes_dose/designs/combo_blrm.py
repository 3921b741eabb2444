"""Combination BLRM with EWOC for the BAT6021 + tislelizumab arm.

The model (:mod:`bayes_dose.inference.combo_blrm_model`) joins BAT6021's single-agent
BLRM, tislelizumab's single-agent DLT probability at 200 mg and an interaction on the
odds; decisions on the combination arm follow the same EWOC rule as the BLRM
(:class:`~bayes_dose.designs.blrm.EWOCDesign`).

Default partner prior.  Anti-PD-1 antibodies given alone rarely cause DLTs in the first
cycle: the phase I trials of nivolumab, pembrolizumab and tislelizumab did not reach an
MTD and their first-cycle DLT rates were of the order of a few percent.  We therefore
assume ``logit P(DLT | tislelizumab 200 mg) ~ N(logit 0.05, 0.8^2)``: median 5%, 95%
prior interval about 1%-20%.  This is an assumption, not a trial result; set
``partner_prior`` to your own.

Default interaction prior: ``eta ~ N(0, 1.121^2)``, i.e. no interaction expected, and at
the reference dose the odds multiplier ``exp(eta)`` lies between 1/9 and 9 with 95% prior
probability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..inference.combo_blrm_model import CombinationModel, NormalPrior
from ..inference.combo_quadrature import QuadratureSettings, replace_rows
from ..inference.engines import engines
from ..inference.estimate import Estimate
from ..outcomes import Outcomes
from .base import Fit
from .blrm import BLRM, EWOCDesign
from .rules import StoppingRule
from .state import DoseData

__all__ = ["DEFAULT_INTERACTION_PRIOR", "DEFAULT_PARTNER_PRIOR", "CombinationBLRM"]

#: Assumed prior of logit P(DLT) of tislelizumab 200 mg alone (see module docstring).
DEFAULT_PARTNER_PRIOR = NormalPrior(mean=float(np.log(0.05 / 0.95)), sd=0.8)
#: Interaction prior centred at no interaction.
DEFAULT_INTERACTION_PRIOR = NormalPrior(mean=0.0, sd=1.121)


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
    doses : sequence of float, optional
        BAT6021 doses (mg) of the combination arm (default: the BAT6021 protocol's combo arm).
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
        integration on the BAT6021 example, but not under prior-data conflict or a strong
        interaction (flagged there: ``Estimate.grid_flags`` and a ``[grid warning: ...]``
        in the fit's reason).
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

    Examples
    --------
    >>> import bayes_dose as bd
    >>> proto = bd.protocols.bat6021()
    >>> mono = bd.BLRM(proto.arm("mono").doses_mg, reference_dose=300)
    >>> combo = bd.CombinationBLRM(mono=mono, grid=(9, 9, 25, 41))
    >>> out = bd.examples.bat6021_outcomes()
    >>> fit = combo.fit({"mono": out.arm("mono"), "combo": out.arm("combo")})
    >>> fit.interval_probs.dims
    ('dose', 'category')
    """

    label = "combo BLRM"

    def __init__(
        self,
        mono: BLRM,
        partner_prior: NormalPrior | None = None,
        interaction_prior: NormalPrior | None = None,
        borrow: bool = True,
        doses: Sequence[float] | None = None,
        target_interval: tuple[float, float] | None = None,
        ewoc: float | None = None,
        cohort_size: int = 3,
        max_n: int | None = None,
        max_increment: float | None = None,
        no_skip: bool = True,
        titration_levels: int = 0,
        start_level: int = 1,
        stopping: StoppingRule | None = None,
        grid: tuple[int, int, int, int] = (25, 25, 31, 45),
        mono_data: Outcomes | None = None,
        method: str = "auto",
        quadrature: QuadratureSettings | Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(mono, BLRM):
            raise ValueError(f"CombinationBLRM: mono must be a BLRM, got {type(mono).__name__}")
        if doses is None:
            from ..protocols import bat6021

            doses = bat6021().arm("combo").doses_mg
        self.mono = mono
        self.partner_prior = DEFAULT_PARTNER_PRIOR if partner_prior is None else partner_prior
        self.interaction_prior = (
            DEFAULT_INTERACTION_PRIOR if interaction_prior is None else interaction_prior
        )
        for name in ("partner_prior", "interaction_prior"):
            if not isinstance(getattr(self, name), NormalPrior):
                raise ValueError(f"CombinationBLRM: {name} must be a NormalPrior")
        self.borrow = bool(borrow)
        if mono_data is not None:
            if not isinstance(mono_data, Outcomes):
                raise ValueError(
                    f"CombinationBLRM: mono_data must be Outcomes, got {type(mono_data).__name__}"
                )
            if "mono" in mono_data.arms:
                mono_data = mono_data.arm("mono")
            elif len(mono_data):
                raise ValueError(
                    f"CombinationBLRM: mono_data holds arms {mono_data.arms}, not 'mono'"
                )
        self.mono_data = mono_data
        self.doses = tuple(float(d) for d in doses)
        self.grid = tuple(int(g) for g in grid)
        if len(self.grid) != 4:
            raise ValueError(f"CombinationBLRM: grid must be four point counts, got {grid}")
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
            max_increment=max_increment, cohort_size=cohort_size, max_n=max_n,
            start_level=start_level, titration_levels=titration_levels, no_skip=no_skip,
            stopping=stopping, doses_mg=self.doses,
        )  # fmt: skip
        mono_model = mono.model
        if mono_model.cuts != self.target_interval:
            mono_model = type(mono_model)(
                mono_model.doses, mono_model.reference_dose, mono_model.prior, self.target_interval
            )
        self.model = CombinationModel(
            mono_model, self.doses, self.partner_prior, self.interaction_prior
        )

    def get_params(self) -> dict[str, Any]:
        p = super().get_params()
        for k in ("n_doses", "doses_mg", "titration_grade2"):
            p.pop(k, None)
        return p

    @property
    def borrows_from(self) -> tuple[str, ...]:
        """``("mono",)`` when borrowing: ``fit`` reads the monotherapy arm of the data."""
        return ("mono",) if self.borrow else ()

    @property
    def requires_other_arms(self) -> bool:
        """Borrowing with no stored ``mono_data``: decisions need the monotherapy data
        passed in (``fit``), so count-only uses (simulation, paths) are refused."""
        return bool(self.borrows_from) and self.mono_data is None

    # -- data ----------------------------------------------------------------------------
    @staticmethod
    def split(outcomes: Outcomes | Mapping[str, Outcomes]) -> tuple[Outcomes | None, Outcomes]:
        """``(mono, combo)`` outcomes from a mapping or one :class:`Outcomes` with both arms."""
        if isinstance(outcomes, Outcomes):
            mono = outcomes.arm("mono") if "mono" in outcomes.arms else None
            combo = outcomes.arm("combo")
            other = set(outcomes.arms) - {"mono", "combo"}
            if other:
                raise ValueError(
                    f"CombinationBLRM.fit: arms must be 'mono' and 'combo', got {outcomes.arms}"
                )
            return mono, combo
        if isinstance(outcomes, Mapping):
            unknown = set(outcomes) - {"mono", "combo"}
            if unknown or "combo" not in outcomes:
                raise ValueError(
                    "CombinationBLRM.fit: expected {'mono': Outcomes, 'combo': Outcomes}, got "
                    f"keys {sorted(outcomes)}"
                )
            for k, v in outcomes.items():
                if not isinstance(v, Outcomes):
                    raise ValueError(
                        f"CombinationBLRM.fit: {k!r} must be Outcomes, got {type(v).__name__}"
                    )
            return outcomes.get("mono"), outcomes["combo"]
        raise ValueError(
            f"CombinationBLRM.fit: expected Outcomes or a mapping of arms, got {type(outcomes).__name__}"
        )

    def mono_counts(self, mono: Outcomes | None) -> tuple[np.ndarray, np.ndarray]:
        """Monotherapy patients and DLTs per dose, shape (1, D_mono) each."""
        D = self.mono.n_doses
        if mono is None or len(mono) == 0:
            z = np.zeros((1, D), dtype=np.int64)
            return z, z.copy()
        d = DoseData.from_outcomes(mono, D)
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
            only when ``borrow=True``.
        **kwargs
            Engine settings (PyMC: ``draws``, ``tune``, ``chains``, ``random_seed``, ...).
        """
        counts: dict[str, tuple[np.ndarray, np.ndarray]] = {"combo": (data.n, data.dlt)}
        if mono_counts is None and self.mono_data is not None:
            mono_counts = self.mono_counts(self.mono_data)
        if self.borrow and mono_counts is not None:
            n, y = (np.atleast_2d(np.asarray(a, dtype=np.int64)) for a in mono_counts)
            if n.shape[1] != self.mono.n_doses:
                raise ValueError(
                    f"CombinationBLRM: mono_counts have {n.shape[1]} doses, mono design {self.mono.n_doses}"
                )
            T = data.n_trials
            counts["mono"] = (
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
        holding both arms, or the mapping's ``"mono"``), else from the stored
        ``mono_data``; with neither the fit raises rather than borrow from nothing.
        Pending or unknown patients of either arm make the fit hold (see
        :meth:`~bayes_dose.designs.base.Design.fit`).

        Parameters
        ----------
        outcomes : {"mono": Outcomes, "combo": Outcomes} or Outcomes holding both arms
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
                    f"the data given hold no 'mono' patients (arms {given}); fit the data "
                    "with both arms (fit(outcomes) or {'mono': ..., 'combo': ...}), store "
                    "them (mono_data=), or set borrow=False"
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
        return self._finish(self._make_fit(ev[0].outcomes, data, est, dec, sel), *ev)
