"""What every MCMC engine shares: sampler settings, diagnostics, summaries of the draws.

An MCMC engine subclasses :class:`SamplingEngine` and implements one method,
``_draw(key, graph_builder, data, settings) -> arviz.InferenceData``: build (once per
key) and sample the model's PyMC graph on one trial's data.  Everything else — reading
the settings, the diagnostics (one schema for all engines), the summary of the draws by
the model's own ``summarise`` (shared with the grid engine) — is here.

Diagnostics: max R-hat, min bulk / tail ESS, divergences, draws that hit the maximum tree
depth, wall time.  R-hat > 1.01, ESS < 400 or any divergence raises an
:class:`MCMCWarning` and records a flag in ``Estimate.diagnostics["flags"]``; designs
append the flags to the fit's ``reason``.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np

from .adapters import Graph, adapter_for
from .estimate import Estimate

__all__ = ["ESS_MIN", "RHAT_MAX", "MCMCWarning", "SamplingEngine", "diagnose"]

RHAT_MAX = 1.01
ESS_MIN = 400

#: Sampler settings every MCMC engine takes (anything else goes to the model's summary).
SETTINGS = {"draws": 1000, "tune": 1000, "chains": 2, "random_seed": None,
            "target_accept": 0.9, "progressbar": False, "rhat_max": RHAT_MAX,
            "ess_min": ESS_MIN}  # fmt: skip


class MCMCWarning(UserWarning):
    """NUTS diagnostics crossed a threshold (R-hat, ESS or divergences)."""


def _stat(stats: Any, *names: str) -> np.ndarray | None:
    for n in names:
        if n in stats:
            return np.asarray(stats[n].values)
    return None


def diagnose(
    idata: Any,
    var_names: tuple[str, ...],
    rhat_max: float = RHAT_MAX,
    ess_min: float = ESS_MIN,
    *,
    engine: str = "pymc",
    seconds: float = float("nan"),
) -> dict[str, Any]:
    """Diagnostics of a posterior in the schema shared by every MCMC engine.

    R-hat needs at least two chains (it is NaN, and not flagged, with one).  Keys:
    :data:`bayes_dose.inference.engines.DIAGNOSTIC_KEYS`.
    """
    import arviz as az

    names = list(var_names)
    rhat = az.rhat(idata, var_names=names)
    bulk = az.ess(idata, var_names=names, method="bulk")
    tail = az.ess(idata, var_names=names, method="tail")

    def ext(ds: Any, f: Callable) -> float:
        vals = np.concatenate([np.ravel(ds[v].values) for v in names])
        vals = vals[np.isfinite(vals)]
        return float(f(vals)) if vals.size else float("nan")

    stats = idata.sample_stats
    diverging = np.asarray(stats["diverging"].values, dtype=bool)
    depth_hit = _stat(stats, "reached_max_treedepth", "maxdepth_reached")
    out: dict[str, Any] = {
        "engine": engine,
        "max_rhat": ext(rhat, np.max),
        "min_ess_bulk": ext(bulk, np.min),
        "min_ess_tail": ext(tail, np.min),
        "divergences": int(np.sum(diverging)),
        "max_depth_hits": 0 if depth_hit is None else int(np.sum(depth_hit.astype(bool))),
        "chains": int(diverging.shape[0]),
        "draws": int(diverging.shape[1]),
        "seconds": float(seconds),
    }
    flags = []
    if out["max_rhat"] > rhat_max:
        flags.append(f"max R-hat {out['max_rhat']:.3f} > {rhat_max}")
    if out["min_ess_bulk"] < ess_min:
        flags.append(f"min bulk ESS {out['min_ess_bulk']:.0f} < {ess_min}")
    if out["min_ess_tail"] < ess_min:
        flags.append(f"min tail ESS {out['min_ess_tail']:.0f} < {ess_min}")
    if out["divergences"]:
        flags.append(f"{out['divergences']} divergent transition(s)")
    if out["max_depth_hits"]:
        flags.append(f"{out['max_depth_hits']} draw(s) at the maximum tree depth")
    out["flags"] = tuple(flags)
    if flags:
        warnings.warn(f"{engine} fit: " + "; ".join(flags), MCMCWarning, stacklevel=4)
    return out


class SamplingEngine(ABC):
    """Base of MCMC engines (see the module docstring)."""

    name = "mcmc"
    vectorised = False
    #: Ask adapters for graphs whose constants are data (one compiled graph per structure).
    shared_constants = False

    @abstractmethod
    def _draw(
        self, key: Hashable, build: Callable[[], Graph], data: Mapping[str, np.ndarray],
        settings: Mapping[str, Any],
    ) -> tuple[Any, Graph]:
        """Sample the graph of ``key`` (built with ``build()`` once) on ``data``; returns
        the ``arviz.InferenceData`` (posterior holding ``var_names`` or ``z``) and the graph."""

    def estimate(self, model: Any, evidence: Any, *, resolution: Any = None, **options: Any) -> Estimate:
        """Sample ``model`` on one trial's ``evidence`` and summarise the draws."""
        settings = {k: options.pop(k, v) for k, v in SETTINGS.items()}
        draws, tune, chains = settings["draws"], settings["tune"], settings["chains"]
        if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                   for v in (draws, tune, chains)):  # fmt: skip
            raise ValueError(
                f"{self.name} engine: draws, tune and chains must be integers "
                f"(got {draws!r}, {tune!r}, {chains!r})"
            )
        if draws < 1 or tune < 0 or chains < 1:
            raise ValueError(
                f"{self.name} engine: need draws >= 1, tune >= 0, chains >= 1 "
                f"(got {draws}, {tune}, {chains})"
            )
        adapter = adapter_for(model)
        adapter.check_options(model, options)
        shared = self.shared_constants
        data = adapter.data(model, evidence, shared)
        start = time.perf_counter()
        idata, graph = self._draw(
            adapter.key(model, shared), lambda: adapter.graph(model, shared), data, settings
        )
        seconds = time.perf_counter() - start
        for name, values in adapter.derive(model, idata.posterior).items():
            idata.posterior[name] = (("chain", "draw"), np.asarray(values))
        idata.posterior.attrs.update(
            bayes_dose_sampler=json.dumps(
                {"engine": self.name, "draws": draws, "tune": tune, "chains": chains,
                 "cores": 1, "random_seed": settings["random_seed"],
                 "target_accept": settings["target_accept"]}
            )
        )  # fmt: skip
        diag = diagnose(
            idata, graph.var_names, settings["rhat_max"], settings["ess_min"],
            engine=self.name, seconds=seconds,
        )  # fmt: skip
        post = idata.posterior
        values = {n: np.asarray(post[n].values, dtype=float).reshape(-1) for n in graph.var_names}
        est = adapter.summarise(model, values, **options)
        return dataclasses.replace(est, engine=self.name, posterior=idata, diagnostics=diag)
