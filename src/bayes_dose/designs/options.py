"""The base options every design shares, declared once (:data:`OPTIONS`).

A design class declares only its own parameters.  Its ``__init__`` lists them; the
base options it accepts are added to its signature as keyword-only parameters from the
table below (with their default and type, so ``get_params``, ``replace``, ``spec``, TOML
specs and the contract suite see them) and are set on the instance before its
``__init__`` body runs.  The class says, in one place, which base options it fixes
(:class:`BaseOptions` ``fixed``: 3+3's ``cohort_size = 3``, BOIN's ``no_skip = True``) and
which its ``__init__`` computes (``derived``: the CRM's ``n_doses`` from its skeleton).
A base option the ``__init__`` lists itself (e.g. ``n_doses`` first, for positional
calls) keeps that position; the base still sets it.

::

    class MyDesign(bd.Design):
        base_options = bd.designs.options.BaseOptions(fixed={"no_skip": True})

        def __init__(self, n_doses: int, target: float = 0.3) -> None:
            self.target = float(target)        # cohort_size, max_n, ... are set already

Old-style subclasses (an ``__init__`` that forwards base options to
``super().__init__``, and no ``base_options`` in the class body) keep working unchanged.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..checks import doses, flag, whole
from ..deprecation import apply_renames
from .rules import StoppingRule
from .slots import Backfill, Coherence, EscalationLimit

if TYPE_CHECKING:
    from .base import Design

__all__ = ["OPTIONS", "BaseOptions", "Option", "check_options", "set_options"]

_REQUIRED = inspect.Parameter.empty


def _opt(conv: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else conv(v)


class _Refused(Exception):
    """A base option's value that cannot be taken (set_options names design and option)."""


def _strict(check: Callable[..., Any], **bounds: Any) -> Callable[[Any], Any]:
    """A :mod:`bayes_dose.checks` check as a converter: ``int(7.9)`` is 7 and
    ``bool("False")`` is True, so such values are refused, not coerced."""

    def conv(v: Any) -> Any:
        try:
            return check("", "", v, **bounds)
        except ValueError as e:  # "<owner>: <name> must ..., got ..."
            raise _Refused(str(e).split(": ", 1)[1].lstrip()) from None

    return conv


_whole = _strict(whole)
_doses = _strict(doses, increasing=False)


def _rule(v: Any) -> Any:
    if isinstance(v, str):
        from .rule_grammar import parse_rule

        return parse_rule(v)
    return v


def _slot(kind: str) -> Callable[[Any], Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, str):
            from .rule_grammar import parse_slot

            return parse_slot(v, kind)
        return v

    return conv


def _backfill(v: Any) -> Any:
    from .slots.backfill import Backfill, parse_backfill

    if isinstance(v, str):
        return parse_backfill(v)
    if v is not None and not isinstance(v, Backfill):
        hint = " (the class: write bd.Backfill())" if v is Backfill else ""
        raise ValueError(f"backfill= must be a bd.Backfill(...), its text or None, got {v!r}{hint}")
    return v


@dataclass(frozen=True)
class Option:
    """One base option: name, default, type hint (for specs) and normalisation."""

    name: str
    default: Any
    hint: Any
    convert: Callable[[Any], Any]
    doc: str
    #: listed in ``Design.__init__``'s own signature (the options old-style subclasses
    #: forward); the slot options added later are accepted there as keywords too
    legacy: bool = True


#: The base options, in signature order (``n_doses`` has no default).
OPTIONS: tuple[Option, ...] = (
    Option("n_doses", _REQUIRED, int, _whole, "Number of dose levels."),
    Option("cohort_size", 3, int, _whole, "Patients per cohort (after titration)."),
    Option("max_n", None, int | None, _opt(_whole), "Stop when this many patients were treated."),
    Option("start_level", 1, int, _whole, "1-based starting level."),
    Option("titration_levels", 0, int, _whole,
           "Accelerated titration over levels 1..titration_levels (0 = none)."),
    Option("titration_grade2", False, bool, _strict(flag),
           "Also end titration at the second grade-2 drug-related toxicity."),
    Option("no_skip", True, bool, _strict(flag),
           "Never escalate past one level above the highest level tried."),
    Option("stopping", None, StoppingRule | None, _opt(_rule),
           "Extra stopping rule (a StoppingRule or its text, see rule_grammar)."),
    Option("doses_mg", None, tuple[float, ...] | None, _opt(_doses),
           "Dose labels (mg) for tables and plots (and mg-based escalation limits)."),
    Option("escalation_limit", None, EscalationLimit | None, _opt(_slot("escalation_limit")),
           "An extra escalation limit after no-skip (e.g. RelativeIncrements(1.0)).", False),
    Option("coherence", None, Coherence | None, _opt(_slot("coherence")),
           "No escalation right after a cohort with DLT rate >= target (Coherence(target)).",
           False),
    Option("backfill", None, Backfill | None, _opt(_backfill),
           "Backfill cohorts at cleared doses (Backfill(...), see designs.slots.backfill).",
           False),
)  # fmt: skip
BY_NAME = {o.name: o for o in OPTIONS}


@dataclass(frozen=True)
class BaseOptions:
    """What a design class does with the base options (declared in its class body)."""

    #: options the design fixes (not constructor parameters), e.g. ``{"cohort_size": 3}``
    fixed: Mapping[str, Any] = field(default_factory=dict)
    #: options its ``__init__`` computes itself (e.g. ``n_doses`` from a skeleton)
    derived: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bad = sorted((set(self.fixed) | set(self.derived)) - set(BY_NAME))
        if bad:
            raise ValueError(f"BaseOptions: unknown base option(s) {bad}; known: {list(BY_NAME)}")


def set_options(design: Design, values: Mapping[str, Any]) -> None:
    """Normalise and store base options on ``design`` (``ValueError`` naming a value it
    cannot take)."""
    for k, v in values.items():
        try:
            value = BY_NAME[k].convert(v)
        except _Refused as e:
            raise ValueError(f"{type(design).__name__}: {k} {e}") from None
        setattr(design, k, value)


def check_options(design: Design) -> None:
    """Validate the base options of a constructed design (``ValueError`` naming it)."""
    name = type(design).__name__
    d = design
    if d.n_doses < 1:
        raise ValueError(f"{name}: n_doses must be >= 1, got {d.n_doses}")
    if d.cohort_size < 1:
        raise ValueError(f"{name}: cohort_size must be >= 1, got {d.cohort_size}")
    if d.max_n is not None and d.max_n < 1:
        raise ValueError(f"{name}: max_n must be >= 1, got {d.max_n}")
    if not 1 <= d.start_level <= d.n_doses:
        raise ValueError(f"{name}: start_level must be in 1..{d.n_doses}, got {d.start_level}")
    if not 0 <= d.titration_levels <= d.n_doses:
        raise ValueError(
            f"{name}: titration_levels must be in 0..{d.n_doses}, got {d.titration_levels}"
        )
    if d.doses_mg is not None and len(d.doses_mg) != d.n_doses:
        raise ValueError(f"{name}: doses_mg has {len(d.doses_mg)} entries for {d.n_doses} levels")
    if d.stopping is not None and not isinstance(d.stopping, StoppingRule):
        raise ValueError(f"{name}: stopping must be a StoppingRule, got {d.stopping!r}")
    for key, kind in (("escalation_limit", EscalationLimit), ("coherence", Coherence),
                      ("backfill", Backfill)):  # fmt: skip
        slot = getattr(d, key, None)
        if slot is None:
            continue
        if not isinstance(slot, kind) and getattr(slot, "kind", None) != key:
            raise ValueError(f"{name}: {key} must be a {key} slot, got {slot!r}")
        slot.check(d)


def legacy_signature() -> inspect.Signature:
    """``Design.__init__(self, n_doses, *, cohort_size=3, ..., **options)``."""
    params = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for o in OPTIONS:
        if not o.legacy:
            continue
        kind = (inspect.Parameter.POSITIONAL_OR_KEYWORD if o.name == "n_doses"
                else inspect.Parameter.KEYWORD_ONLY)  # fmt: skip
        params.append(inspect.Parameter(o.name, kind, default=o.default, annotation=o.hint))
    params.append(inspect.Parameter("options", inspect.Parameter.VAR_KEYWORD, annotation=Any))
    return inspect.Signature(params)


def declare(cls: type) -> None:
    """Give ``cls.__init__`` (its own parameters only) the base options ``cls`` accepts
    (called by ``Design.__init_subclass__`` for a class with ``base_options``)."""
    inner = cls.__dict__["__init__"]
    decl: BaseOptions = cls.__dict__["base_options"]
    own = inspect.signature(inner)
    if any(p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) for p in own.parameters.values()):
        raise TypeError(
            f"{cls.__name__}.__init__: with base_options, list the design's own parameters "
            "(no *args / **kwargs); the base options are added from Design's table"
        )
    named = [n for n in own.parameters if n in BY_NAME]
    hidden = set(decl.fixed) | set(decl.derived)
    clash = sorted(hidden & set(named))
    if clash:
        raise TypeError(f"{cls.__name__}: {clash} are fixed or derived but listed in __init__")
    extra = [o for o in OPTIONS if o.name not in hidden and o.name not in named]
    params = list(own.parameters.values()) + [
        inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default,
                          annotation=o.hint) for o in extra
    ]  # fmt: skip
    signature = own.replace(parameters=params)
    extra_names = frozenset(o.name for o in extra)
    defaults = {o.name: o.default for o in OPTIONS if o.default is not _REQUIRED}
    renamed: dict[str, str] = dict(getattr(inner, "__renamed__", {}))

    @functools.wraps(inner)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if renamed:  # deprecated keyword names (deprecation.renamed_kwargs on the __init__)
            apply_renames(cls.__name__, renamed, kwargs, stacklevel=4)
        given = {k: kwargs.pop(k) for k in list(kwargs) if k in extra_names}
        bound = own.bind(self, *args, **kwargs)
        outer = "_setting_options" not in self.__dict__
        if outer:
            bound.apply_defaults()
            values = {k: v for k, v in defaults.items() if k not in decl.derived}
            values.update(decl.fixed)
        else:  # a subclass's __init__ calling this one: set what it passes explicitly
            values = {}
        values.update({k: bound.arguments[k] for k in named if k in bound.arguments})
        values.update(given)
        set_options(self, values)
        if not outer:
            inner(self, *args, **kwargs)
            return
        self.__dict__["_setting_options"] = True
        try:
            inner(self, *args, **kwargs)
        finally:
            del self.__dict__["_setting_options"]
        self._check_base()

    __init__.__signature__ = signature  # type: ignore[attr-defined]
    hints = dict(getattr(inner, "__annotations__", {}))
    hints.update({o.name: o.hint for o in extra})
    __init__.__annotations__ = hints
    __init__._declared_options = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]


def declared(cls: type) -> bool:
    """Whether ``cls`` defines a declared (new-style) ``__init__``."""
    init = cls.__dict__.get("__init__")
    return bool(getattr(init, "_declared_options", False))
