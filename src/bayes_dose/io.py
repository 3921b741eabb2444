"""Reading design/protocol specifications (TOML) and cohort data (CSV).

A design spec is a TOML file::

    protocol = "bat6021"        # a bundled protocol, or a protocol TOML path (relative to this file)
    seed = 2026                 # optional: the seed of simulations and reports

    [designs."3+3"]             # one table per design; the name is the table key
    type = "ThreePlusThree"     # a registered design (ThreePlusThree, BOIN, CRM, BLRM, ...)
    arms = ["mono", "combo"]    # optional: arms it runs on (default: every arm)
    variant = "deescalation"    # any constructor parameter
    [designs."3+3".mono]        # optional per-arm overrides
    titration_levels = 3

    [designs.CRM]
    type = "CRM"
    target = 0.25
    skeleton = { halfwidth = 0.05, mtd_guess = 5 }   # -> crm_skeleton(...) for the arm
    stopping = "PatientsAtDose(9) | MinPatients(24) & ProbAbove(0.25, 0.95)"
    escalation_limit = "RelativeIncrements(1.0)"     # at most +100 % in mg
    coherence = "Coherence(0.25)"

    [analysis]                  # optional: designs also fitted with PyMC (MCMC diagnostics)
    mcmc = ["BLRM"]
    draws = 500

    [simulation]                # optional: settings of `simulate` / `report`
    n_trials = 200
    target = 0.25               # defines each scenario's true MTD
    [simulation.scenarios.mono]
    "MTD at 300 mg" = [0.01, 0.02, 0.03, 0.05, 0.10, 0.25, 0.45, 0.60]
    # optional: response probabilities per scenario (simulate(efficacy=...), needed by BOIN12)
    # correlation = 0.2        # of DLT and response (Gaussian copula), in (-1, 1)
    # [simulation.efficacy.mono]
    # "MTD at 300 mg" = [0.05, 0.1, 0.15, 0.2, 0.3, 0.35, 0.35, 0.35]

    [simulation.timeline]       # optional: simulate in calendar time (bayes_dose.Timeline)
    accrual_per_month = 2.0     # Poisson arrivals per month (inf: all on day 0), or
                                # interarrival_days = 14 (one patient every 14 days)
    dlt_onset = { late = 0.7 }  # "uniform" (default), { weibull = 2.0 } (shape) or
                                # { late = 0.7 } (share of DLTs in the window's 2nd half)
    waiting = "queue"           # or "turn_away"
    max_wait_days = 30          # optional ("queue" only; default: no limit)
    response_day = 21           # optional (with efficacy: day responses are assessed)

``type`` names a design of the registry (:mod:`bayes_dose.designs.registry`; a user's
design registered with ``bd.register_design`` works too).  Rule slots are text:
``stopping`` a rule of :mod:`bayes_dose.designs.rule_grammar` (``&`` binds tighter than
``|``), ``escalation_limit`` / ``coherence`` one slot call (``"RelativeIncrements(1.0,
basis='max')"``, ``"Coherence(0.25)"``); their names are the registered rules and slots.

Parameters a design needs from the protocol are filled in per arm when not given:
``n_doses`` (levels of the arm), ``doses_mg`` (its dose grid), ``doses`` (BLRM) and
``mtd_rule`` (the protocol's MTD definition, 3+3).  ``doses`` / ``doses_mg`` given in a
design table must be the arm's dose grid (an error naming the design and the field
otherwise).

Everything is checked as it is read (:mod:`bayes_dose.spec_check`): unknown keys at the
top level, in ``[simulation]``, ``[analysis]``, a design table or a skeleton table are
errors naming the nearest valid key; each value must have its parameter's type (an
integer is not ``3.7`` or ``true`` but may be written ``30.0``, a boolean not ``"no"``, a
number is finite; a seed is an integer, not ``7.0``);
``arms`` is a list of the protocol's arms, and so are the arms of
``[simulation.scenarios.ARM]``, whose curves have one probability in [0, 1] per level;
``[simulation.efficacy.ARM]`` gives a response curve for every scenario of the arm (same
names), and ``correlation`` is a number in (-1, 1).  A setting nothing would read is an
error naming it: ``correlation`` or ``[simulation.timeline] response_day`` without
response curves, sampler settings of ``[analysis]`` without designs in ``mcmc``,
scenarios of an arm without designs, and ``programme_n_trials`` without a design that
borrows from another arm of the spec with scenarios for both arms that pair (same names, or as many).
"""

from __future__ import annotations

import inspect
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .designs import registry as _registry
from .outcomes import Outcomes
from .protocol import Arm, Protocol
from .spec_check import check_keys, check_value, did_you_mean

__all__ = [
    "DesignSpec", "design_from_spec", "design_table", "load_designs", "load_spec", "read_outcomes",
]  # fmt: skip

#: Short names accepted for ``type`` (the registry's).
ALIASES = _registry.ALIASES


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

    @property
    def timeline(self) -> Any:
        """The :class:`bayes_dose.Timeline` of ``[simulation.timeline]`` (simulations run in
        calendar time), or ``None`` (cohort time)."""
        return self.simulation.get("timeline")

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
        ruled = sorted({n for ds in self.designs.values() for n, d in ds.items()
                        if n in names and not getattr(d, "model_based", False)})  # fmt: skip
        if ruled:
            raise ValueError(
                f"[analysis] mcmc: design(s) {ruled} without a model (rule-based: estimates "
                "are observed rates whatever the engine); list only CRM / BLRM designs"
            )
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

    def efficacy(self, arm: str) -> dict[str, list[float]] | None:
        """Response probabilities per scenario of ``arm`` (``[simulation.efficacy.ARM]``),
        None when the spec gives none."""
        eff = self.simulation.get("efficacy", {}).get(arm)
        return None if eff is None else {k: [float(x) for x in v] for k, v in eff.items()}


#: Valid keys of each part of a spec (others are typos: rejected with the nearest name).
TOP_KEYS = ("protocol", "seed", "designs", "simulation", "analysis")
SIMULATION_KEYS = ("n_trials", "target", "scenarios", "efficacy", "correlation", "timeline",
                   "programme_n_trials")
#: Keys of ``[simulation.timeline]`` (:class:`bayes_dose.Timeline`; ``dlt_onset`` is
#: ``"uniform"`` or a one-key table of ONSET_KEYS).
TIMELINE_KEYS = ("accrual_per_month", "interarrival_days", "dlt_onset", "waiting", "max_wait_days",
                 "response_day")
ONSET_KEYS = ("weibull", "late")
ANALYSIS_KEYS = ("mcmc", "draws", "tune", "chains", "target_accept")
#: Keys of a ``skeleton = {...}`` table (arguments of :func:`crm_skeleton`; ``n_doses``
#: comes from the arm, ``target`` defaults to the design's; ``model`` is the deprecated name of
#: ``link``).
SKELETON_KEYS = ("target", "halfwidth", "mtd_guess", "link", "intercept", "model")


def _protocol(ref: Any, base: Path | None) -> Protocol:
    from . import protocols

    if ref is None:
        raise ValueError("field 'protocol' is required (e.g. protocol = \"bat6021\")")
    if isinstance(ref, Mapping):
        return _read_protocol(Protocol.from_dict, ref, "field 'protocol'")
    if not isinstance(ref, str):
        raise ValueError(f"field 'protocol' must be a name or a path, got {ref!r}")
    bundled = list(protocols.__all__)
    if ref in bundled:
        return getattr(protocols, ref)()
    path = Path(ref)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise ValueError(
            f"field 'protocol': no bundled protocol or file {ref!r}{did_you_mean(ref, bundled)}"
        )
    return _read_protocol(Protocol.from_toml, path, f"protocol file {str(path)!r}")


def _read_protocol(reader: Any, source: Any, where: str) -> Protocol:
    """A protocol from a table or file; a malformed one is a ``ValueError`` naming it."""
    try:
        return reader(source)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc
    except (TypeError, KeyError, AttributeError) as exc:
        raise ValueError(f"{where}: malformed protocol ({type(exc).__name__}: {exc})") from exc


def _skeleton(sk: Mapping[str, Any], params: Mapping[str, Any], arm: Arm, where: str) -> Any:
    """``skeleton = { halfwidth = ..., mtd_guess = ... }`` -> ``crm_skeleton(...)``."""
    from .designs.crm import crm_skeleton

    where = f"{where}: field 'skeleton'"
    check_keys(sk, SKELETON_KEYS, where)
    kw = {"target": sk.get("target", params.get("target")), **{k: v for k, v in sk.items()
                                                                if k != "target"}}  # fmt: skip
    missing = [k for k in ("target", "halfwidth", "mtd_guess") if kw.get(k) is None]
    if missing:
        raise ValueError(
            f"{where}: missing key(s) {missing} (e.g. skeleton = {{ halfwidth = 0.05, "
            f"mtd_guess = 3 }}; target defaults to the design's)"
        )
    types_ = {"target": float, "halfwidth": float, "mtd_guess": int, "link": str, "model": str,
              "intercept": float}  # fmt: skip
    for k, v in kw.items():
        check_value(v, types_[k], f"{where}.{k}")
    try:
        return crm_skeleton(n_doses=arm.n_doses, **kw)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def design_from_spec(
    spec: Mapping[str, Any],
    arm: Arm | None = None,
    name: str = "",
    others: Mapping[str, Mapping[str, Any]] | None = None,
    protocol: Protocol | None = None,
) -> Any:
    """Build one design from its spec table (``type`` plus constructor parameters).

    A string given for a parameter typed as a design (e.g. ``mono = "BLRM"`` of the
    combination BLRM) names a design built before, looked up in ``others`` (designs per
    arm) under the arm named like the parameter, else under this arm.  Every value is
    checked against the parameter's type (an integer is an integer, a boolean a
    boolean, a number finite); unknown parameters are errors naming the nearest valid
    one.  With ``protocol``, a design taking ``mtd_rule`` gets the protocol's MTD rule.
    With ``arm``, ``doses`` / ``doses_mg`` given must be the arm's dose grid (filled in
    when not given).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> arm = bd.protocols.bat6021().arm("combo")
    >>> bd.io.design_from_spec({"type": "3+3"}, arm)  # doctest: +ELLIPSIS
    ThreePlusThree(n_doses=5, ...)
    >>> bd.io.design_from_spec({"type": "BOIN", "target": 0.25, "cohort_size": 3.7}, arm, "B")
    Traceback (most recent call last):
    ...
    ValueError: design 'B' (arm 'combo'): field 'cohort_size': must be an integer, got 3.7 (float)
    """
    params = dict(spec)
    kind = params.pop("type", None)
    params.pop("arms", None)
    where = f"design {name!r}" if name else "design"
    if arm is not None:
        where += f" (arm {arm.name!r})"
    if not isinstance(kind, str):
        raise ValueError(f"{where}: field 'type' is required (e.g. type = \"BOIN\")")
    cls_name = ALIASES.get(kind, kind)
    try:
        cls: Any = _registry.design_class(kind)
    except KeyError:
        cls = None
    if not isinstance(cls, type) or not _is_design_hint(cls):
        raise ValueError(
            f"{where}: unknown design type {kind!r}{did_you_mean(kind, _design_types())}; "
            f"known: {', '.join(_design_types())}"
        )
    # deprecated parameter names (e.g. CRM's ``model`` for ``link``) still read, with a warning
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    accepted |= set(getattr(cls.__init__, "__renamed__", {}))
    unknown = sorted(set(params) - accepted) if not _takes_kwargs(cls) else []
    if unknown:
        valid = sorted(accepted | {"type", "arms"})
        raise ValueError(
            f"{where}: unknown parameter(s) {unknown} for {cls_name}"
            f"{did_you_mean(unknown[0], valid)}; valid: {', '.join(valid)}"
        )
    hints = _hints(cls)
    sk = params.get("skeleton")
    if isinstance(sk, Mapping):
        if arm is None:
            raise ValueError(f"{where}: field 'skeleton': a table needs the arm's dose levels")
        params["skeleton"] = _skeleton(sk, params, arm, where)
    for k, v in list(params.items()):
        if isinstance(v, str) and k in hints and _is_design_hint(hints[k]):
            params[k] = _design_ref(v, k, arm, others or {}, where, params.get("source_arm"))
        elif k in hints:
            params[k] = check_value(v, hints[k], f"{where}: field {k!r}")
        elif isinstance(v, list):
            params[k] = tuple(v)
    if arm is not None:
        sk = params.get("skeleton")
        if isinstance(sk, tuple) and len(sk) != arm.n_doses:
            raise ValueError(
                f"{where}: field 'skeleton': {len(sk)} values for the arm's {arm.n_doses} "
                f"dose levels"
            )
        _check_doses(params, arm, where)
        # a design's own arm is the spec's arm (e.g. CombinationBLRM(arm=...))
        defaults = {"n_doses": arm.n_doses, "doses_mg": arm.doses_mg, "doses": arm.doses_mg,
                    "arm": arm.name}  # fmt: skip
        for k, v in defaults.items():
            if k in accepted and k not in params:
                params[k] = v
    if protocol is not None and "mtd_rule" in accepted and "mtd_rule" not in params:
        params["mtd_rule"] = protocol.mtd_rule
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith(where) else f"{where}: {msg}") from exc


def _check_doses(params: Mapping[str, Any], arm: Arm, where: str) -> None:
    """Doses given in a spec (``doses``, ``doses_mg``) must be the protocol arm's dose
    grid: a level would otherwise mean one dose in the data and another in the design
    (``Design.fit`` refuses such a design on data read with the protocol)."""
    grid = tuple(float(x) for x in arm.doses_mg)
    for k in ("doses", "doses_mg"):
        v = params.get(k)
        if not isinstance(v, (tuple, list)) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v
        ):
            continue  # not a dose list: the design's own checks say what is wrong
        if tuple(float(x) for x in v) != grid:
            raise ValueError(
                f"{where}: field {k!r}: doses [{', '.join(f'{float(x):g}' for x in v)}] mg "
                f"differ from the doses_mg of the protocol arm {arm.name!r} "
                f"[{', '.join(f'{x:g}' for x in grid)}] mg; leave {k!r} out (the arm's doses "
                "are filled in) or change the protocol"
            )


def design_table(design: Any, refs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A design as a spec table (TOML values) that :func:`design_from_spec` reads back.

    ``type`` is the design's registered name; parameters at their default are left out;
    rules and slots become their text (``"PatientsAtDose(9) | MinPatients(18)"``),
    tuples lists, priors tables.  A parameter holding another design (the combination
    BLRM's ``mono``) is written as its name in ``refs`` (name -> design).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> d = bd.BOIN(target=0.3, n_doses=5, max_n=30, stopping=bd.rules.PatientsAtDose(9))
    >>> bd.io.design_table(d)
    {'type': 'BOIN', 'target': 0.3, 'n_doses': 5, 'max_n': 30, 'p_saf': 0.18, 'p_tox': 0.42,
     'stopping': 'PatientsAtDose(9)'}
    >>> bd.io.design_from_spec(bd.io.design_table(d)) == d
    True
    """
    import dataclasses
    from fractions import Fraction

    from .designs.base import Design
    from .designs.rules import StoppingRule
    from .designs.slots import Slot

    cls = type(design)
    name = next((n for n, c in _registry.designs().items() if c is cls), None)
    if name is None:
        raise ValueError(
            f"design_table: {cls.__name__} is not registered (bayes_dose.register_design)"
        )
    sig = inspect.signature(cls.__init__).parameters

    def value(k: str, v: Any) -> Any:
        if isinstance(v, (StoppingRule, Slot)):
            return repr(v)
        if isinstance(v, Design):
            for ref, other in (refs or {}).items():
                if other == v:
                    return ref
            raise ValueError(f"design_table: field {k!r} holds a design; name it in refs")
        if isinstance(v, Fraction):
            return str(v)
        if isinstance(v, (tuple, list)):
            return [value(k, x) for x in v]
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: value(k, getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (bool, int, float, str)):
            return v
        raise ValueError(f"design_table: field {k!r} ({type(v).__name__}) has no TOML form")

    out: dict[str, Any] = {"type": name}
    for k, v in design.get_params().items():
        default = sig[k].default if k in sig else inspect.Parameter.empty
        try:
            same = default is not inspect.Parameter.empty and type(v) is type(default) and v == default
        except Exception:  # arrays and the like
            same = False
        if same or (v is None and default is None):
            continue
        if v is None:
            raise ValueError(f"design_table: field {k!r} is None, which TOML cannot hold")
        out[k] = value(k, v)
    return out


def _design_types() -> list[str]:
    return _registry.design_names() + sorted(ALIASES)


def _is_design_hint(hint: Any) -> bool:
    from .designs.base import Design

    return any(
        isinstance(c, type) and issubclass(c, Design) for c in (typing.get_args(hint) or (hint,))
    )


def _design_ref(
    ref: str, param: str, arm: Arm | None, others: Mapping[str, Mapping[str, Any]], where: str,
    source: str | None = None,
) -> Any:
    """The design ``ref`` defined before, in the arm the parameter names (``mono``), the
    design's ``source_arm`` or its own arm."""
    arms = list(dict.fromkeys([param, source, arm.name if arm is not None else None]))
    for a in arms:
        if a in others and ref in others[a]:
            return others[a][ref]
    known = [n for a in arms for n in others.get(a, {})]
    raise ValueError(
        f"{where}: field {param!r}: no design {ref!r} defined before it (for arm {param!r})"
        f"{did_you_mean(ref, known)}"
    )


def _hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):
        return {}


def _takes_kwargs(cls: type) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())


def _check_int(value: Any, where: str, minimum: int) -> int:
    check_value(value, int, where)
    if value < minimum:
        raise ValueError(f"{where}: must be >= {minimum}, got {value}")
    return int(value)


def _check_probability(value: Any, where: str) -> float:
    check_value(value, float, where)
    if not 0 < value < 1:
        raise ValueError(f"{where}: must be in (0, 1), got {value!r}")
    return float(value)


def _curve_table(where: str, arm: str, curves: Any, proto: Protocol, what: str
                 ) -> dict[str, tuple[float, ...]]:  # fmt: skip
    """One arm's named probability curves (``[simulation.scenarios.ARM]`` or
    ``[simulation.efficacy.ARM]``): an arm of the protocol, one value per level, each in
    [0, 1]; ``what`` names the probabilities in errors ("DLT", "response")."""
    arms = list(proto.arm_names)
    if arm not in arms:
        raise ValueError(
            f"{where}: {arm!r} is not an arm of the protocol{did_you_mean(arm, arms)}; "
            f"arms: {', '.join(arms)}"
        )
    if not isinstance(curves, Mapping):
        raise ValueError(f"{where}: must be a table of named curves, got {curves!r}")
    n = proto.arm(arm).n_doses
    out: dict[str, tuple[float, ...]] = {}
    for name, p in curves.items():
        w = f"{where} {name!r}"
        p = check_value(p, tuple[float, ...], w)
        if len(p) != n:
            raise ValueError(f"{w}: {len(p)} values for {n} dose levels of arm {arm!r}")
        bad = [x for x in p if not 0 <= x <= 1]
        if bad:
            raise ValueError(f"{w}: {what} probabilities must be in [0, 1], got {bad[0]!r}")
        out[name] = p
    return out


def _simulation(table: Any, proto: Protocol) -> dict[str, Any]:
    """``[simulation]``: known keys, integer trial count, probabilities, arms' scenarios."""
    if not isinstance(table, Mapping):
        raise ValueError(f"[simulation] must be a table, got {table!r}")
    check_keys(table, SIMULATION_KEYS, "[simulation]")
    sim = dict(table)
    if "n_trials" in sim:
        sim["n_trials"] = _check_int(sim["n_trials"], "[simulation] n_trials", 1)
    if "programme_n_trials" in sim:
        sim["programme_n_trials"] = _check_int(sim["programme_n_trials"],
                                               "[simulation] programme_n_trials", 1)  # fmt: skip
    if "target" in sim:
        sim["target"] = _check_probability(sim["target"], "[simulation] target")
    scen = sim.get("scenarios", {})
    if not isinstance(scen, Mapping):
        raise ValueError("[simulation] scenarios: must be tables [simulation.scenarios.ARM]")
    out: dict[str, dict[str, tuple[float, ...]]] = {}
    for a, curves in scen.items():
        out[a] = _curve_table(f"[simulation.scenarios.{a}]", a, curves, proto, "DLT")
    if "scenarios" in sim:
        sim["scenarios"] = out
    if "correlation" in sim:
        from .efficacy import check_correlation

        check_value(sim["correlation"], float, "[simulation] correlation")
        try:
            sim["correlation"] = check_correlation(sim["correlation"])
        except ValueError as exc:
            raise ValueError(f"[simulation] {exc}") from None
    eff = sim.get("efficacy", {})
    if not isinstance(eff, Mapping):
        raise ValueError("[simulation] efficacy: must be tables [simulation.efficacy.ARM]")
    eff_out: dict[str, dict[str, tuple[float, ...]]] = {}
    for a, curves in eff.items():
        where = f"[simulation.efficacy.{a}]"
        names = list(out.get(a, {}))
        eff_out[a] = _curve_table(where, a, curves, proto, "response")
        extra = [k for k in curves if k not in names]
        if extra:
            raise ValueError(
                f"{where} {extra[0]!r}: no such scenario of arm {a!r}"
                f"{did_you_mean(extra[0], names)}; scenarios: {', '.join(names) or 'none'}"
            )
        lacking = [k for k in names if k not in curves]
        if lacking:
            raise ValueError(f"{where}: no response curve for scenario(s) {lacking}")
    if "efficacy" in sim:
        sim["efficacy"] = eff_out
    if "correlation" in sim and not eff_out:
        raise ValueError(
            "[simulation] correlation: given without [simulation.efficacy.ARM] response "
            "curves, it would be ignored"
        )
    if "timeline" in sim:
        sim["timeline"] = _timeline(sim["timeline"])
        if sim["timeline"].response_day is not None and not eff_out:
            raise ValueError(
                "[simulation.timeline] response_day: given without [simulation.efficacy.ARM] "
                "response curves (no responses are simulated), it would be ignored"
            )
    return sim


def _timeline(table: Any) -> Any:
    """``[simulation.timeline]`` -> :class:`bayes_dose.Timeline` (keys and types checked)."""
    from .timeline import Timeline

    where = "[simulation.timeline]"
    if not isinstance(table, Mapping):
        raise ValueError(f"{where}: must be a table (e.g. accrual_per_month = 2.0), got {table!r}")
    check_keys(table, TIMELINE_KEYS, where)
    kw: dict[str, Any] = {}
    rate = table.get("accrual_per_month")
    if rate is not None:  # TOML's inf is allowed here: unlimited accrual
        if not (isinstance(rate, float) and rate == float("inf")):
            check_value(rate, float, f"{where} accrual_per_month")
        kw["accrual_per_month"] = float(rate)
    for k in ("interarrival_days", "max_wait_days", "response_day"):
        if k in table:
            kw[k] = float(check_value(table[k], float, f"{where} {k}"))
    if "waiting" in table:
        kw["waiting"] = check_value(table["waiting"], str, f"{where} waiting")
    if "dlt_onset" in table:
        kw["dlt_onset"] = _onset(table["dlt_onset"], f"{where} dlt_onset")
    try:
        return Timeline(**kw)
    except ValueError as exc:
        raise ValueError(f"{where}: {str(exc).removeprefix('Timeline: ')}") from None


def _onset(v: Any, where: str) -> Any:
    """``"uniform"``, ``{ weibull = shape }`` or ``{ late = fraction }``."""
    form = 'write "uniform", { weibull = 2.0 } (shape) or { late = 0.7 } (late-onset share)'
    if isinstance(v, str):
        if v != "uniform":
            raise ValueError(f"{where}: unknown onset {v!r}{did_you_mean(v, ['uniform'])}; {form}")
        return v
    if not isinstance(v, Mapping):
        raise ValueError(f"{where}: {v!r} is not an onset; {form}")
    check_keys(v, ONSET_KEYS, where)
    if len(v) != 1:
        raise ValueError(f"{where}: give one of {', '.join(ONSET_KEYS)}, got {dict(v)!r}; {form}")
    (kind, x), = v.items()
    return (kind, float(check_value(x, float, f"{where}.{kind}")))


def _analysis(table: Any) -> dict[str, Any]:
    """``[analysis]``: known keys and sampler settings of the right type."""
    if not isinstance(table, Mapping):
        raise ValueError(f"[analysis] must be a table, got {table!r}")
    check_keys(table, ANALYSIS_KEYS, "[analysis]")
    ana = dict(table)
    if "mcmc" in ana:
        ana["mcmc"] = list(check_value(ana["mcmc"], tuple[str, ...], "[analysis] mcmc"))
    for k, lo in (("draws", 1), ("tune", 0), ("chains", 1)):
        if k in ana:
            ana[k] = _check_int(ana[k], f"[analysis] {k}", lo)
    if "target_accept" in ana:
        ana["target_accept"] = _check_probability(ana["target_accept"], "[analysis] target_accept")
    sampler = [k for k in ana if k != "mcmc"]
    if sampler and not ana.get("mcmc"):
        raise ValueError(
            f"[analysis] {', '.join(sampler)}: given without designs in [analysis] mcmc (no "
            "design is fitted with MCMC), it would be ignored; name the designs to check "
            '(e.g. mcmc = ["BLRM"]) or remove the setting'
        )
    return ana


def _arms_of(name: str, t: Mapping[str, Any], proto: Protocol) -> list[str]:
    all_arms = list(proto.arm_names)
    if "arms" not in t:
        return all_arms
    arms = t["arms"]
    where = f"design {name!r}: field 'arms'"
    if isinstance(arms, str) or not isinstance(arms, list):
        raise ValueError(
            f"{where}: must be a list of arm names (e.g. arms = [{arms!r}]), got {arms!r}"
        )
    for a in arms:
        if not isinstance(a, str) or a not in all_arms:
            raise ValueError(
                f"{where}: unknown arm(s) [{a!r}]{did_you_mean(str(a), all_arms)} "
                f"(protocol arms: {all_arms})"
            )
    if len(set(arms)) != len(arms):
        raise ValueError(f"{where}: an arm is listed twice: {arms}")
    if not arms:
        raise ValueError(
            f"{where}: is empty, so the design would run on no arm; list its arms (protocol "
            f"arms: {all_arms}) or remove the design"
        )
    return arms


def _load(raw: Mapping[str, Any], path: Path) -> DesignSpec:
    check_keys(raw, TOP_KEYS, "top level")
    proto = _protocol(raw.get("protocol"), path.parent)
    seed = raw.get("seed")
    if seed is not None:
        if isinstance(seed, float):  # a seed is an identity, not a quantity (as check_seed)
            raise ValueError(f"field 'seed': must be an integer, got {seed!r} (float)")
        check_value(seed, int, "field 'seed'")
        if seed < 0:
            raise ValueError(f"field 'seed' must be >= 0, got {seed}")
    simulation = _simulation(raw.get("simulation", {}), proto)
    analysis = _analysis(raw.get("analysis", {}))
    tables = raw.get("designs")
    if not isinstance(tables, Mapping) or not tables:
        raise ValueError("no [designs.NAME] tables")
    designs: dict[str, dict[str, Any]] = {a: {} for a in proto.arm_names}
    for name, t in tables.items():
        if not isinstance(t, Mapping):
            raise ValueError(f"[designs.{name}] must be a table, got {t!r}")
        arms = _arms_of(name, t, proto)
        # per-arm overrides are sub-tables named like an arm (a string `mono = "BLRM"` is a
        # parameter: the combination BLRM's monotherapy design)
        overrides = {k for k, v in t.items() if k in proto.arm_names and isinstance(v, Mapping)}
        unused = sorted(overrides - set(arms))
        if unused:
            raise ValueError(
                f"design {name!r}: [designs.{name}.{unused[0]}] overrides arm {unused[0]!r}, "
                f"which is not in the design's arms {arms}"
            )
        base = {k: v for k, v in t.items() if k not in overrides}
        for a in arms:
            over = dict(t.get(a, {})) if a in overrides else {}
            for k in ("type", "arms"):
                if k in over:
                    raise ValueError(
                        f"design {name!r}: [designs.{name}.{a}] cannot set {k!r} (set it in "
                        f"[designs.{name}])"
                    )
            designs[a][name] = design_from_spec(
                {**base, **over}, proto.arm(a), name, designs, protocol=proto
            )
    designs = {a: d for a, d in designs.items() if d}
    _check_read(simulation, designs)
    spec = DesignSpec(
        protocol=proto,
        designs=designs,
        seed=seed,
        simulation=simulation,
        analysis=analysis,
        raw=dict(raw),
        path=path,
    )
    spec.mcmc()  # unknown designs in [analysis] mcmc: an error now, not at report time
    return spec


def _check_read(simulation: Mapping[str, Any], designs: Mapping[str, Mapping[str, Any]]) -> None:
    """``[simulation]`` settings nothing would read are errors naming the key and why (as
    ``correlation`` without response curves): scenarios of an arm without designs, and
    ``programme_n_trials`` without a design that borrows from another arm of the spec
    (:attr:`Design.borrows_from <bayes_dose.Design.borrows_from>`) with scenarios for
    both arms that pair (:func:`bayes_dose.study.scenario_pairs`;
    :meth:`bayes_dose.Study.simulate` simulates only those as a programme)."""
    scen = simulation.get("scenarios", {})
    for a in scen:
        if a not in designs:
            raise ValueError(
                f"[simulation.scenarios.{a}]: arm {a!r} has no designs in the spec (designs "
                f"run on arms {list(designs)}), so its scenarios would be ignored"
            )
    if "programme_n_trials" not in simulation:
        return
    from .compare import borrowed_arms

    where = "[simulation] programme_n_trials"
    pairs = [(a, name, b[0]) for a, ds in designs.items() for name, d in ds.items()
             if len(b := borrowed_arms(d)) == 1 and b[0] != a and b[0] in designs]  # fmt: skip
    if not pairs:
        raise ValueError(
            f"{where}: no design borrows from another arm with designs in the spec (e.g. a "
            "CombinationBLRM with borrow = true), so no programme is simulated and it would "
            "be ignored"
        )
    if not any(scen.get(a) and scen.get(src) for a, _, src in pairs):
        a, name, src = pairs[0]
        raise ValueError(
            f"{where}: design {name!r} (arm {a!r}) borrows from arm {src!r}, but the spec "
            f"does not give [simulation.scenarios.{a}] and [simulation.scenarios.{src}] both, "
            "so no programme is simulated and it would be ignored"
        )
    from .study import scenario_pairs

    both = [(a, name, src) for a, name, src in pairs if scen.get(a) and scen.get(src)]
    if all(scenario_pairs(scen[src], scen[a]) is None for a, _, src in both):
        a, name, src = both[0]
        raise ValueError(
            f"{where}: design {name!r} (arm {a!r}) borrows from arm {src!r}, but their "
            f"scenarios do not pair ({len(scen[src])} scenarios of {src!r}, {len(scen[a])} "
            f"scenarios of {a!r}, not the same names): the programme pairs them by name, else "
            "in the order given when there are as many, so no programme is simulated and it "
            "would be ignored"
        )


def load_spec(path: str | Path) -> DesignSpec:
    r"""Read a TOML design spec (see the module docstring).

    Every error is a ``ValueError`` naming the file and the place in it (top-level key,
    ``[simulation]`` key, design and field), with the nearest valid name for a typo.

    Examples
    --------
    >>> import bayes_dose as bd, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
    >>> _ = p.write_text('protocol = "bat6021"\nsede = 1\n[designs.a]\ntype = "3+3"\n')
    >>> bd.io.load_spec(p)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: design spec '...s.toml': top level: unknown key 'sede' (did you mean 'seed'?); ...
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"design spec {str(path)!r} not found") from None
    except IsADirectoryError:
        raise ValueError(f"design spec {str(path)!r} is a directory, not a TOML file") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"design spec {str(path)!r}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ValueError(f"design spec {str(path)!r}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"design spec {str(path)!r}: {exc}") from exc
    try:
        return _load(raw, path)
    except ValueError as exc:
        raise ValueError(f"design spec {str(path)!r}: {exc}") from exc


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
