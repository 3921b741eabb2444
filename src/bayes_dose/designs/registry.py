"""The design registry: design type names (TOML ``type = "..."``) -> design classes.

The package's designs are registered here by module path (imported on first use, so
``import bayes_dose`` stays light); a user's design registers itself with
:func:`register_design` and then works in TOML specs (``bayes_dose.io``)::

    @bd.designs.register_design
    class UpDown(bd.Design):
        ...

Examples
--------
>>> from bayes_dose.designs.registry import design_class, design_names
>>> design_class("3+3").__name__
'ThreePlusThree'
>>> {'BLRM', 'BOIN', 'CRM', 'CombinationBLRM', 'ThreePlusThree'} <= set(design_names())
True
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Design

__all__ = ["design_class", "design_names", "designs", "register_design", "unregister_design"]

#: The package's designs: name -> module (relative to this package).
_BUILTIN = {
    "ThreePlusThree": ".three_plus_three", "BOIN": ".boin", "CRM": ".crm", "BLRM": ".blrm",
    "CombinationBLRM": ".combo_blrm", "BOIN12": ".boin12",
}  # fmt: skip
#: Short names accepted for ``type``.
ALIASES = {"3+3": "ThreePlusThree", "3plus3": "ThreePlusThree", "combo_blrm": "CombinationBLRM"}
_USER: dict[str, type] = {}


def register_design(cls: type[Design] | None = None, *, name: str | None = None,
                    aliases: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]  # fmt: skip
    """Register a design class under ``name`` (default: the class name) and ``aliases``.

    Usable as ``register_design(cls)`` or as a class decorator (``@register_design`` or
    ``@register_design(name="up-down")``).  Returns the class.
    """

    def add(klass: type[Design]) -> type[Design]:
        from .base import Design

        if not (isinstance(klass, type) and issubclass(klass, Design)):
            raise ValueError(f"register_design: expected a Design subclass, got {klass!r}")
        key = name or klass.__name__
        if key.startswith("_") or key in ALIASES:
            raise ValueError(f"register_design: {key!r} cannot name a design")
        _USER[key] = klass
        for a in aliases:
            ALIASES[a] = key
        return klass

    return add if cls is None else add(cls)


def unregister_design(name: str) -> None:
    """Remove a user's design (and its aliases) from the registry."""
    if name not in _USER:
        raise KeyError(f"unregister_design: {name!r} is not a registered user design")
    del _USER[name]
    for a in [a for a, k in ALIASES.items() if k == name]:
        del ALIASES[a]


def design_names() -> list[str]:
    """Registered design names (without aliases), sorted."""
    return sorted(set(_BUILTIN) | set(_USER))


def design_class(name: str) -> type[Design]:
    """The class registered as ``name`` (or an alias); ``KeyError`` when none is."""
    key = ALIASES.get(name, name)
    if key in _USER:
        return _USER[key]
    if key in _BUILTIN:
        return getattr(import_module(_BUILTIN[key], __package__), key)
    raise KeyError(name)


def designs() -> dict[str, type[Design]]:
    """Every registered design: name -> class (imports the package's design modules)."""
    return {n: design_class(n) for n in design_names()}
