"""Engine adapters of the BLRM family: the single-agent BLRM and the combination BLRM.

Both models are sampled in whitened prior coordinates ``z ~ N(0, I)`` (the coordinates
of the exact grid); their likelihood is the binomial likelihood of every arm's counts
at the model's own ``arm_logit``, written once and used by the grid and every MCMC engine.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from .adapters import Graph, register_model
from .blrm_grid import grid_engine
from .blrm_model import BLRMModel
from .combo_blrm_model import CombinationModel
from .combo_quadrature import QuadratureSettings, combo_quadrature
from .estimate import Estimate

__all__ = ["BLRMAdapter", "CombinationAdapter", "register"]

Counts = Mapping[str, tuple[np.ndarray, np.ndarray]]


def _blrm_terms(prior: Any, z0: Any, z1: Any) -> tuple[Any, Any]:
    """``(log alpha, log beta)`` from whitened coordinates (NumPy or PyTensor)."""
    (ma, mb), (sa, sb), r = prior.mean, prior.sd, prior.corr
    log_beta = mb + sb * z0
    log_alpha = ma + sa * (r * z0 + np.sqrt(1.0 - r * r) * z1)
    return log_alpha, log_beta


def _binomial_loglik(n: Any, y: Any, eta: Any) -> Any:
    import pytensor.tensor as pt

    return pt.sum(y * -pt.softplus(-eta) + (n - y) * -pt.softplus(eta))


class BLRMAdapter:
    """Single-agent BLRM: ``z`` has 2 components, one arm (``"arm"``)."""

    n_z = 2

    def params(self, m: Any, z: Any, c: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Model parameters from whitened coordinates ``z[..., k]`` (NumPy or PyTensor);
        ``c``: the constants as graph data (shared graphs), else the model's values."""
        if c is not None:
            lb = c["prior_mb"] + c["prior_sb"] * z[..., 0]
            la = c["prior_ma"] + c["prior_sa"] * (c["prior_r"] * z[..., 0] + c["prior_s"] * z[..., 1])
            return {"log_alpha": la, "log_beta": lb}
        la, lb = _blrm_terms(m.prior, z[..., 0], z[..., 1])
        return {"log_alpha": la, "log_beta": lb}

    def logit(self, m: Any, params: Mapping[str, Any], arm: str, c: Mapping[str, Any] | None = None) -> Any:
        import pytensor.tensor as pt

        x = m.x if c is None else c["x"]
        return params["log_alpha"] + pt.exp(params["log_beta"]) * x

    # -- the adapter interface ---------------------------------------------------------
    def grid(
        self, model: Any, evidence: Counts, *, resolution: Any = None, **options: Any
    ) -> Estimate:
        intervals = options.pop("intervals", None)
        if options:
            raise TypeError(f"grid engine: unexpected arguments {sorted(options)}")
        if resolution is None:
            raise ValueError("grid engine: the BLRM family needs a grid resolution")
        return grid_engine(model, tuple(resolution)).estimate(evidence, intervals=intervals)

    def constants(self, model: Any) -> dict[str, Any] | None:
        """Model constants that may enter as data (``shared=True``); None: none."""
        if type(model) is not BLRMModel:
            return None
        (ma, mb), (sa, sb), r = model.prior.mean, model.prior.sd, model.prior.corr
        return {"prior_ma": ma, "prior_mb": mb, "prior_sa": sa, "prior_sb": sb,
                "prior_r": r, "prior_s": np.sqrt(1.0 - r * r), "x": model.x}  # fmt: skip

    def key(self, model: Any, shared: bool = False) -> Hashable:
        if shared and self.constants(model) is not None:
            return ("blrm-shared", model.n_doses)
        return model

    def graph(self, model: Any, shared: bool = False) -> Graph:
        import pymc as pm

        consts = self.constants(model) if shared else None
        with pm.Model() as pm_model:
            data = {}
            for arm in model.arms:
                D = self._n_doses(model, arm)
                data[arm] = (pm.Data(f"n_{arm}", np.zeros(D)), pm.Data(f"y_{arm}", np.zeros(D)))
            c = None
            if consts is not None:
                c = {k: pm.Data(k, np.asarray(v, dtype=float)) for k, v in consts.items()}
            z = pm.Normal("z", 0.0, 1.0, shape=self.n_z)
            params = self.params(model, z, c)
            total = 0.0
            for arm, (n, y) in data.items():
                total = total + _binomial_loglik(n, y, self.logit(model, params, arm, c))
            pm.Potential("loglik", total)
        return Graph(pm_model, tuple(model.param_names))

    def derive(self, model: Any, posterior: Any) -> dict[str, np.ndarray]:
        return self.params(model, np.asarray(posterior["z"].values))

    def data(self, model: Any, evidence: Counts, shared: bool = False) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        consts = self.constants(model) if shared else None
        if consts is not None:
            out.update({k: np.asarray(v, dtype=float) for k, v in consts.items()})
        for arm, (n, y) in evidence.items():
            n = np.atleast_2d(np.asarray(n))
            y = np.atleast_2d(np.asarray(y))
            if n.shape[0] != 1:
                raise ValueError(
                    f"MCMC engines analyse one trial at a time, got {n.shape[0]} "
                    "(use the grid engine)"
                )
            out[f"n_{arm}"] = n[0].astype(float)
            out[f"y_{arm}"] = y[0].astype(float)
        for arm in model.arms:
            D = self._n_doses(model, arm)
            out.setdefault(f"n_{arm}", np.zeros(D))
            out.setdefault(f"y_{arm}", np.zeros(D))
        return out

    def check_options(self, model: Any, options: Mapping[str, Any]) -> None:
        if options:
            raise TypeError(f"MCMC engines: unexpected arguments {sorted(options)}")

    def summarise(self, model: Any, draws: Mapping[str, np.ndarray], **options: Any) -> Estimate:
        S = next(iter(draws.values())).shape[0]
        return model.summarise(dict(draws), np.full((1, S), 1.0 / S), intervals=True, engine="mcmc")

    @staticmethod
    def _n_doses(model: Any, arm: str) -> int:
        return len(model.arm_doses(arm)) if hasattr(model, "arm_doses") else model.n_doses


class CombinationAdapter(BLRMAdapter):
    """Combination BLRM: ``z`` has 4 components (the drug's pair, partner, interaction).

    Exact engine: ``resolution`` a tuple of 4 ints is the prior grid of
    :class:`~bayes_dose.inference.blrm_grid.GridEngine`; a
    :class:`~bayes_dose.inference.combo_quadrature.QuadratureSettings` selects the
    certified quadrature in whitened posterior coordinates
    (:class:`~bayes_dose.inference.combo_quadrature.ComboQuadrature`).
    """

    n_z = 4

    def grid(
        self, model: Any, evidence: Counts, *, resolution: Any = None, **options: Any
    ) -> Estimate:
        if isinstance(resolution, QuadratureSettings):
            if type(model) is not CombinationModel:
                raise ValueError(
                    f"quadrature engine: supports CombinationModel, not {type(model).__name__}"
                    " (give this model a prior grid: method='grid')"
                )
            intervals = options.pop("intervals", None)
            if options:
                raise TypeError(f"quadrature engine: unexpected arguments {sorted(options)}")
            return combo_quadrature(model, resolution).estimate(evidence, intervals=intervals)
        return super().grid(model, evidence, resolution=resolution, **options)

    def params(self, m: Any, z: Any, c: Mapping[str, Any] | None = None) -> dict[str, Any]:
        la, lb = _blrm_terms(m.mono.prior, z[..., 0], z[..., 1])
        return {
            "log_alpha": la,
            "log_beta": lb,
            "logit_partner": m.partner_prior.mean + m.partner_prior.sd * z[..., 2],
            "eta": m.interaction_prior.mean + m.interaction_prior.sd * z[..., 3],
        }

    def logit(self, m: Any, params: Mapping[str, Any], arm: str, c: Mapping[str, Any] | None = None) -> Any:
        import pytensor.tensor as pt

        return m.arm_logit(params, arm, xp=pt)


def register() -> None:
    """Register the BLRM-family adapters."""
    register_model(BLRMModel, BLRMAdapter())
    register_model(CombinationModel, CombinationAdapter())
