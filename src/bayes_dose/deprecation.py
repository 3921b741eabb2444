"""Renamed public names: the old name keeps working and warns (``DeprecationWarning``).

One word per concept (issue 11):

* ``max_n`` is only the sample-size cap (a design's, or an expansion cohort's); a table
  that covers ``n = 1..N`` patients at a dose takes ``up_to_n`` (was ``n_max``);
* a design's ``model`` is a model object (``BLRM.model``); CRM's dose-toxicity link is
  ``link`` (``"empiric"`` or ``"logistic"``, was ``model``);
* "interval" alone is a *toxicity interval* (underdose ``[0, lo)``, target ``[lo, hi)``,
  overdose ``[hi, 1]``; ``target_interval``, ``interval_probs``); posterior bounds are a
  *credible interval* whose mass is ``credible_level`` (was CRM's ``interval``);
* ``Outcomes.cohort_prefixes()`` yields the data after each cohort (was ``cohorts()``).

Every alias gives the same result as the new name.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["deprecated_method", "deprecated_property", "renamed_kwargs", "warn_renamed"]

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(owner: str, old: str, new: str, stacklevel: int = 3) -> None:
    """Emit the ``DeprecationWarning`` of a renamed name."""
    warnings.warn(
        f"{owner}: {old!r} is deprecated, use {new!r} (same meaning and result)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def apply_renames(
    owner: str, renames: dict[str, str], kwargs: dict[str, Any], stacklevel: int = 3
) -> None:
    """Rename deprecated keyword arguments in ``kwargs`` in place (old -> new), warning
    for each; giving both names is a ``TypeError``."""
    for old, new in renames.items():
        if old in kwargs:
            warn_renamed(owner, old, new, stacklevel=stacklevel)
            if new in kwargs:
                raise TypeError(
                    f"{owner}: got {new!r} and its deprecated alias {old!r}; pass only {new!r}"
                )
            kwargs[new] = kwargs.pop(old)


def renamed_kwargs(**renames: str) -> Callable[[F], F]:
    """Decorator: keyword arguments renamed ``old=new`` keep working under the old name.

    The call is forwarded with the new name (same result) after a ``DeprecationWarning``;
    passing both names is a ``TypeError``.  The signature shown (``inspect.signature``)
    is the new one; the old names are listed in the wrapper's ``__renamed__``.

    Examples
    --------
    >>> import warnings
    >>> @renamed_kwargs(n_max="up_to_n")
    ... def table(up_to_n):
    ...     return list(range(1, up_to_n + 1))
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     table(n_max=3)
    [1, 2, 3]
    >>> w[0].category.__name__, str(w[0].message)
    ('DeprecationWarning', "table: 'n_max' is deprecated, use 'up_to_n' (same meaning and result)")
    >>> table(3)
    [1, 2, 3]
    """

    def decorate(func: F) -> F:
        owner = func.__qualname__.removesuffix(".__init__")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            apply_renames(owner, renames, kwargs, stacklevel=4)
            return func(*args, **kwargs)

        wrapper.__renamed__ = {**getattr(func, "__renamed__", {}), **renames}  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def deprecated_property(old: str, new: str) -> property:
    """A read-only attribute ``old`` that warns and returns attribute ``new``."""

    def get(self: Any) -> Any:
        warn_renamed(type(self).__name__, old, new)
        return getattr(self, new)

    get.__doc__ = f"Deprecated alias of :attr:`{new}`."
    return property(get)


def deprecated_method(new: Callable[..., Any], old: str) -> Callable[..., Any]:
    """A method ``old`` that warns and calls ``new`` with the same arguments."""

    @functools.wraps(new)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        warn_renamed(type(self).__name__, f"{old}()", f"{new.__name__}()")
        return new(self, *args, **kwargs)

    method.__name__ = old
    method.__qualname__ = new.__qualname__.rsplit(".", 1)[0] + "." + old
    method.__doc__ = f"Deprecated alias of :meth:`{new.__name__}`."
    return method
