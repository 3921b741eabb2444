"""Utility tables over the four joint outcomes of a patient (response x DLT), shared by
designs that decide on efficacy (BOIN12) and the OBD selectors (:mod:`bayes_dose.obd`)."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["DEFAULT_UTILITY", "check_utility"]

#: BOIN12's default utility table: (response no DLT, neither, response and DLT, DLT only).
DEFAULT_UTILITY = (100.0, 40.0, 60.0, 0.0)


def check_utility(utility: Sequence[float]) -> tuple[float, float, float, float]:
    """``utility`` as 4 floats: ``u1 = 100`` (best), ``u4 = 0`` (worst), ``u2, u3`` in
    [0, 100]; anything else is a ValueError naming the entry."""
    try:
        u = tuple(float(x) for x in utility)
    except (TypeError, ValueError):
        raise ValueError(f"utility must be 4 numbers (u1, u2, u3, u4), got {utility!r}") from None
    if len(u) != 4:
        raise ValueError(f"utility must be 4 numbers (u1, u2, u3, u4), got {len(u)}")
    if u[0] != 100 or u[3] != 0:
        raise ValueError(
            f"utility: u1 (response without DLT) must be 100 and u4 (DLT without response) 0, "
            f"got u1={u[0]:g}, u4={u[3]:g}"
        )
    for k in (1, 2):
        if not 0 <= u[k] <= 100:
            raise ValueError(f"utility: u{k + 1} must be in [0, 100], got {u[k]:g}")
    return u  # type: ignore[return-value]
