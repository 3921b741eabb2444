"""Reading design/protocol specifications (TOML) and cohort data (CSV).

A design spec is a TOML file::

    protocol = "bat6021"        # a bundled protocol, or a protocol TOML path (relative to this file)
    seed = 2026                 # optional: the seed of simulations and reports

    [designs."3+3"]             # one table per design; the name is the table key
    type = "ThreePlusThree"     # a class of bayes_dose (ThreePlusThree, BOIN, CRM, BLRM, ...)
    arms = ["mono", "combo"]    # optional: arms it runs on (default: every arm)
    variant = "deescalation"    # any constructor parameter
    [designs."3+3".mono]        # optional per-arm overrides
    titration_levels = 3

    [designs.CRM]
    type = "CRM"
    target = 0.25
    skeleton = { halfwidth = 0.05, mtd_guess = 5 }   # -> crm_skeleton(...) for the arm

    [analysis]                  # optional: designs also fitted with PyMC (MCMC diagnostics)
    mcmc = ["BLRM"]
    draws = 500

    [simulation]                # optional: settings of `simulate` / `report`
    n_trials = 200
    target = 0.25               # defines each scenario's true MTD
    [simulation.scenarios.mono]
    "MTD at 300 mg" = [0.01, 0.02, 0.03, 0.05, 0.10, 0.25, 0.45, 0.60]

Parameters a design needs from the protocol are filled in per arm when not given:
``n_doses`` (levels of the arm), ``doses_mg`` (its dose grid) and ``doses`` (BLRM).
"""

from __future__ import annotations

import dataclasses
import inspect
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .outcomes import Outcomes
from .protocol import Arm, Protocol

__all__ = ["DesignSpec", "design_from_spec", "load_designs", "load_spec", "read_outcomes"]

#: Short names accepted for ``type``.
ALIASES = {"3+3": "ThreePlusThree", "3plus3": "ThreePlusThree", "combo_blrm": "CombinationBLRM"}


@dataclass(frozen=True)
class DesignSpec:
    """A parsed design spec: protocol, designs per arm, seed and simulation settings."""

    protocol: Protocol
    designs: dict[str, dict[str, Any]]
    seed: int | None = None
    simulation: dict[str, Any] = field(default_factory=dict)
    analysis: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def mcmc(self, seed: int | None = None) -> tuple[list[str], dict[str, Any]]:
        """Designs to check with PyMC and the sampler settings, from ``[analysis]``.

        ``[analysis] mcmc = ["BLRM"]`` also fits those designs with PyMC NUTS (decisions
        stay with the exact grid engines); ``draws``, ``tune``, ``chains`` and
        ``target_accept`` go to the sampler, with ``random_seed`` = the seed.
        """
        names = list(self.analysis.get("mcmc", []))
        known = {n for ds in self.designs.values() for n in ds}
        bad = sorted(set(names) - known)
        if bad:
            raise ValueError(f"[analysis] mcmc: unknown design(s) {bad}")
        kw = {k: self.analysis[k] for k in ("draws", "tune", "chains", "target_accept")
              if k in self.analysis}  # fmt: skip
        kw["random_seed"] = self.seed if seed is None else seed
        return names, kw

    def scenarios(self, arm: str) -> dict[str, list[float]]:
        """True-toxicity scenarios of ``arm`` (name -> probability per level)."""
        sc = self.simulation.get("scenarios", {}).get(arm, {})
        n = self.protocol.arm(arm).n_doses
        for name, p in sc.items():
            if len(p) != n:
                raise ValueError(
                    f"simulation.scenarios.{arm}.{name!r}: {len(p)} values for {n} dose levels"
                )
        return {k: [float(x) for x in v] for k, v in sc.items()}


def _protocol(ref: Any, base: Path | None) -> Protocol:
    from . import protocols

    if ref is None:
        raise ValueError("design spec: field 'protocol' is required (e.g. protocol = \"bat6021\")")
    if isinstance(ref, Mapping):
        return Protocol.from_dict(ref)
    if not isinstance(ref, str):
        raise ValueError(f"design spec: field 'protocol' must be a name or a path, got {ref!r}")
    if hasattr(protocols, ref) and callable(getattr(protocols, ref)):
        return getattr(protocols, ref)()
    path = Path(ref)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.exists():
        raise ValueError(f"design spec: field 'protocol': no bundled protocol or file {ref!r}")
    return Protocol.from_toml(path)


def design_from_spec(
    spec: Mapping[str, Any],
    arm: Arm | None = None,
    name: str = "",
    others: Mapping[str, Mapping[str, Any]] | None = None,
) -> Any:
    """Build one design from its spec table (``type`` plus constructor parameters).

    A string given for a parameter typed as a design (e.g. ``mono = "BLRM"`` of the
    combination BLRM) names a design built before, looked up in ``others`` (designs per
    arm) under the arm named like the parameter, else under this arm.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> arm = bd.protocols.bat6021().arm("combo")
    >>> bd.io.design_from_spec({"type": "3+3"}, arm)  # doctest: +ELLIPSIS
    ThreePlusThree(n_doses=5, ...)
    """
    import bayes_dose

    params = dict(spec)
    kind = params.pop("type", None)
    params.pop("arms", None)
    where = f"design {name!r}" if name else "design"
    if not isinstance(kind, str):
        raise ValueError(f"{where}: field 'type' is required (e.g. type = \"BOIN\")")
    cls_name = ALIASES.get(kind, kind)
    cls = getattr(bayes_dose, cls_name, None)
    if not isinstance(cls, type):
        raise ValueError(f"{where}: unknown design type {kind!r}")
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    if arm is not None:
        defaults = {"n_doses": arm.n_doses, "doses_mg": arm.doses_mg, "doses": arm.doses_mg}
        for k, v in defaults.items():
            if k in accepted and k not in params:
                params[k] = v
        sk = params.get("skeleton")
        if isinstance(sk, Mapping):
            params["skeleton"] = bayes_dose.crm_skeleton(
                target=sk.get("target", params.get("target")),
                n_doses=arm.n_doses,
                **{k: v for k, v in sk.items() if k != "target"},
            )
    hints = _hints(cls)
    for k, v in params.items():
        if isinstance(v, str) and k in hints and _is_design_hint(hints[k]):
            params[k] = _design_ref(v, k, arm, others or {}, where)
        elif isinstance(v, Mapping) and k in hints:
            params[k] = _coerce(v, hints[k], f"{where}: field {k!r}")
        elif isinstance(v, list):
            params[k] = tuple(v)
    unknown = sorted(set(params) - accepted) if not _takes_kwargs(cls) else []
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {unknown} for {cls_name}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _is_design_hint(hint: Any) -> bool:
    from .designs.base import Design

    return any(
        isinstance(c, type) and issubclass(c, Design) for c in (typing.get_args(hint) or (hint,))
    )


def _design_ref(
    ref: str, param: str, arm: Arm | None, others: Mapping[str, Mapping[str, Any]], where: str
) -> Any:
    for a in (param, arm.name if arm is not None else None):
        if a in others and ref in others[a]:
            return others[a][ref]
    raise ValueError(
        f"{where}: field {param!r}: no design {ref!r} defined before it (for arm {param!r})"
    )


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):
        return {}


def _coerce(value: Mapping[str, Any], hint: Any, where: str) -> Any:
    """A TOML table given for a parameter whose type is a class (e.g. a prior): build it."""
    options = typing.get_args(hint) or (hint,)
    for cls in options:
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            try:
                return cls(**kwargs)
            except TypeError as exc:
                raise ValueError(f"{where}: {exc}") from exc
    return dict(value)


def _takes_kwargs(cls: type) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())


def load_spec(path: str | Path) -> DesignSpec:
    """Read a TOML design spec (see the module docstring)."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"design spec {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"design spec {str(path)!r}: {exc}") from exc
    proto = _protocol(raw.get("protocol"), path.parent)
    tables = raw.get("designs")
    if not isinstance(tables, Mapping) or not tables:
        raise ValueError(f"design spec {str(path)!r}: no [designs.NAME] tables")
    designs: dict[str, dict[str, Any]] = {a: {} for a in proto.arm_names}
    for name, t in tables.items():
        if not isinstance(t, Mapping):
            raise ValueError(f"design spec: [designs.{name}] must be a table")
        arms = t.get("arms", list(proto.arm_names))
        bad = sorted(set(arms) - set(proto.arm_names))
        if bad:
            raise ValueError(
                f"design {name!r}: field 'arms': unknown arm(s) {bad} (protocol arms: "
                f"{list(proto.arm_names)})"
            )
        # per-arm overrides are sub-tables named like an arm (a string `mono = "BLRM"` is a
        # parameter: the combination BLRM's monotherapy design)
        overrides = {k for k, v in t.items() if k in proto.arm_names and isinstance(v, Mapping)}
        base = {k: v for k, v in t.items() if k not in overrides}
        for a in arms:
            over = t.get(a, {}) if a in overrides else {}
            designs[a][name] = design_from_spec({**base, **over}, proto.arm(a), name, designs)
    seed = raw.get("seed")
    if seed is not None and not isinstance(seed, int):
        raise ValueError(f"design spec: field 'seed' must be an integer, got {seed!r}")
    return DesignSpec(
        protocol=proto,
        designs={a: d for a, d in designs.items() if d},
        seed=seed,
        simulation=dict(raw.get("simulation", {})),
        analysis=dict(raw.get("analysis", {})),
        raw=raw,
        path=path,
    )


def load_designs(path: str | Path) -> dict[str, dict[str, Any]]:
    """Designs of a TOML spec, per arm: ``{arm: {name: design}}`` (ready for ``compare``).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> from importlib import resources
    >>> spec = resources.files("bayes_dose") / "data" / "bat6021_designs.toml"
    >>> sorted(bd.io.load_designs(spec))
    ['combo', 'mono']
    """
    return load_spec(path).designs


def read_outcomes(path: str | Path, protocol: Protocol | None = None) -> Outcomes:
    """Cohort data from a CSV file (one row per patient, see ``Outcomes.read_csv``)."""
    return Outcomes.read_csv(path, protocol=protocol)
