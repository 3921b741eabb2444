"""SAS transport (XPORT version 5) files read as written.

pandas' reader turns an IBM-float zero whose exponent bits are set (as some writers,
pyreadstat among them, store 0) into ``16**-65`` = 5.397605346934028e-79 instead of 0.
No value of a clinical listing is that number, and a pre-dose time, a study day 0 or a
concentration 0 read as 5.4e-79 would silently change meaning (a pre-dose sample would
count as post-dose).  :func:`read_xport` returns exact zeros for it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["IBM_ZERO_ARTEFACT", "read_xport"]

#: What pandas returns for an IBM-float zero with a non-zero exponent: ``16**-65``.
IBM_ZERO_ARTEFACT = 16.0**-65


def read_xport(path: str | Path) -> pd.DataFrame:
    """Read a SAS transport v5 file; numeric cells equal to ``±16**-65`` become 0.

    Examples
    --------
    >>> float(IBM_ZERO_ARTEFACT)
    5.397605346934028e-79
    """
    df = pd.read_sas(path, format="xport", encoding="latin-1")
    for col in df.columns:
        if pd.api.types.is_float_dtype(df[col]):
            v = df[col].to_numpy()
            hit = np.abs(v) == IBM_ZERO_ARTEFACT
            if hit.any():
                df[col] = np.where(hit, 0.0, v)
    return df
