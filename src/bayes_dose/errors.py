"""Errors that list every bad record of an input at once."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["BadCell", "DoseGridError", "RecordsError", "cell_number", "flag"]


class DoseGridError(ValueError):
    """A design's dose levels (mg, or their number) are not its data arm's dose grid."""


class BadCell(Exception):
    """A cell that cannot be read; the message completes "field X: <value> ..."."""


def cell_number(v: Any) -> float:
    """A finite number from a listing cell (number, numeric text or latin-1 bytes of
    SAS transport files); booleans and other text raise :class:`BadCell`.

    Examples
    --------
    >>> cell_number(" 2.5"), cell_number(b"3")
    (2.5, 3.0)
    """
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    if isinstance(v, (bool, np.bool_)):
        raise BadCell("is not a number")
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
    elif isinstance(v, str):
        try:
            x = float(v.strip())
        except ValueError:
            raise BadCell("is not a number (leave the cell blank if it is missing)") from None
    else:
        raise BadCell("is not a number")
    if not math.isfinite(x):
        raise BadCell("is not a finite number")
    return x


class RecordsError(ValueError):
    """Bad records of an input; ``errors`` lists every problem found.

    Examples
    --------
    >>> str(RecordsError(["line 2: field 'dlt': blank", "line 5: field 'arm': 'mon'"]))
    "2 problems in the input:\\n  line 2: field 'dlt': blank\\n  line 5: field 'arm': 'mon'"
    """

    #: What the records are, in the message of several problems.
    what = "the input"

    def __init__(self, errors: Sequence[str]):
        self.errors = list(errors)
        if len(self.errors) == 1:
            msg = self.errors[0]
        else:
            msg = f"{len(self.errors)} problems in {self.what}:\n  " + "\n  ".join(self.errors)
        super().__init__(msg)


def flag(owner: str, name: str, value: Any) -> bool:
    """``value`` as a bool when it is one (Python or NumPy), else a ValueError naming the
    argument: ``bool("no")`` is True, so a text or a number would silently switch the
    option on.

    Examples
    --------
    >>> flag("BOIN", "extrasafe", False)
    False
    >>> flag("BOIN", "extrasafe", "no")
    Traceback (most recent call last):
    ...
    ValueError: BOIN: extrasafe must be True or False, got 'no'
    """
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")
