"""Combination BLRM (Neuenschwander et al. 2015; the form used by OncoBayes2).

Two arms share the escalated drug's parameters:

* monotherapy:  ``logit p1(d) = log(alpha) + beta log(d / d*)``;
* combination with the partner at its fixed dose:
  ``p0(d) = 1 - (1 - p1(d)) (1 - p2)`` (independent action on the probability of no DLT),
  ``odds p12(d) = odds p0(d) * exp(eta * d / d*)`` (interaction on the odds; the partner's
  dose ratio ``d2 / d2*`` is 1 at its reference dose).

Priors: the BLRM's bivariate normal on ``(log alpha, log beta)``, ``logit p2 ~ N(m2, s2)``
and ``eta ~ N(m_eta, s_eta)``.  Fitted on both arms, monotherapy data inform the
combination through ``(alpha, beta)``; without borrowing the combination arm is fitted
alone (monotherapy counts set to zero, same prior).

Exact engine: a 4-D product grid in whitened coordinates ``(z_partner, z_eta, u1, u2)``
(``u1, u2`` as in the BLRM); ``logit p12`` increases with ``log alpha`` for fixed other
parameters, so ``u2`` is the fine axis on which the engine integrates interval indicators
cell by cell (see :mod:`.blrm_grid`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from .. import checks
from .blrm_model import BLRMModel, interval_estimate
from .estimate import Estimate

__all__ = ["CombinationModel", "NormalPrior"]


@dataclass(frozen=True)
class NormalPrior:
    """A normal prior ``N(mean, sd^2)`` on one parameter.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.NormalPrior(mean=0.0, sd=1.121).sd
    1.121
    """

    mean: float = 0.0
    sd: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean", checks.real("NormalPrior", "field 'mean'", self.mean))
        object.__setattr__(self, "sd", checks.real("NormalPrior", "field 'sd'", self.sd, low=0,
                                                   low_open=True))  # fmt: skip

    def spec(self) -> dict[str, float]:
        return {"mean": self.mean, "sd": self.sd}


#: DLT probabilities at large node sets (prior grids), by (id of the parameter mapping,
#: arm, model); entries hold the mapping (so its id stays unique) and the table.
_PROB_CACHE: dict[tuple[int, str, Any], tuple[Mapping[str, np.ndarray], np.ndarray]] = {}
_CACHE_MIN_NODES = 100_000
_CACHE_ENTRIES = 4


def _softplus(xp: Any, x: Any) -> Any:
    if xp is np:
        return np.logaddexp(0.0, x)
    return xp.softplus(x)


@dataclass(frozen=True)
class CombinationModel:
    """Joint model of the monotherapy and combination arms.

    Parameters
    ----------
    mono : BLRMModel
        Single-agent model (monotherapy doses, reference dose, prior, target interval).
    combo_doses : tuple of float
        Doses (mg) of the escalated drug on the combination arm.
    partner_prior : NormalPrior
        Prior of ``logit P(DLT)`` of the partner alone at its fixed dose.
    interaction_prior : NormalPrior
        Prior of the interaction ``eta`` (log odds multiplier at ``d = d*``).
    """

    mono: BLRMModel
    combo_doses: tuple[float, ...]
    partner_prior: NormalPrior
    interaction_prior: NormalPrior

    param_names = ("log_alpha", "log_beta", "logit_partner", "eta")
    #: The model's two components (single agent, combination): the keys of the evidence
    #: it reads, not the trial's arm names (the design maps its arms onto them).
    arms = ("mono", "combo")
    decision_arm = "combo"

    def __post_init__(self) -> None:
        object.__setattr__(self, "combo_doses",
                           checks.doses("CombinationBLRM", "doses", self.combo_doses))

    @property
    def cuts(self) -> tuple[float, float]:
        return self.mono.cuts

    @property
    def n_doses(self) -> int:
        return len(self.combo_doses)

    def arm_doses(self, arm: str) -> tuple[float, ...]:
        if arm == "mono":
            return self.mono.doses
        if arm == "combo":
            return self.combo_doses
        raise ValueError(f"CombinationBLRM: unknown arm {arm!r}; arms are {self.arms}")

    def arm_logit(self, params: Mapping[str, Any], arm: str, xp: Any = np) -> Any:
        """Logit of the DLT probability per dose of ``arm``, shape (S, D).

        ``xp`` is ``numpy`` or ``pytensor.tensor`` (the PyMC engine builds its graph here).
        """
        ref = self.mono.reference_dose
        x = np.log(np.asarray(self.arm_doses(arm)) / ref)
        la, lb = params["log_alpha"], params["log_beta"]
        if xp is np:
            la = np.asarray(la, dtype=float)[..., None]
            lb = np.asarray(lb, dtype=float)[..., None]
        eta1 = la + xp.exp(lb) * x
        if arm == "mono":
            return eta1
        lp2 = params["logit_partner"]
        inter = params["eta"]
        if xp is np:
            lp2 = np.asarray(lp2, dtype=float)[..., None]
            inter = np.asarray(inter, dtype=float)[..., None]
        log_q0 = -_softplus(xp, eta1) - _softplus(xp, lp2)  # log P(no DLT), independent action
        log_p0 = xp.log(-xp.expm1(log_q0))
        return log_p0 - log_q0 + inter * (np.asarray(self.combo_doses) / ref)

    #: Axes along which the combination logit is monotone, where the grid engine may
    #: integrate interval cuts exactly (one per dose: at low combination doses the cut is
    #: crossed along the partner axis, at high doses along log alpha or the interaction).
    cut_axes = (0, 1, 3)

    def axis_widths(self, width: float, n_axes: int = 4) -> tuple[float, ...]:
        """Half-widths of the prior grid's axes ``(z_partner, z_eta, u1, u2)``."""
        # the partner and interaction posteriors stay close to their N(0, 1) whitened
        # priors: +-5 sd hold all but 6e-7 of the mass (the engine checks the edge mass)
        return (min(5.0, width), min(5.0, width), width, width)

    def from_whitened(self, u: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
        """Parameters at whitened coordinates ``(z_partner, z_eta, u1, u2)``."""
        z2, ze, u1, u2 = u
        la, lb = self.mono.prior.from_whitened(u1, u2)
        return {
            "log_alpha": la,
            "log_beta": lb,
            "logit_partner": self.partner_prior.mean + self.partner_prior.sd * np.asarray(z2),
            "eta": self.interaction_prior.mean + self.interaction_prior.sd * np.asarray(ze),
        }

    def prob(self, params: Mapping[str, np.ndarray], arm: str = "combo") -> np.ndarray:
        """DLT probability per dose of ``arm`` at parameter values, shape (S, D)."""
        return expit(self.arm_logit(params, arm))

    def _node_prob(self, param_values: Mapping[str, np.ndarray], arm: str) -> np.ndarray:
        """:meth:`prob` at a node set, kept for large node sets (the prior grid passes
        the same ``param_values`` to every call: its tables are computed once).  The
        cache holds the mapping itself, so its ``id`` cannot be reused while cached."""
        size = np.asarray(param_values["log_alpha"]).size
        if size < _CACHE_MIN_NODES:
            return self.prob(param_values, arm)
        key = (id(param_values), arm, self)
        hit = _PROB_CACHE.get(key)
        if hit is not None and hit[0] is param_values:
            return hit[1]
        out = self.prob(param_values, arm)
        out.setflags(write=False)  # shared between calls: never modified in place
        if len(_PROB_CACHE) >= _CACHE_ENTRIES:
            _PROB_CACHE.clear()
        _PROB_CACHE[key] = (param_values, out)
        return out

    def summarise(
        self,
        param_values: Mapping[str, np.ndarray],
        weights: np.ndarray,
        *,
        above: tuple[np.ndarray, np.ndarray] | None = None,
        intervals: bool = True,
        engine: str = "grid",
    ) -> Estimate:
        """Posterior summaries of the combination arm (see ``BLRMModel.summarise``).

        ``stats`` also hold the posterior means of every parameter and the monotherapy
        arm's mean DLT probability (``mono_prob_mean``).
        """
        w = np.atleast_2d(weights)
        prob = self._node_prob(param_values, "combo")
        params = {name: param_values[name] for name in self.param_names}
        mono = {"mono_prob_mean": w @ self._node_prob(param_values, "mono")}
        return interval_estimate(prob, w, self.cuts, params, above, intervals, engine, mono)

    def spec(self) -> dict[str, Any]:
        return {
            "model": "CombinationBLRM",
            "mono": self.mono.spec(),
            "combo_doses": list(self.combo_doses),
            "partner_prior": self.partner_prior.spec(),
            "interaction_prior": self.interaction_prior.spec(),
        }
