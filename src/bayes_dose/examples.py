"""Bundled example data.

``bat6021_outcomes()`` is a **synthetic** data set, made up for demonstrations and tests;
it is not trial data.  Monotherapy: accelerated titration at 1, 3 and 10 mg (one patient
each, no DLT), 3+3 from 30 mg; 1/6 at 300 mg, 2/3 at 600 mg, so the 3+3 MTD is 300 mg.
Combination (assumed levels 30-900 mg with tislelizumab 200 mg): 0/3 at 30 mg, 0/3 at
100 mg, 2/6 at 300 mg, then 100 mg expanded to 0/6, so the 3+3 MTD is 100 mg.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from .outcomes import Outcomes
from .protocols import bat6021

__all__ = ["bat6021_adsl", "bat6021_ae", "bat6021_frame", "bat6021_outcomes"]

SYNTHETIC_NOTE = "synthetic example data (not trial data)"


def bat6021_frame() -> pd.DataFrame:
    """The synthetic BAT6021 example as a DataFrame (both arms)."""
    with resources.files("bayes_dose").joinpath("data/bat6021_example.csv").open("r") as fh:
        return pd.read_csv(fh)


def bat6021_outcomes() -> Outcomes:
    """The synthetic BAT6021 example as validated :class:`Outcomes` (both arms).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> out = bd.examples.bat6021_outcomes()
    >>> out.arms
    ('mono', 'combo')
    >>> out.arm("mono").counts()["n"].tolist()
    [1, 1, 1, 3, 3, 6, 3, 0]
    """
    return Outcomes.from_frame(bat6021_frame(), protocol=bat6021())


def _bundled_csv(name: str) -> pd.DataFrame:
    with resources.files("bayes_dose").joinpath(f"data/{name}").open("r") as fh:
        return pd.read_csv(fh, dtype=str)


def bat6021_ae() -> pd.DataFrame:
    """Synthetic ADAE-like adverse-event listing of the example (both arms).

    Adjudicated with :func:`bayes_dose.adjudicate_dlt` it gives exactly the per-patient
    DLTs of :func:`bat6021_outcomes`; it also holds events that are not DLTs (grade 2,
    unrelated grade 3, onset after day 21, grade 4 neutropenia lasting 5 days, ...).
    Cells are text, as read from a CSV file.

    Examples
    --------
    >>> import bayes_dose as bd
    >>> bd.examples.bat6021_ae().columns[:4].tolist()
    ['USUBJID', 'AEDECOD', 'AESOC', 'ATOXGR']
    """
    return _bundled_csv("bat6021_ae.csv")


def bat6021_adsl() -> pd.DataFrame:
    """Synthetic ADSL-like subject table of the example (``USUBJID``, ``ARM``, ``DOSE``, ...).

    Examples
    --------
    >>> import bayes_dose as bd
    >>> len(bd.examples.bat6021_adsl())
    33
    """
    return _bundled_csv("bat6021_adsl.csv")
