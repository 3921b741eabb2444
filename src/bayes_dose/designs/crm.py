"""CRM and TITE-CRM (O'Quigley, Pepe & Fisher 1990; Cheung & Chappell 2000), as in dfcrm.

After each cohort the posterior of the model parameter ``beta`` is updated (exact
quadrature engine by default, PyMC on request) and the next dose is the one whose
estimated DLT probability is closest to target: the curve at the posterior mean of
``beta`` (dfcrm's ``ptox``, ``selection="plugin"``) or the posterior mean probability
(``selection="posterior_mean"``).  dfcrm's ``restrict=TRUE`` rules apply:

* ``no_skip``: at most one level above the last cohort's dose (and, as for every design,
  at most one above the highest level tried);
* ``coherent``: no escalation when the last cohort's DLT rate is >= target.

With ``tite_window`` (days) a patient without DLT weighs ``min(follow-up / window, 1)``
in the likelihood (TITE-CRM, linear weights).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logit

from .. import checks
from ..deprecation import deprecated_property, renamed_kwargs
from ..errors import flag
from ..inference.crm_grid import crm_posterior  # noqa: F401 - documented here
from ..inference.crm_model import LINKS, CRMModel
from ..inference.crm_tite_fast import crm_curve_estimate, crm_decision_estimate
from ..inference.engines import engines
from ..inference.estimate import Estimate
from ..outcomes import Outcomes
from .base import Design, Fit
from .options import BaseOptions
from .state import NONE, Decision, DoseData, Selection

__all__ = ["CRM", "CRMFit", "crm_skeleton"]

SELECTIONS = ("plugin", "posterior_mean")
(MODEL_DOSE, CAPPED, COHERENT) = range(3)


@renamed_kwargs(model="link")
def crm_skeleton(
    target: float,
    halfwidth: float,
    mtd_guess: int,
    n_doses: int,
    link: str = "empiric",
    intercept: float = 3.0,
) -> tuple[float, ...]:
    """Skeleton by the indifference-interval method of Lee & Cheung (2009) (dfcrm::getprior).

    Parameters
    ----------
    target : float
        Target DLT rate.
    halfwidth : float
        Half-width of the indifference interval (``target ± halfwidth``).
    mtd_guess : int
        1-based prior guess of the MTD (its skeleton value is ``target``).
    n_doses : int
    link : {"empiric", "logistic"}
        The CRM's dose-toxicity link (``model``: deprecated alias).
    intercept : float
        Intercept of the logistic link.

    Returns
    -------
    tuple of float
        Increasing skeleton probabilities.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> [round(p, 4) for p in bd.crm_skeleton(0.25, 0.05, mtd_guess=3, n_doses=5)]
    [0.084, 0.1567, 0.25, 0.3545, 0.4603]
    """
    target = checks.real("crm_skeleton", "target", target, low=0, high=1, low_open=True,
                         high_open=True)  # fmt: skip
    hw = checks.real("crm_skeleton", "halfwidth", halfwidth)
    a = checks.real("crm_skeleton", "intercept", intercept)  # used by the logistic link
    nu = checks.whole("crm_skeleton", "mtd_guess", mtd_guess)
    K = checks.whole("crm_skeleton", "n_doses", n_doses)
    if not 0 < hw < min(target, 1 - target):
        raise ValueError(
            f"crm_skeleton: halfwidth must be in (0, min(target, 1 - target)), got {hw}"
        )
    if K < 1:
        raise ValueError(f"crm_skeleton: n_doses must be >= 1, got {K}")
    if not 1 <= nu <= K:
        raise ValueError(f"crm_skeleton: mtd_guess must be in 1..{K}, got {nu}")
    if link not in ("empiric", "logistic"):
        raise ValueError(
            f"crm_skeleton: link (the dose-toxicity model) must be 'empiric' or 'logistic', "
            f"got {link!r}"
        )
    lo, hi = target - hw, target + hw
    x = np.empty(K)
    if link == "empiric":
        # Adjacent doses i, i+1 share a beta at which p_i = target - hw and
        # p_{i+1} = target + hw: log(x_{i+1}) / log(x_i) = log(hi) / log(lo).
        x[nu - 1] = target
        for k in range(nu - 1, 0, -1):
            x[k - 1] = np.exp(np.log(x[k]) * np.log(lo) / np.log(hi))
        for k in range(nu - 1, K - 1):
            x[k + 1] = np.exp(np.log(x[k]) * np.log(hi) / np.log(lo))
        return tuple(float(v) for v in x)
    x[nu - 1] = logit(target) - a
    for k in range(nu - 1, 0, -1):
        x[k - 1] = x[k] * (logit(lo) - a) / (logit(hi) - a)
    for k in range(nu - 1, K - 1):
        x[k + 1] = x[k] * (logit(hi) - a) / (logit(lo) - a)
    return tuple(float(v) for v in expit(a + x))


@dataclass(frozen=True, kw_only=True)
class CRMFit(Fit):
    """A CRM fit: :class:`~bayes_dose.Fit` plus the model parameter's posterior.

    Attributes
    ----------
    beta_mean, beta_var : float
        Posterior mean and variance of ``beta`` (MLE and dfcrm's approximate variance
        with ``method="mle"``).
    prob_tox_plugin : ndarray, shape (D,)
        The dose-toxicity curve at ``beta_mean`` (dfcrm's ``ptox``).
    """

    beta_mean: float
    beta_var: float
    prob_tox_plugin: np.ndarray



def _skeleton(value: Any) -> tuple[float, ...]:
    """The skeleton as a tuple of probabilities; a scalar, text or a 2-D array is refused
    (``ravel`` had flattened a 2-D skeleton into more levels)."""
    try:
        return checks.reals("CRM", "skeleton", value, len(value))
    except (ValueError, TypeError):
        raise ValueError(
            f"CRM: skeleton must be a 1-D sequence of probabilities, got {value!r}") from None

class CRM(Design):
    """Continual reassessment method (dfcrm 0.2-2.1), optionally time-to-event (TITE).

    Parameters
    ----------
    skeleton : sequence of float
        Prior DLT probabilities per dose (see :func:`crm_skeleton`).
    target : float
        Target DLT rate.
    link : {"empiric", "logistic"}
        Dose-toxicity link (dfcrm's ``model``): ``p = skeleton ** exp(beta)`` or
        ``logit p = intercept + exp(beta) * (logit(skeleton) - intercept)``.  ``model`` is
        its deprecated alias (a design's ``model`` is a model object, e.g. ``BLRM.model``;
        the CRM's is :attr:`crm_model`).
    prior_sd : float
        Prior standard deviation of ``beta`` (dfcrm: ``sqrt(1.34)``).
    intercept : float
        Logistic intercept.
    cohort_size, max_n, start_level, titration_levels, doses_mg, stopping
        As in :class:`~bayes_dose.Design`.
    no_skip : bool
        At most one level above the last cohort's dose.
    coherent : bool
        No escalation after a cohort whose DLT rate is >= target.
    tite_window : float, optional
        DLT observation window in days: enables TITE weights.
    method : {"bayes", "mle"}
        Posterior mean (default) or maximum likelihood (falls back to the posterior mean
        while no MLE exists, i.e. before both a DLT and a non-DLT are seen).
    selection : {"plugin", "posterior_mean"}
        Curve used to choose doses: at the posterior mean ``beta`` (dfcrm) or the posterior
        mean DLT probability.
    credible_level : float
        Mass of the credible interval reported in ``prob_tox_interval`` (``interval``:
        deprecated alias).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> crm = bd.CRM(skeleton=[0.05, 0.10, 0.20, 0.35, 0.50, 0.70], target=0.2, cohort_size=1)
    >>> fit = crm.fit(bd.Outcomes.parse("3N 4N 4T 3N 3N 4T 3T 2N 2N 2N"))
    >>> fit.next_dose, round(fit.beta_mean, 4)
    (2, -0.2122)
    """

    model_based = True

    label = "CRM"
    #: dfcrm's MTD is the level closest to target on the final curve, treated or not.
    selection_scope = "any"
    own_reasons = (
        "estimated DLT probability closest to target {target} at level {next}",
        "estimated DLT probability closest to target {target} above level {next}; capped at "
        "level {next}, one above the last cohort's level {dose} (no skipping)",
        "last cohort: {last_dlt} DLT in {last_n} at level {dose} (rate >= target {target}): "
        "no escalation (coherence); level {next}",
    )

    #: ``n_doses`` comes from the skeleton; no grade-2 titration trigger.
    base_options = BaseOptions(fixed={"titration_grade2": False}, derived=("n_doses",))

    @renamed_kwargs(model="link", interval="credible_level")
    def __init__(
        self,
        skeleton: tuple[float, ...],
        target: float,
        link: str = "empiric",
        prior_sd: float = 1.34**0.5,
        intercept: float = 3.0,
        coherent: bool = True,
        tite_window: float | None = None,
        method: str = "bayes",
        selection: str = "plugin",
        credible_level: float = 0.9,
    ) -> None:
        skel = _skeleton(skeleton)
        self.n_doses = len(skel)
        self.skeleton = skel
        self.target = checks.real("CRM", "target", target, low=0, high=1, low_open=True,
                                  high_open=True)  # fmt: skip
        self.link = link
        self.prior_sd = checks.real("CRM", "prior_sd", prior_sd, low=0, low_open=True)
        self.intercept = checks.real("CRM", "intercept", intercept)
        self.coherent = flag("CRM", "coherent", coherent)
        self.tite_window = None if tite_window is None else checks.real(
            "CRM", "tite_window", tite_window, low=0, low_open=True)  # days
        self.method = method
        self.selection = selection
        self.credible_level = checks.real("CRM", "credible_level", credible_level, low=0,
                                          high=1, low_open=True, high_open=True)  # fmt: skip
        if link not in LINKS:
            raise ValueError(
                f"CRM: link (the dose-toxicity model) must be one of {LINKS}, got {link!r}"
            )
        _ = self.crm_model  # validates skeleton, link, prior_sd, intercept
        if not 0 < self.target < 1:
            raise ValueError(f"CRM: target must be in (0, 1), got {self.target}")
        if self.tite_window is not None and not self.tite_window > 0:
            raise ValueError(f"CRM: tite_window must be > 0 days, got {self.tite_window}")
        if method not in ("bayes", "mle"):
            raise ValueError(f"CRM: method must be 'bayes' or 'mle', got {method!r}")
        if selection not in SELECTIONS:
            raise ValueError(f"CRM: selection must be one of {SELECTIONS}, got {selection!r}")
        if not 0 < self.credible_level < 1:
            raise ValueError(f"CRM: credible_level must be in (0, 1), got {self.credible_level}")

    @property
    def crm_model(self) -> CRMModel:
        """The model specification shared by the grid and PyMC engines."""
        return CRMModel(self.skeleton, self.link, self.prior_sd, self.intercept)

    #: Deprecated aliases (the link is a string; a design's ``model`` is a model object).
    model = deprecated_property("model", "link")
    interval = deprecated_property("interval", "credible_level")

    # -- inference -------------------------------------------------------------------------
    def estimate(self, data: DoseData, engine: str = "grid", **kwargs: Any) -> Estimate:
        """Posterior of the CRM for every trial.

        ``engine`` names a registered engine (:data:`bayes_dose.engines`): ``"grid"``,
        exact quadrature, vectorised (:func:`crm_posterior`); ``"pymc"`` / ``"nutpie"``,
        NUTS on one trial (settings in ``kwargs``), summarised by
        ``CRMModel.summarise`` like the grid.  ``method="mle"`` needs the grid engine.
        """
        eng = engines[engine]
        if eng.vectorised and kwargs:
            raise TypeError(f"CRM.estimate ({engine}): unexpected arguments {sorted(kwargs)}")
        return eng.estimate(
            self.crm_model, data, target=self.target, interval=self.credible_level,
            method=self.method, **kwargs,
        )  # fmt: skip

    def _data_from(self, outcomes: Outcomes) -> DoseData:
        return DoseData.from_outcomes(outcomes, self.n_doses, tite_window=self.tite_window)

    # -- decisions -------------------------------------------------------------------------
    def decide(self, data: DoseData, estimate: Estimate | None = None) -> Decision:
        """As :meth:`Design.decide`; a TITE-CRM (``method="bayes"``) computes the summaries
        its rule reads by :func:`~bayes_dose.inference.crm_tite_fast.crm_decision_estimate`
        (exact count path for complete follow-up, self-checked adaptive quadrature for
        states with pending patients)."""
        if estimate is None and self.tite_window is not None and self.method == "bayes":
            estimate = crm_decision_estimate(self.crm_model, data, self.target,
                                             self.credible_level)  # fmt: skip
        return super().decide(data, estimate)

    def _curve(self, estimate: Estimate) -> np.ndarray:
        if self.selection == "plugin":
            return np.asarray(estimate.stats["prob_plugin"])
        return np.asarray(estimate.prob_mean)

    def _closest(self, curve: np.ndarray) -> np.ndarray:
        """dfcrm's recommendation: top dose if all <= target, lowest if all >= target,
        else the first dose closest to target."""
        D = curve.shape[1]
        rec = np.argmin(np.abs(curve - self.target), axis=1)
        rec = np.where(np.all(curve >= self.target, axis=1), 0, rec)
        rec = np.where(np.all(curve <= self.target, axis=1), D - 1, rec)
        return rec.astype(np.int64)

    def _rule(self, data: DoseData, estimate: Estimate | None) -> Decision:
        assert estimate is not None  # uses_estimate: the pipeline always passes one
        T = data.n_trials
        rec = self._closest(self._curve(estimate))
        nxt = rec.copy()
        code = np.full(T, MODEL_DOSE)
        cur = data.current
        if self.no_skip:
            m = (cur >= 0) & (nxt > cur + 1)
            nxt[m], code[m] = cur[m] + 1, CAPPED
        if self.coherent:
            with np.errstate(invalid="ignore", divide="ignore"):
                toxic = (data.last_n > 0) & (data.last_dlt >= self.target * data.last_n)
            m = (cur >= 0) & toxic & (nxt > cur)
            nxt[m], code[m] = cur[m], COHERENT
        return Decision(
            nxt, np.full(T, self.cohort_size), np.zeros(T, dtype=bool), self._code(0) + code
        )

    def explain(self, data: DoseData, decision: Decision, trial: int = 0) -> str:
        reason = int(decision.reason[trial]) - self._code(0)
        if not 0 <= reason < len(self.own_reasons):  # a slot's sentence
            return super().explain(data, decision, trial)
        return self.own_reasons[reason].format(
            target=self.target,
            next=int(decision.next_dose[trial]) + 1,
            dose=int(data.current[trial]) + 1,
            last_n=int(data.last_n[trial]),
            last_dlt=int(data.last_dlt[trial]),
        )

    def select(self, data: DoseData, estimate: Estimate | None = None) -> Selection:
        """dfcrm's MTD: the dose closest to target on the final curve (no restrictions).
        Without ``estimate`` (the simulation drivers), a Bayesian CRM computes only that
        curve (:func:`~bayes_dose.inference.crm_tite_fast.crm_curve_estimate`: the same
        numbers as :meth:`estimate`, bit for bit)."""
        if estimate is None:
            estimate = (crm_curve_estimate(self.crm_model, data, self.target,
                                           self.credible_level)
                        if self.method == "bayes" else self.estimate(data))  # fmt: skip
        dose = self._closest(self._curve(estimate))
        dose = np.where(data.total_n > 0, dose, NONE)
        return Selection(dose.astype(np.int64), np.zeros(data.n_trials, dtype=bool))

    # -- Fit -------------------------------------------------------------------------------
    def fit(self, outcomes: Outcomes, engine: str = "grid", **engine_kwargs: Any) -> CRMFit:
        """Analyse one arm's data (see :meth:`Design.fit`); returns a :class:`CRMFit`."""
        return super().fit(outcomes, engine=engine, **engine_kwargs)  # type: ignore[return-value]

    def _fit_class(self) -> type[Fit]:
        return CRMFit

    def _fit_fields(self, data: DoseData, estimate: Estimate) -> dict[str, Any]:
        return {
            "beta_mean": float(estimate.stats["beta_mean"][0]),
            "beta_var": float(estimate.stats["beta_var"][0]),
            "prob_tox_plugin": np.asarray(estimate.stats["prob_plugin"][0]),
        }
