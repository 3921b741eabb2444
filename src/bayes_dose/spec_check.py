"""Checks of TOML spec values: known keys (with the nearest valid name) and exact types.

TOML gives ``int``, ``float``, ``bool``, ``str``, lists and tables; a design parameter
typed ``int`` must get a whole number (not ``3.7``, not ``true``; ``30.0`` is taken as
``30``, as the Python API takes it), a ``float`` a finite
number, a ``bool`` a boolean (not ``"no"``).  Each error names where the value is
(``design 'CRM' (arm 'mono'): field 'cohort_size'``).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["check_keys", "check_value", "did_you_mean"]


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the valid name closest to ``name``, else ``""``.

    Examples
    --------
    >>> did_you_mean("sede", ["seed", "protocol"])
    " (did you mean 'seed'?)"
    >>> did_you_mean("zzz", ["seed"])
    ''
    """
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_keys(table: Mapping[str, Any], valid: Iterable[str], where: str) -> None:
    """Raise ``ValueError`` naming the first key of ``table`` not in ``valid``.

    Examples
    --------
    >>> check_keys({"n_trial": 5}, ["n_trials", "target"], "[simulation]")
    Traceback (most recent call last):
    ...
    ValueError: [simulation]: unknown key 'n_trial' (did you mean 'n_trials'?); valid keys: n_trials, target
    """
    valid = list(valid)
    for k in table:
        if k not in valid:
            raise ValueError(
                f"{where}: unknown key {k!r}{did_you_mean(k, valid)}; valid keys: "
                f"{', '.join(valid)}"
            )


def _describe(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def _options(hint: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(hint)
    return (hint,)


def check_value(value: Any, hint: Any, where: str) -> Any:
    """``value`` checked against the type ``hint``; lists become tuples.

    Integers, finite floats, booleans and strings must be exactly that; sequences are
    checked element by element (and by length for fixed-size tuples); a table given for
    a dataclass (a prior) builds it, with its keys and fields checked.  Hints this
    function does not know are passed through unchanged.

    Examples
    --------
    >>> check_value(3, int, "field 'cohort_size'")
    3
    >>> check_value([0.1, 0.2], tuple[float, ...], "field 'skeleton'")
    (0.1, 0.2)
    >>> check_value(3.0, int, "field 'cohort_size'")
    3
    >>> check_value(3.7, int, "field 'cohort_size'")
    Traceback (most recent call last):
    ...
    ValueError: field 'cohort_size': must be an integer, got 3.7 (float)
    """
    opts = [o for o in _options(hint) if o is not type(None)]
    if not opts:
        return value
    errors = []
    for opt in opts:
        try:
            return _check_one(value, opt, where)
        except ValueError as exc:
            errors.append(str(exc))
    if len(errors) == 1:
        raise ValueError(errors[0])
    # several types allowed: say what each wanted (without repeating the place)
    wanted = "; or ".join(e.split(": ", 1)[-1].split(", got")[0] for e in errors)
    raise ValueError(f"{where}: {wanted}, got {_describe(value)}")


def _check_one(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where}: must be true or false, got {_describe(value)}")
        return value
    if hint is int:
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            return int(value)  # 30.0 is 30 (checks.whole takes it so in Python)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where}: must be an integer, got {_describe(value)}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{where}: must be a number, got {_describe(value)}")
        if not math.isfinite(value):
            raise ValueError(f"{where}: must be a finite number, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{where}: must be a string, got {_describe(value)}")
        return value
    if origin in (tuple, Sequence, list) or hint in (tuple, list):
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, (list, tuple)):
            raise ValueError(f"{where}: must be a list, got {_describe(value)}")
        args = typing.get_args(hint)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ValueError(
                    f"{where}: must be a list of {len(args)} values, got {len(value)}: {value!r}"
                )
            return tuple(_check_one(v, a, f"{where}[{i}]") for i, (v, a) in
                         enumerate(zip(value, args, strict=True)))  # fmt: skip
        elem = args[0] if args else Any
        return tuple(check_value(v, elem, f"{where}[{i}]") for i, v in enumerate(value))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"{where}: must be a table of {hint.__name__}, got {_describe(value)}")
        return build_dataclass(hint, value, where)
    if isinstance(hint, type):
        if isinstance(value, Mapping) and not issubclass(hint, Mapping):
            raise ValueError(f"{where}: a table is not accepted here (expects {hint.__name__})")
    return value


def build_dataclass(cls: type, table: Mapping[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, checking its keys and field types.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> build_dataclass(bd.BLRMPrior, {"mean": [-1.0, 0.0], "sd": [1.0, 0.7]}, "prior").sd
    (1.0, 0.7)
    """
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    check_keys(table, fields, where)
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):
        hints = {}
    missing = [
        n for n, f in fields.items()
        if n not in table and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]  # fmt: skip
    if missing:
        raise ValueError(f"{where}: missing key(s) {missing} of {cls.__name__}")
    kwargs = {k: check_value(v, hints.get(k, Any), f"{where}.{k}") for k, v in table.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from exc
