"""Checks of arguments given in Python: exact types, no silent coercion.

``int(7.9)`` is 7, ``int(True)`` is 1, ``float("21")`` is 21.0 and ``bool("no")`` is
True: each would turn a typing slip into a plausible wrong result.  These helpers take a
value only when it already is what the parameter means, and otherwise raise a
``ValueError`` naming the owner and the parameter.  (TOML specs are checked against the
constructors' type hints by :func:`bayes_dose.spec_check.check_value`; these serve the
Python API, where NumPy scalars are common and integral floats such as ``21.0`` are taken.)

Examples
--------
>>> whole("Protocol", "dlt_window_days", 21.0, low=1)
21
>>> whole("Protocol", "dlt_window_days", 21.9, low=1)
Traceback (most recent call last):
...
ValueError: Protocol: dlt_window_days must be a whole number >= 1, got 21.9
>>> real("BLRM", "ewoc", True, low=0, high=1)
Traceback (most recent call last):
...
ValueError: BLRM: ewoc must be a number in [0, 1], got True
"""

from __future__ import annotations

import itertools
import math
import numbers
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import flag

__all__ = ["check_seed", "doses", "flag", "real", "reals", "warn_if_not_monotone", "whole"]


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))


def _scalar(v: Any) -> Any:
    """A 0-d array as its element (``np.array(0.25)`` is a number)."""
    return v.item() if isinstance(v, np.ndarray) and v.ndim == 0 else v


def _items(value: Any) -> list[Any] | None:
    """The elements of a 1-D sequence (list, tuple, range, 1-D array, pandas Series), else
    None (text, scalars, sets, 2-D arrays)."""
    if isinstance(value, (str, bytes)):
        return None
    if isinstance(value, Sequence):
        return list(value)
    if hasattr(value, "__array__") and not isinstance(value, (Mapping, set)):
        arr = np.asarray(value)
        return arr.tolist() if arr.ndim == 1 else None
    return None


def _range(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low is not None and high is not None:
        return f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f" {'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f" {'<' if high_open else '<='} {high:g}"
    return ""


def whole(owner: str, name: str, value: Any, *, low: int | None = None,
          high: int | None = None) -> int:  # fmt: skip
    """``value`` as an ``int`` when it is a whole number in ``[low, high]``.

    Booleans, text and floats with a fraction (or NaN) are refused; an integral float
    (``6.0``) and NumPy integers are taken.

    Examples
    --------
    >>> whole("MTDRule", "min_patients", 6, low=1)
    6
    >>> whole("MTDRule", "min_patients", True, low=1)
    Traceback (most recent call last):
    ...
    ValueError: MTDRule: min_patients must be a whole number >= 1, got True
    """
    value = _scalar(value)
    ok = _is_real(value) and math.isfinite(value) and float(value) == int(value)
    if ok:
        out = int(value)
        ok = (low is None or out >= low) and (high is None or out <= high)
    if not ok:
        raise ValueError(f"{owner}: {name} must be a whole number"
                         f"{_range(low, high, False, False)}, got {value!r}")  # fmt: skip
    return out


def real(owner: str, name: str, value: Any, *, low: float | None = None,
         high: float | None = None, low_open: bool = False, high_open: bool = False,
         finite: bool = True) -> float:  # fmt: skip
    """``value`` as a ``float`` when it is a real number (not a bool or text) in range.

    ``low_open`` / ``high_open`` exclude the bounds; ``finite=False`` lets ``inf`` through
    (NaN never passes).

    Examples
    --------
    >>> real("CRM", "prior_sd", 1.16, low=0, low_open=True)
    1.16
    >>> real("CRM", "prior_sd", float("inf"), low=0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: CRM: prior_sd must be a finite number > 0, got inf
    """
    value = _scalar(value)
    ok = _is_real(value) and not math.isnan(value) and (not finite or math.isfinite(value))
    if ok:
        x = float(value)
        ok = (low is None or (x > low if low_open else x >= low)) and (
            high is None or (x < high if high_open else x <= high)
        )
    if not ok:
        bounded = low is not None and high is not None
        what = "a finite number" if finite and not bounded else "a number"
        raise ValueError(f"{owner}: {name} must be {what}"
                         f"{_range(low, high, low_open, high_open)}, got {value!r}")  # fmt: skip
    return x


def reals(owner: str, name: str, value: Any, n: int, **bounds: Any) -> tuple[float, ...]:
    """Exactly ``n`` real numbers (each as :func:`real` with ``bounds``), as a tuple.

    Examples
    --------
    >>> reals("BLRMPrior", "field 'sd'", [2, 1], 2, low=0, low_open=True)
    (2.0, 1.0)
    >>> reals("BLRMPrior", "field 'mean'", 0, 2)
    Traceback (most recent call last):
    ...
    ValueError: BLRMPrior: field 'mean' must be 2 numbers, got 0
    """
    items = _items(value)
    if items is None or len(items) != n:
        raise ValueError(f"{owner}: {name} must be {n} numbers, got {value!r}")
    return tuple(real(owner, name, v, **bounds) for v in items)


def doses(owner: str, name: str, value: Any, *, increasing: bool = True) -> tuple[float, ...]:
    """A non-empty 1-D sequence of positive finite doses (mg), increasing by default.

    Examples
    --------
    >>> doses("BLRM", "doses", [1, 3, 10])
    (1.0, 3.0, 10.0)
    >>> doses("BLRM", "doses", "123")
    Traceback (most recent call last):
    ...
    ValueError: BLRM: doses must be a sequence of doses (mg), got '123'
    """
    items = _items(value)
    if not items:
        raise ValueError(f"{owner}: {name} must be a sequence of doses (mg), got {value!r}")
    if not all(_is_real(d) and math.isfinite(d) and d > 0 for d in items):
        raise ValueError(f"{owner}: {name} must hold positive finite doses (mg), got {value!r}")
    out = tuple(float(d) for d in items)
    if increasing and any(b <= a for a, b in itertools.pairwise(out)):
        raise ValueError(f"{owner}: {name} must increase, got {out}")
    return out


def check_seed(seed: Any, owner: str = "") -> int:
    """``seed`` as an int when it is a non-negative integer; a float (even ``1.0``), a bool
    or text is refused: a seed is an identity, not a quantity.

    Examples
    --------
    >>> check_seed(7)
    7
    >>> check_seed(True, "Study")
    Traceback (most recent call last):
    ...
    ValueError: Study: seed must be a non-negative integer, got True
    """
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"{owner + ': ' if owner else ''}seed must be a non-negative integer, "
                         f"got {seed!r}")  # fmt: skip
    return int(seed)


def warn_if_not_monotone(where: str, p: np.ndarray, done: str, stacklevel: int) -> None:
    """Warn (``UserWarning``) when a true DLT curve decreases somewhere: the methods
    take it as given (``done``: what was done with it), but a curve that is not
    monotone is more often a typo than a scenario.

    Examples
    --------
    >>> import warnings, numpy as np
    >>> from bayes_dose.checks import warn_if_not_monotone
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_if_not_monotone("demo", np.array([0.1, 0.3, 0.2]), "used as given", 2)
    >>> str(w[0].message)
    'demo: the true DLT curve is not monotone (level 3: 0.2 < level 2: 0.3); used as given'
    """
    if np.any(np.diff(p) < 0):
        drop = int(np.argmax(np.diff(p) < 0))
        warnings.warn(
            f"{where}: the true DLT curve is not monotone (level {drop + 2}: {p[drop + 1]:g} < "
            f"level {drop + 1}: {p[drop]:g}); {done}",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
