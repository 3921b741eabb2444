"""BLRM with escalation with overdose control (Neuenschwander, Branson & Gsponer 2008).

The DLT probability of dose ``d`` follows ``logit p(d) = log(alpha) + beta log(d / d*)``
with a bivariate normal prior on ``(log alpha, log beta)``.  After each cohort the
posterior gives, per dose, the probabilities that ``p(d)`` lies below, inside or above the
target interval ``[lo, hi)``.  Escalation with overdose control (EWOC):

* *eligible* doses have ``P(p(d) >= hi) < ewoc``;
* the next dose is the eligible dose with the highest ``P(lo <= p(d) < hi)``, among
  doses within the escalation limit: no skipping of untried levels (``no_skip``) and
  at most ``max_increment`` times the current dose (e.g. 2.0 = at most doubling);
* the trial stops when no dose is eligible (no MTD), and when every dose within the
  escalation limit has ``P(overdose) >= ewoc`` although a dose above it does not (the
  fitted overdose probability is then not increasing in dose, e.g. with a negative
  interaction): no dose satisfies both overdose control and the escalation limit;
* the MTD is chosen by the same rule among eligible doses up to the highest level tried.

:class:`EWOCDesign` holds the decision rule; :class:`BLRM` adds the single-agent model,
and :class:`~bayes_dose.designs.combo_blrm.CombinationBLRM` the combination model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from .. import checks
from ..inference.blrm_grid import grid_engine
from ..inference.blrm_model import CATEGORIES, BLRMModel, BLRMPrior
from ..inference.engines import engines
from ..inference.estimate import Estimate
from ..inference.tite_blrm import has_pending, tite_estimate
from ..outcomes import Outcomes
from .base import Design, Fit
from .options import BaseOptions
from .state import NONE, Decision, DoseData, Selection

__all__ = ["BLRM", "BLRMFit", "EWOCDesign"]

EWOC_NEXT, EWOC_STOP, EWOC_LIMITED, EWOC_BLOCKED = range(4)


@dataclasses.dataclass(frozen=True, kw_only=True)
class BLRMFit(Fit):
    """A BLRM-family fit: :class:`~bayes_dose.designs.base.Fit` plus toxicity-interval
    probabilities.

    Attributes
    ----------
    interval_probs : xarray.DataArray
        Posterior probability of each toxicity interval per dose: underdose ``[0, lo)``,
        target ``[lo, hi)``, overdose ``[hi, 1]`` (dims ``dose`` x ``category``, categories
        ``under`` / ``target`` / ``over``; not the credible interval ``prob_tox_interval``).
    diagnostic_flags : tuple of str
        MCMC problems found (empty for the grid engine or a clean run).
    grid_flags : tuple of str
        Grid engine: why the posterior could not be verified (mass at the grid edge,
        refinement not converged); empty when it was.  Shown in ``reason``.
    """

    interval_probs: xr.DataArray = dataclasses.field(repr=False)
    diagnostic_flags: tuple[str, ...] = ()
    grid_flags: tuple[str, ...] = ()

    def summary(self) -> pd.DataFrame:
        """Per-dose table: data, posterior mean and credible interval, and the toxicity-interval
        probabilities P(under/target/over)."""
        df = super().summary()
        for cat in self.interval_probs["category"].to_numpy():
            df[f"P({cat})"] = self.interval_probs.sel(category=cat).to_numpy()
        return df


def target_interval_of(owner: str, value: Any) -> tuple[float, float]:
    """``(lo, hi)`` with ``0 < lo < hi < 1`` (numbers, not text), or a ValueError."""
    bad = ValueError(f"{owner}: target_interval must be (lo, hi) with 0 < lo < hi < 1, "
                     f"got {value!r}")  # fmt: skip
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)) \
            or len(value) != 2:
        raise bad
    try:
        lo, hi = (checks.real(owner, "target_interval", c, low=0, high=1) for c in value)
    except ValueError:
        raise bad from None
    if not 0 < lo < hi < 1:
        raise bad
    return lo, hi


def point_counts(owner: str, value: Any, n: int) -> tuple[int, ...]:
    """``n`` grid point counts, whole numbers >= 3, or a ValueError naming ``owner``."""
    bad = ValueError(f"{owner}: grid must be {n} whole numbers >= 3, got {value!r}")
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)) \
            or len(value) != n:
        raise bad
    try:
        return tuple(checks.whole(owner, "grid", g, low=3) for g in value)
    except ValueError:
        raise bad from None


class EWOCDesign(Design):
    """Decision rule shared by the BLRM designs (see module docstring)."""

    label = "BLRM"
    uses_last_cohort = False
    model_based = True
    own_reasons: ClassVar[tuple[str, ...]] = (
        "EWOC: level {next} has the highest P(target) among levels with "
        "P(overdose) < {ewoc} within the escalation limit",
        "EWOC: no level has P(overdose) < {ewoc}: stop, no MTD",
        "EWOC: level {next} is the highest level allowed by the escalation limit "
        "(max increment {max_increment}) among levels with P(overdose) < {ewoc}",
        "EWOC: every level within the escalation limit (no skipping, max increment "
        "{max_increment}) has P(overdose) >= {ewoc}, while higher levels do not (the "
        "overdose probability is not increasing in dose): no level meets both rules: stop",
    )

    #: No grade-2 titration trigger.
    base_options = BaseOptions(fixed={"titration_grade2": False})

    def __init__(
        self,
        n_doses: int,
        *,
        target_interval: tuple[float, float] = (0.16, 0.33),
        ewoc: float = 0.25,
        max_increment: float | None = None,
    ) -> None:
        name = type(self).__name__
        self.target_interval = target_interval_of(name, target_interval)
        self.ewoc = checks.real(name, "ewoc", ewoc, low=0, low_open=True, high=1)
        self.max_increment = None if max_increment is None else checks.real(
            name, "max_increment", max_increment, low=1, low_open=True)
        # (2.0 = at most doubling)

    def _own_templates(self) -> tuple[str, ...]:
        inc = "none" if self.max_increment is None else f"{self.max_increment:g}x"
        return tuple(
            r.replace("{ewoc}", f"{self.ewoc:g}").replace("{max_increment}", inc)
            for r in self.own_reasons
        )

    @property
    def selection_scope(self) -> str:  # type: ignore[override]
        """``"treated"`` with no-skip from level 1, else ``"tried_range"``: the MTD is chosen
        among eligible levels up to the highest tried, which may then include a skipped
        level or one below the start."""
        return "treated" if self.no_skip and self.start_level == 1 else "tried_range"

    # -- the rule --------------------------------------------------------------------
    def _limit(self, data: DoseData) -> np.ndarray:
        """Allowed doses under the escalation limit, shape (T, D)."""
        T, D = data.n_trials, self.n_doses
        ok = np.ones((T, D), dtype=bool)
        levels = np.arange(D)[None, :]
        if self.no_skip:
            ok &= levels <= self.skip_cap(data)[:, None]
        if self.max_increment is not None:
            if self.doses_mg is None:
                raise ValueError(f"{type(self).__name__}: max_increment needs doses in mg")
            mg = np.asarray(self.doses_mg)
            cur = mg[np.clip(data.current, 0, None)]
            within = mg[None, :] <= self.max_increment * cur[:, None] * (1 + 1e-12)
            ok &= within | (data.current < 0)[:, None]
        return ok

    def _best(self, estimate: Estimate, allowed: np.ndarray) -> np.ndarray:
        """Highest P(target) among ``allowed`` doses (ties: the lower dose); -1 if none."""
        score = np.where(allowed, estimate.stats["p_target"], -np.inf)
        best = np.argmax(score, axis=1)
        return np.where(allowed.any(axis=1), best, NONE)

    def eligible(self, estimate: Estimate) -> np.ndarray:
        """Doses satisfying overdose control, shape (T, D)."""
        return np.asarray(estimate.stats["p_over"]) < self.ewoc

    def _rule(self, data: DoseData, estimate: Estimate) -> Decision:
        T = data.n_trials
        ok = self.eligible(estimate)
        limit = self._limit(data)
        best = self._best(estimate, ok & limit)
        unlimited = self._best(estimate, ok)
        stop = ~ok.any(axis=1)
        reason = np.where(stop, EWOC_STOP, np.where(unlimited != best, EWOC_LIMITED, EWOC_NEXT))
        # every eligible dose lies above the escalation limit (possible only when the
        # overdose probability is not monotone in dose): no dose satisfies both overdose
        # control and the limit, so the rule assigns none
        blocked = ~stop & (best < 0)
        stop = stop | blocked
        reason = np.where(blocked, EWOC_BLOCKED, reason)
        return Decision(
            np.where(stop, NONE, best).astype(np.int64),
            np.where(stop, 0, self.cohort_size).astype(np.int64),
            stop,
            (reason.reshape(T) + self._code(0)).astype(np.int64),
        )

    def select(self, data: DoseData, estimate: Estimate | None = None) -> Selection:
        """MTD: highest P(target) among EWOC-eligible levels up to the highest level tried."""
        if estimate is None:
            estimate = self.estimate(data)
        tried = np.arange(self.n_doses)[None, :] <= data.highest_tried[:, None]
        dose = self._best(estimate, self.eligible(estimate) & tried)
        return Selection(dose.astype(np.int64), np.zeros(data.n_trials, dtype=bool))

    # -- fit ---------------------------------------------------------------------------
    def _fit_class(self) -> type[Fit]:
        return BLRMFit

    def _fit_fields(self, data: DoseData, estimate: Estimate) -> dict[str, Any]:
        probs = np.stack([estimate.stats[f"p_{c}"][0] for c in CATEGORIES], axis=-1)
        mg = self.doses_mg or (np.nan,) * self.n_doses
        da = xr.DataArray(
            probs,
            dims=("dose", "category"),
            coords={
                "dose_level": ("dose", np.arange(1, self.n_doses + 1)),
                "dose_mg": ("dose", np.asarray(mg, dtype=float)),
                "category": list(CATEGORIES),
            },
            name="interval_probs",
            attrs={"target_interval": list(self.target_interval), "engine": estimate.engine},
        )
        flags = tuple((estimate.diagnostics or {}).get("flags", ()))
        return {
            "interval_probs": da,
            "diagnostic_flags": flags,
            "grid_flags": tuple(getattr(estimate, "grid_flags", ())),
        }

    def _blocked_text(self, data: DoseData, estimate: Estimate) -> str:
        """The blocked branch in numbers: the limit, its overdose probabilities, and the
        levels above it that EWOC would allow (trial 0)."""
        limit = self._limit(data)[0]
        p_over = np.asarray(estimate.stats["p_over"])[0]
        top = int(np.flatnonzero(limit)[-1]) + 1
        inside = ", ".join(f"{k + 1}: {p_over[k]:.3f}" for k in np.flatnonzero(limit))
        above = ", ".join(
            f"{k + 1}: {p_over[k]:.3f}" for k in np.flatnonzero(~limit & (p_over < self.ewoc))
        )
        return (
            f"EWOC: every level within the escalation limit (levels 1-{top}) has "
            f"P(overdose) >= {self.ewoc:g} ({inside}), while levels above it do not "
            f"({above}): the overdose probability is not increasing in dose, so no level "
            "meets both overdose control and the escalation limit: stop"
        )

    def _make_fit(self, outcomes, data, est, dec, sel) -> Fit:  # type: ignore[override]
        fit = super()._make_fit(outcomes, data, est, dec, sel)
        if int(dec.reason[0]) == self._code(EWOC_BLOCKED):
            fit = dataclasses.replace(fit, reason=self._blocked_text(data, est))
        if fit.diagnostic_flags:  # type: ignore[attr-defined]
            note = "; ".join(fit.diagnostic_flags)  # type: ignore[attr-defined]
            fit = dataclasses.replace(fit, reason=f"{fit.reason} [MCMC warning: {note}]")
        if fit.grid_flags:  # type: ignore[attr-defined]
            note = "; ".join(fit.grid_flags)  # type: ignore[attr-defined]
            fit = dataclasses.replace(fit, reason=f"{fit.reason} [grid warning: {note}]")
        return fit


class BLRM(EWOCDesign):
    """Bayesian logistic regression model with EWOC (Neuenschwander et al. 2008).

    Parameters
    ----------
    doses : sequence of float
        Doses (mg) of the levels, increasing.
    reference_dose : float
        Reference dose ``d*``.
    prior : BLRMPrior
        Bivariate normal prior on ``(log alpha, log beta)``.
    target_interval : (float, float)
        Target toxicity interval ``[lo, hi)``: below it the underdose interval ``[0, lo)``,
        above it the overdose interval ``[hi, 1]``; ``P(p >= hi)`` is the overdose
        probability.
    ewoc : float
        Overdose control: eligible doses have ``P(overdose) < ewoc``.
    cohort_size, max_n, start_level, titration_levels, no_skip, stopping
        See :class:`~bayes_dose.designs.base.Design`.
    max_increment : float, optional
        At most this multiple of the current dose (2.0 = at most doubling).
    grid : (int, int)
        Grid points of the exact engine (log beta axis, log alpha axis).
    tite_window : float, optional
        DLT window in days: TITE-BLRM.  A patient still in the window without DLT
        weighs ``min(follow-up / window, 1)`` in the likelihood, ``log(1 - w p)``
        (:func:`~bayes_dose.inference.tite_blrm.tite_blrm_posterior`); with complete
        follow-up it is the BLRM.

    Examples
    --------
    The NBG (2008) example: after 2/2 DLTs at 25 mg the next cohort goes to 20 mg.

    >>> import bayes_dose as bd
    >>> doses = [1, 2.5, 5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 250]
    >>> prior = bd.BLRMPrior(mean=(2.15, 0.52), sd=(0.84, 0.8), corr=0.2)
    >>> blrm = bd.BLRM(doses, reference_dose=250, prior=prior, target_interval=(0.2, 0.35))
    >>> out = bd.Outcomes.parse("1NNN 2NNNN 3NNNNN 4NNNN 7TT")
    >>> fit = blrm.fit(out)
    >>> fit.next_dose, doses[fit.next_dose - 1]
    (6, 20)
    >>> round(float(fit.prob_tox[5]), 2)
    0.25
    """

    #: ``n_doses`` and ``doses_mg`` come from ``doses``.
    base_options = BaseOptions(fixed={"titration_grade2": False}, derived=("n_doses", "doses_mg"))

    def __init__(
        self,
        doses: Sequence[float],
        reference_dose: float,
        prior: BLRMPrior | None = None,
        target_interval: tuple[float, float] = (0.16, 0.33),
        ewoc: float = 0.25,
        max_increment: float | None = None,
        grid: tuple[int, int] = (61, 121),
        tite_window: float | None = None,
    ) -> None:
        self.tite_window = None if tite_window is None else checks.real(
            "BLRM", "tite_window", tite_window, low=0, low_open=True)  # days
        self.doses = checks.doses("BLRM", "doses", doses)
        self.reference_dose = checks.real("BLRM", "reference_dose", reference_dose, low=0,
                                          low_open=True)  # fmt: skip
        self.prior = BLRMPrior() if prior is None else prior
        self.grid = point_counts("BLRM", grid, 2)
        self.doses_mg = self.doses
        super().__init__(
            len(self.doses), target_interval=target_interval, ewoc=ewoc,
            max_increment=max_increment,
        )  # fmt: skip
        self.model = BLRMModel(self.doses, self.reference_dose, self.prior, self.target_interval)

    def estimate(self, data: DoseData, engine: str = "grid", **kwargs: Any) -> Estimate:
        """Posterior summaries per dose for every trial.

        Parameters
        ----------
        data : DoseData
        engine : str
            A registered engine (:data:`bayes_dose.engines`).  ``"grid"``: exact
            quadrature, vectorised over trials (option ``intervals``).  ``"pymc"`` /
            ``"nutpie"``: NUTS on a single trial (``draws``, ``tune``, ``chains``,
            ``random_seed``, ...).
        """
        if self.tite_window is not None and engine == "grid":
            return tite_estimate(self.model, data, self.grid, **kwargs)
        if self.tite_window is not None and has_pending(data).any():
            raise ValueError(
                f"BLRM with tite_window: engine={engine!r} has no follow-up weights; the "
                "TITE-weighted posterior is computed by the grid engine (engine='grid')"
            )
        return engines[engine].estimate(
            self.model, {"arm": (data.n, data.dlt)}, resolution=self.grid, **kwargs
        )

    def _data_from(self, outcomes: Outcomes) -> DoseData:
        return DoseData.from_outcomes(outcomes, self.n_doses, tite_window=self.tite_window)


#: Grid engines are built once per (model, grid) and reused.
_grid_engine = grid_engine
