"""Model adapters: what every engine needs to know about a model family, stated once.

An engine never asks a model's type or guesses attribute names: it looks the model's
class up in :data:`ADAPTERS` (walking the class's MRO) and calls the adapter, which knows

- ``grid(model, evidence, resolution=..., **options)``: the exact (grid / quadrature)
  estimate, vectorised over trials;
- ``key(model, shared)``: a hashable identity of the PyMC graph (models with equal keys
  share one compiled graph);
- ``graph(model, shared)``: the PyMC model, built once per key (data enter as
  ``pm.Data``), with the names of the reported variables;
- ``data(model, evidence, shared)``: the values of the graph's ``pm.Data`` containers
  for one trial;
- ``derive(model, posterior)``: reported variables computed in NumPy from the sampled
  ones (e.g. the model parameters from the whitened ``z``; cheaper than
  ``pm.Deterministic``);
- ``check_options(model, options)``: refuse, before any sampling, summary options the
  model does not take or that only the grid engine computes;
- ``summarise(model, draws, **options)``: the :class:`Estimate` of equally weighted draws
  (the same summary code the grid engine uses).

With ``shared=True`` an adapter may also pass the model's constants (prior moments,
standardised doses) as ``pm.Data``, so that one compiled graph serves every model of the
same structure (an engine whose compilation is expensive, as nutpie's, asks for it);
the graph, and so the likelihood, is the same code either way.

Adding a model family is one adapter class plus ``register_model(ModelClass, adapter)``.

Evidence is what the design already holds: a mapping ``arm -> (n, y)`` of per-dose
counts (BLRM family) or count evidence with per-patient arrays (CRM; any object with
``n``, ``dlt``, ``n_trials``, ``n_doses`` and ``patient_dose`` / ``patient_dlt`` /
``patient_weight``, as :class:`bayes_dose.DoseData`).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .estimate import Estimate

__all__ = [
    "ADAPTERS",
    "Graph",
    "ModelAdapter",
    "adapter_for",
    "register_model",
]


@dataclass(frozen=True)
class Graph:
    """A PyMC model with what an MCMC engine reports of it.

    Attributes
    ----------
    model : pymc.Model
    var_names : tuple of str
        Variables whose R-hat / ESS are checked and whose draws are summarised (those
        not sampled directly come from the adapter's ``derive``).
    """

    model: Any
    var_names: tuple[str, ...]


class ModelAdapter(Protocol):
    """How engines use one model family (see the module docstring)."""

    def grid(self, model: Any, evidence: Any, *, resolution: Any = None, **options: Any) -> Estimate: ...

    def key(self, model: Any, shared: bool = False) -> Hashable: ...

    def graph(self, model: Any, shared: bool = False) -> Graph: ...

    def data(self, model: Any, evidence: Any, shared: bool = False) -> dict[str, np.ndarray]: ...

    def check_options(self, model: Any, options: Mapping[str, Any]) -> None: ...

    def derive(self, model: Any, posterior: Any) -> dict[str, np.ndarray]: ...

    def summarise(self, model: Any, draws: Mapping[str, np.ndarray], **options: Any) -> Estimate: ...


#: Model class -> adapter.
ADAPTERS: dict[type, ModelAdapter] = {}


def register_model(cls: type, adapter: ModelAdapter) -> None:
    """Make ``adapter`` the way every engine handles models of class ``cls``."""
    ADAPTERS[cls] = adapter


def adapter_for(model: Any) -> ModelAdapter:
    """The adapter registered for ``type(model)`` or its nearest base class."""
    for klass in type(model).__mro__:
        hit = ADAPTERS.get(klass)
        if hit is not None:
            return hit
    known = sorted(k.__name__ for k in ADAPTERS)
    raise ValueError(
        f"no engine adapter for model {type(model).__name__}; registered: {known} "
        "(bayes_dose.inference.adapters.register_model)"
    )


# The package's own model families (imported last: they import this module).
from . import blrm_adapter, crm_adapter  # noqa: E402

blrm_adapter.register()
crm_adapter.register()
