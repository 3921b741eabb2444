"""The engine layer: one :class:`Engine` protocol and the registry :data:`engines`.

An engine turns a model specification (``CRMModel``, ``BLRMModel``,
``CombinationModel``, ...) and evidence into an :class:`Estimate`.  It learns what it
needs of the model from the model's adapter (:mod:`.adapters`), never from its type.

=========  ==================================================================
name       engine
=========  ==================================================================
``grid``   exact grid / quadrature, vectorised over trials (:class:`GridEngine`)
``pymc``   PyMC NUTS (:class:`bayes_dose.inference.pymc_engine.PyMCEngine`)
``nutpie`` nutpie's NUTS on the same PyMC model, compiled with numba
           (:class:`bayes_dose.inference.nutpie_engine.NutpieEngine`)
=========  ==================================================================

Adding an engine is one file with a class satisfying :class:`Engine` plus
``engines.register(MyEngine())``.  MCMC engines share one diagnostics schema
(:data:`DIAGNOSTIC_KEYS`, built by :func:`bayes_dose.inference.pymc_engine.diagnose`).

Examples
--------
>>> from bayes_dose.inference.engines import engines
>>> sorted(engines)
['grid', 'nutpie', 'pymc']
>>> engines["stan"]
Traceback (most recent call last):
...
ValueError: unknown engine 'stan'; registered engines: 'grid', 'nutpie', 'pymc'
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

from .adapters import adapter_for
from .estimate import Estimate

__all__ = ["DIAGNOSTIC_KEYS", "Engine", "EngineRegistry", "GridEngine", "engines"]

#: Keys of ``Estimate.diagnostics`` for every MCMC engine.
DIAGNOSTIC_KEYS = (
    "engine", "max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "max_depth_hits",
    "chains", "draws", "seconds", "flags",
)  # fmt: skip


@runtime_checkable
class Engine(Protocol):
    """What the designs call: ``engine.estimate(model, evidence, resolution=..., **options)``.

    ``resolution`` is the design's grid setting: grid engines use it, MCMC engines ignore
    it.  ``options`` are engine settings (MCMC: ``draws``, ``tune``, ``chains``,
    ``random_seed``, ...) and summary options of the model (CRM: ``target``,
    ``interval``, ``method``).
    """

    name: str
    #: Whether the engine estimates many trials at once (simulation uses such engines).
    vectorised: bool

    def estimate(self, model: Any, evidence: Any, *, resolution: Any = None, **options: Any) -> Estimate: ...


class GridEngine:
    """Exact engine: each model family's grid or quadrature, vectorised over trials."""

    name = "grid"
    vectorised = True

    def estimate(self, model: Any, evidence: Any, *, resolution: Any = None, **options: Any) -> Estimate:
        return adapter_for(model).grid(model, evidence, resolution=resolution, **options)


class EngineRegistry(Mapping[str, Engine]):
    """Engines by name; an unknown name is a ``ValueError`` listing the registered ones."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}

    def register(self, engine: Engine) -> Engine:
        """Add (or replace) ``engine`` under ``engine.name``; returns it."""
        if not isinstance(engine, Engine):
            raise ValueError(f"register: {engine!r} does not satisfy the Engine protocol")
        self._engines[str(engine.name)] = engine
        return engine

    def unregister(self, name: str) -> None:
        """Remove engine ``name`` (e.g. a test's temporary engine)."""
        self._engines.pop(name, None)

    def __getitem__(self, name: str) -> Engine:
        try:
            return self._engines[name]
        except (KeyError, TypeError):
            known = ", ".join(repr(k) for k in sorted(self._engines))
            raise ValueError(f"unknown engine {name!r}; registered engines: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._engines

    def get(self, name: str, default: Any = None) -> Any:
        return self._engines.get(name, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._engines)

    def __len__(self) -> int:
        return len(self._engines)

    def __repr__(self) -> str:
        return f"EngineRegistry({sorted(self._engines)})"


#: The registry designs and ``compare`` read.
engines = EngineRegistry()
engines.register(GridEngine())


def _register_mcmc() -> None:
    from .nutpie_engine import NutpieEngine
    from .pymc_engine import PyMCEngine

    engines.register(PyMCEngine())
    engines.register(NutpieEngine())


_register_mcmc()
