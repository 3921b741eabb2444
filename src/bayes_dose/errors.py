"""Errors that list every bad record of an input at once."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["RecordsError"]


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
