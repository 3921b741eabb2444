"""Engine adapter of the one-parameter CRM (empiric or logistic link, optional TITE weights).

The likelihood is per patient: ``y log p + (1 - y) log(1 - w p)`` with ``w`` the TITE
follow-up weight (1 for complete follow-up, so without TITE it is the binomial
likelihood), the same as the exact engine's :meth:`CRMModel.loglik_weighted`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from .adapters import Graph, register_model
from .crm_grid import crm_posterior
from .crm_model import CRMModel
from .estimate import Estimate

__all__ = ["CRMAdapter", "register"]


class CRMAdapter:
    """CRM: one parameter ``beta ~ N(0, prior_sd^2)``; evidence with patient arrays."""

    def grid(self, model: CRMModel, evidence: Any, *, resolution: Any = None, **options: Any) -> Estimate:
        return crm_posterior(model, evidence, **options)

    def key(self, model: CRMModel, shared: bool = False) -> Hashable:
        return ("crm", tuple(float(s) for s in model.skeleton), model.link, 0.0,
                float(model.prior_sd), float(model.intercept))  # fmt: skip

    def graph(self, model: CRMModel, shared: bool = False) -> Graph:
        import pymc as pm
        import pytensor.tensor as pt

        s = np.asarray(model.skeleton, dtype=float)
        with pm.Model() as pm_model:
            dose = pm.Data("patient_dose", np.zeros(1, dtype=float))
            y = pm.Data("patient_dlt", np.zeros(1))
            w = pm.Data("patient_weight", np.zeros(1))
            beta = pm.Normal("beta", 0.0, float(model.prior_sd))
            idx = pt.cast(dose, "int64")
            if model.link == "empiric":
                log_p = pt.exp(beta) * pt.as_tensor(np.log(s))[idx]  # p_i = s_i ** exp(beta)
            else:  # logit p_i = a0 + exp(beta) x_i, x_i = logit(s_i) - a0
                x = pt.as_tensor(np.log(s / (1 - s)) - model.intercept)
                log_p = -pt.softplus(-(model.intercept + pt.exp(beta) * x[idx]))
            p = pt.exp(log_p)
            pm.Potential("loglik", pt.sum(y * log_p + (1 - y) * pt.log1p(-w * p)))
        return Graph(pm_model, ("beta",))

    def data(self, model: CRMModel, evidence: Any, shared: bool = False) -> dict[str, np.ndarray]:
        if evidence.n_trials != 1:
            raise ValueError(
                f"MCMC engines analyse one trial at a time, got {evidence.n_trials}"
            )
        if evidence.patient_dose is not None:
            keep = evidence.patient_dose[0] >= 0
            dose = evidence.patient_dose[0][keep]
            y = evidence.patient_dlt[0][keep]
            w = (np.ones(dose.shape) if evidence.patient_weight is None
                 else evidence.patient_weight[0][keep])  # fmt: skip
        else:
            dose = np.repeat(np.arange(evidence.n_doses), evidence.n[0])
            y = np.concatenate(
                [np.r_[np.ones(k), np.zeros(m - k)]
                 for m, k in zip(evidence.n[0], evidence.dlt[0], strict=True)]
            )  # fmt: skip
            w = np.ones(dose.shape)
        return {
            "patient_dose": dose.astype(float),
            "patient_dlt": np.asarray(y, dtype=float),
            "patient_weight": np.asarray(w, dtype=float),
        }

    def derive(self, model: CRMModel, posterior: Any) -> dict[str, np.ndarray]:
        return {}  # beta is sampled directly

    def check_options(self, model: CRMModel, options: Mapping[str, Any]) -> None:
        method = options.get("method", "bayes")
        if method != "bayes":
            raise ValueError(
                f"CRM method={method!r} is a maximum-likelihood estimate: only the grid "
                "engine computes it (MCMC engines sample the Bayesian posterior)"
            )
        extra = set(options) - {"method", "target", "interval"}
        if extra:
            raise TypeError(f"MCMC engines: unexpected arguments {sorted(extra)}")

    def summarise(self, model: CRMModel, draws: Mapping[str, np.ndarray], **options: Any) -> Estimate:
        options.pop("method", None)
        return model.summarise(draws["beta"][None, :], None, engine="mcmc", **options)


def register() -> None:
    """Register the CRM adapter."""
    register_model(CRMModel, CRMAdapter())
