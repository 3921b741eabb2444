"""nutpie engine (``engines["nutpie"]``): nutpie's NUTS on the same PyMC model.

nutpie compiles the PyMC graph's log-density and gradient with numba once per model
specification (the adapter's ``key``); a refit on new data swaps the ``pm.Data`` values
(``CompiledModel.with_data``) without compiling again, and samples in Rust.  The draws
come back as ``arviz.InferenceData`` and are summarised and diagnosed exactly as the
PyMC engine's (:mod:`.mcmc`).  One seed gives bit-identical draws.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import numpy as np

from .adapters import Graph
from .mcmc import SamplingEngine

__all__ = ["NutpieEngine"]

_CACHE: dict[Hashable, tuple[Any, Graph]] = {}


def compiled(key: Hashable, build: Callable[[], Graph]) -> tuple[Any, Graph]:
    """The nutpie-compiled model of ``key`` (built and compiled on first use)."""
    hit = _CACHE.get(key)
    if hit is None:
        try:
            import nutpie
        except ImportError as err:  # pragma: no cover - nutpie is a dependency
            raise ValueError("engine 'nutpie' needs the nutpie package (pip install nutpie)") from err
        graph = build()
        hit = _CACHE[key] = (nutpie.compile_pymc_model(graph.model), graph)
    return hit


class NutpieEngine(SamplingEngine):
    """nutpie's NUTS (numba-compiled PyMC model), chains run one after another."""

    name = "nutpie"
    shared_constants = True  # a numba compile costs seconds: one per model structure

    def _draw(
        self, key: Hashable, build: Callable[[], Graph], data: Mapping[str, np.ndarray],
        settings: Mapping[str, Any],
    ) -> tuple[Any, Graph]:
        import nutpie

        model, graph = compiled(key, build)
        seed = settings["random_seed"]
        idata = nutpie.sample(
            model.with_data(**{k: np.asarray(v, dtype=float) for k, v in data.items()}),
            draws=int(settings["draws"]),
            tune=int(settings["tune"]),
            chains=int(settings["chains"]),
            cores=1,
            seed=None if seed is None else int(seed),
            target_accept=float(settings["target_accept"]),
            progress_bar=bool(settings["progressbar"]),
        )
        return idata, graph
