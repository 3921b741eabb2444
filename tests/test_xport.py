"""SAS transport files: exact zeros survive (pandas reads pyreadstat's zero as 16**-65)."""

from __future__ import annotations

import pandas as pd
import pytest

from bayes_dose.xport import IBM_ZERO_ARTEFACT, read_xport

pyreadstat = pytest.importorskip("pyreadstat")


def test_zero_reads_back_as_zero(tmp_path):
    df = pd.DataFrame({"NRRLT": [0.0, 1.0, -0.0, 2.5e-3, 1e-70], "ID": list("abcde")})
    path = tmp_path / "z.xpt"
    pyreadstat.write_xport(df, str(path), file_format_version=5)
    raw = pd.read_sas(path, format="xport", encoding="latin-1")
    assert raw["NRRLT"].iat[0] == IBM_ZERO_ARTEFACT  # the artefact this module removes
    back = read_xport(path)
    assert back["NRRLT"].tolist() == [0.0, 1.0, 0.0, 2.5e-3, 1e-70]
    assert back["ID"].tolist() == list("abcde")
