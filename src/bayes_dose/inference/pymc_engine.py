"""PyMC NUTS engine (``engines["pymc"]``) for every Bayesian model of the package.

A PyMC model is built **once** per model specification (the adapter's ``key``): data
enter as ``pm.Data`` containers, and the NUTS step (whose compiled log-density and
gradient read those containers) is kept in a cache keyed by the specification.
Refitting the same model on new data only calls ``pm.set_data`` and samples again —
nothing is recompiled.  Before each run the step's initial adaptation state is
restored, so a fit depends only on the data and ``random_seed`` (not on earlier fits).

The posterior is the ``arviz.InferenceData`` PyMC returns (``idata.to_netcdf(path)``,
``arviz.from_netcdf(path)``).  Summaries and diagnostics are shared with every MCMC
engine (:mod:`.mcmc`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np

from .adapters import Graph
from .estimate import Estimate
from .mcmc import ESS_MIN, RHAT_MAX, MCMCWarning, SamplingEngine, diagnose

__all__ = [
    "ESS_MIN",
    "RHAT_MAX",
    "MCMCWarning",
    "PyMCEngine",
    "compiled_model",
    "diagnose",
    "estimate",
    "estimate_crm",
    "sample",
]


@dataclasses.dataclass
class CompiledModel:
    """A PyMC model with its NUTS step, built once and reused across data sets."""

    model: Any
    step: Any
    initial_state: Any
    data_names: tuple[str, ...]
    graph: Graph


_CACHE: dict[Hashable, CompiledModel] = {}


def compiled_model(
    key: Hashable, build: Callable[[], Graph], target_accept: float = 0.9
) -> CompiledModel:
    """The cached model and NUTS step for ``key`` (built with ``build()`` on first use)."""
    import pymc as pm

    full_key = (key, float(target_accept))
    hit = _CACHE.get(full_key)
    if hit is not None:
        return hit
    graph = build()
    with graph.model:
        step = pm.NUTS(target_accept=target_accept)
    data_names = tuple(v.name for v in graph.model.data_vars)
    hit = CompiledModel(graph.model, step, step.sampling_state, data_names, graph)
    _CACHE[full_key] = hit
    return hit


def sample(
    compiled: CompiledModel,
    data: Mapping[str, np.ndarray],
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    random_seed: int | None = None,
    progressbar: bool = False,
) -> Any:
    """Set the data and run NUTS (``cores=1``); returns the ``arviz.InferenceData``."""
    import pymc as pm

    missing = set(compiled.data_names) - set(data)
    if missing:
        raise ValueError(f"pymc engine: data missing {sorted(missing)}")
    with compiled.model:
        pm.set_data({k: np.asarray(v, dtype=float) for k, v in data.items()})
        compiled.step.sampling_state = compiled.initial_state
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*samples per chain.*")
            return pm.sample(
                draws=int(draws),
                tune=int(tune),
                chains=int(chains),
                cores=1,
                step=compiled.step,
                random_seed=random_seed,
                progressbar=progressbar,
                compute_convergence_checks=False,
                quiet=not progressbar,
            )


class PyMCEngine(SamplingEngine):
    """PyMC's NUTS, one chain after another (``cores=1``), models cached per spec."""

    name = "pymc"

    def _draw(
        self, key: Hashable, build: Callable[[], Graph], data: Mapping[str, np.ndarray],
        settings: Mapping[str, Any],
    ) -> tuple[Any, Graph]:
        cm = compiled_model(key, build, settings["target_accept"])
        idata = sample(
            cm, data, draws=settings["draws"], tune=settings["tune"], chains=settings["chains"],
            random_seed=settings["random_seed"], progressbar=settings["progressbar"],
        )  # fmt: skip
        return idata, cm.graph


def estimate(
    model: Any, counts: Mapping[str, tuple[np.ndarray, np.ndarray]], **kwargs: Any
) -> Estimate:
    """PyMC estimate of a BLRM-family model on one trial's counts
    (``engines["pymc"].estimate(model, counts, **kwargs)``).

    Parameters
    ----------
    model : BLRMModel or CombinationModel
    counts : mapping arm -> (n, y)
        Patients and DLTs per dose of each arm of the model (shape (1, D) or (D,)).
    **kwargs
        ``draws``, ``tune``, ``chains``, ``random_seed``, ``target_accept``,
        ``progressbar``, ``rhat_max``, ``ess_min``.
    """
    from .engines import engines

    return engines["pymc"].estimate(model, counts, **kwargs)


def estimate_crm(model: Any, data: Any, **kwargs: Any) -> Estimate:
    """PyMC estimate of the one-parameter CRM (``engines["pymc"].estimate(model, data)``).

    The likelihood is per patient: ``y log p + (1 - y) log(1 - w p)`` with ``w`` the
    TITE follow-up weight carried by the data (1 for complete follow-up, so without TITE
    it is the binomial likelihood).

    Parameters
    ----------
    model : CRMModel
    data : DoseData
        One trial; patient-level arrays (with ``patient_weight`` for TITE) when present,
        else per-dose counts.
    **kwargs
        Sampler settings (``draws``, ``tune``, ``chains``, ``random_seed``,
        ``target_accept``, ``progressbar``, ``rhat_max``, ``ess_min``); the rest (e.g.
        ``target``, ``interval``) is passed to ``model.summarise``.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> crm = bd.CRM([0.05, 0.1, 0.2, 0.35], target=0.2, cohort_size=1)
    >>> fit = crm.fit(bd.Outcomes.parse("1N 2N 3T"), engine="pymc", draws=200, tune=200,
    ...               chains=2, random_seed=1, ess_min=0, rhat_max=1.1)
    >>> fit.estimate.engine, fit.posterior.posterior["beta"].shape
    ('pymc', (2, 200))
    """
    from .engines import engines

    return engines["pymc"].estimate(model, data, **kwargs)
