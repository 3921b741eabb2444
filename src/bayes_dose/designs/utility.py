"""Utility tables over the four joint outcomes of a patient (response x DLT), shared by
designs that decide on efficacy (BOIN12) and the OBD selectors (:mod:`bayes_dose.obd`)."""

from __future__ import annotations

from collections.abc import Sequence

from .. import checks

__all__ = ["DEFAULT_UTILITY", "check_utility"]

#: BOIN12's default utility table: (response no DLT, neither, response and DLT, DLT only).
DEFAULT_UTILITY = (100.0, 40.0, 60.0, 0.0)


def check_utility(
    utility: Sequence[float], owner: str = "check_utility"
) -> tuple[float, float, float, float]:
    """``utility`` as 4 floats: ``u1 = 100`` (best), ``u4 = 0`` (worst), ``u2, u3`` in
    [0, 100]; anything else (text, booleans, NaN included) is a ValueError naming
    ``owner`` and the entry.

    Examples
    --------
    >>> check_utility([100, 40, 60, 0], "BOIN12")
    (100.0, 40.0, 60.0, 0.0)
    >>> check_utility((100, True, 60, 0), "BOIN12")
    Traceback (most recent call last):
    ...
    ValueError: BOIN12: utility must be a finite number, got True
    """
    try:
        u = checks.reals(owner, "utility", utility, 4)
    except ValueError as exc:
        if "must be 4 numbers" not in str(exc):
            raise
        raise ValueError(
            f"{owner}: utility must be 4 numbers (u1, u2, u3, u4), got {utility!r}"
        ) from None
    if u[0] != 100 or u[3] != 0:
        raise ValueError(
            f"{owner}: utility: u1 (response without DLT) must be 100 and u4 (DLT without "
            f"response) 0, got u1={u[0]:g}, u4={u[3]:g}"
        )
    for k in (1, 2):
        if not 0 <= u[k] <= 100:
            raise ValueError(f"{owner}: utility: u{k + 1} must be in [0, 100], got {u[k]:g}")
    return u  # type: ignore[return-value]
