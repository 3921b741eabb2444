"""Immunogenicity: Shankar et al. (2014) classification, exact CIs, PK by ADA status."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import bayes_dose as bd
from bayes_dose.ada import CATEGORIES, classify, clopper_pearson, incidence, pk_by_status
from bayes_dose.listings import read_ada

COLS = ["USUBJID", "ARM", "DOSE", "CYCLE", "BASEFL", "ADY", "ADA", "TITRE", "NAB"]


def _subject(sid, results, dose=10, base=True, days=None, nab=()):
    """results: [(ADA, titre)] for baseline (if base) then cycles 2, 3, ..."""
    rows = []
    for j, (res, titre) in enumerate(results):
        cyc = j + 1 if base else j + 2
        day = (cyc - 1) * 21 + 1 if days is None else days[j]
        pos = res == "POSITIVE"
        rows.append((sid, "mono", dose, cyc, "Y" if (base and j == 0) else "N", day, res,
                     titre if pos else None,
                     ("POSITIVE" if cyc in nab else "NEGATIVE") if pos else None))  # fmt: skip
    return rows


P, N = "POSITIVE", "NEGATIVE"
ROWS = (
    _subject("A", [(N, None), (P, 40), (P, 80), (P, 80)], nab=(3,))  # induced, last positive
    + _subject("B", [(N, None), (N, None), (P, 20), (N, None)])  # one positive: transient
    + _subject("C", [(N, None), (P, 20), (N, None), (P, 20), (N, None)])  # 42 d apart, last neg
    + _subject("D", [(N, None), (P, 20), (P, 20), (N, None)], days=[1, 22, 148, 169])  # >= 16 wk
    + _subject("E", [(P, 20), (P, 80), (P, 40)], dose=30)  # 4-fold: boosted
    + _subject("F", [(P, 20), (P, 40)], dose=30)  # 2-fold: not boosted
    + _subject("G", [(N, None), (P, 40)], dose=30, base=False)  # no baseline
    + _subject("H", [(N, None)], dose=30)  # baseline only
)


def _listing():
    return read_ada(pd.DataFrame(ROWS, columns=COLS))


def test_shankar_classification():
    c = classify(_listing()).set_index("subject")
    assert c.loc["A", ["induced", "emergent", "persistence", "nab"]].tolist() == [True, True, "persistent", True]
    assert c.loc["B", "persistence"] == "transient"
    assert c.loc["C", "persistence"] == "transient"
    assert c.loc["D", "persistence"] == "persistent"
    assert c.loc["E", ["boosted", "emergent", "max_fold"]].tolist() == [True, True, 4.0]
    assert pd.isna(c.loc["E", "persistence"])  # persistence is classed for induced ADA
    assert c.loc["F", ["boosted", "emergent", "baseline"]].tolist() == [False, False, "POSITIVE"]
    assert not c.loc["G", "evaluable"] and "no baseline sample" in c.loc["G", "reason"]
    assert "row 22, row 23" in c.loc["G", "reason"]  # names the rows of the subject
    assert not c.loc["H", "evaluable"] and "no post-baseline sample" in c.loc["H", "reason"]
    # configurable thresholds
    c2 = classify(_listing(), boost_fold=2, persistent_weeks=6).set_index("subject")
    assert c2.loc["F", "boosted"] and c2.loc["C", "persistence"] == "persistent"
    with pytest.raises(ValueError, match="boost_fold"):
        classify(_listing(), boost_fold=1)


def test_incidence_counts_and_exact_intervals():
    t = incidence(_listing())
    assert list(t["category"].unique()) == list(CATEGORIES)
    row = t.query("dose == '10' and category == 'treatment-induced'").iloc[0]
    assert (row.n, row.N) == (4, 4)
    row = t.query("dose == '30' and category == 'treatment-emergent'").iloc[0]
    assert (row.n, row.N) == (1, 2)  # E boosted of E, F (G and H not evaluable)
    row = t.query("dose == '30' and category == 'baseline positive'").iloc[0]
    assert (row.n, row.N) == (2, 3)  # E, F of the subjects with a baseline (E, F, H)
    row = t.query("dose == 'all' and category == 'transient'").iloc[0]
    assert (row.n, row.N) == (2, 6)
    ci = stats.binomtest(2, 6).proportion_ci(confidence_level=0.95, method="exact")
    assert (row.ci_low, row.ci_high) == pytest.approx((100 * ci.low, 100 * ci.high), rel=1e-10)
    assert set(t.attrs["not_evaluable"]["subject"]) == {"G", "H"}


def test_clopper_pearson_matches_scipy():
    for k, n in [(0, 5), (1, 5), (5, 5), (3, 17), (10, 33)]:
        ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.9, method="exact")
        assert clopper_pearson(k, n, 0.9) == pytest.approx((ci.low, ci.high), rel=1e-10, abs=1e-15)
    assert all(np.isnan(clopper_pearson(0, 0)))


def test_bundled_incidence_and_pk_by_status():
    t = incidence()
    assert set(t["arm"]) == {"mono", "combo"}
    assert set(t.loc[t.arm == "mono", "dose"]) == {"1", "3", "10", "30", "100", "300", "600", "all"}
    per_dose = t[(t.dose != "all") & (t.category == "treatment-emergent")].groupby("arm")["n"].sum()
    tot = t[(t.dose == "all") & (t.category == "treatment-emergent")].set_index("arm")["n"]
    assert per_dose.to_dict() == tot.to_dict()
    res = bd.pk.nca()
    pk = pk_by_status(res)
    assert set(pk["parameter"]) == {"cmax", "ctrough"}
    c = classify()
    n_pos = int(c.loc[c.arm == "mono", "emergent"].sum())
    row = pk.query("arm == 'mono' and cycle == 1 and parameter == 'cmax' and ada_status == 'ADA positive'")
    assert int(row["n"].iat[0]) == n_pos
    vals = res.query("arm == 'mono' and cycle == 1 and parameter == 'cmax'").set_index("subject")["value"]
    pos = c.loc[(c.arm == "mono") & c.emergent, "subject"]
    assert row["geo_mean"].iat[0] == pytest.approx(float(np.exp(np.log(vals[pos]).mean())))


def test_pk_by_status_needs_ada_for_every_subject():
    res = bd.pk.nca()
    with pytest.raises(ValueError, match="have no ADA results"):
        pk_by_status(res, _listing())


def test_cli_ada_writes_tables(tmp_path, capsys):
    from bayes_dose.cli import main

    assert main(["ada", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and "treatment-emergent" in out
    inc = pd.read_csv(tmp_path / "ada_incidence.csv", dtype={"dose": str})
    assert set(inc["category"]) == set(CATEGORIES)
    assert (tmp_path / "pk_by_ada.csv").is_file() and (tmp_path / "ada_subjects.csv").is_file()


def test_cli_ada_missing_baseline_is_listed(tmp_path, capsys):
    from bayes_dose.cli import main

    path = tmp_path / "ada.csv"
    pd.DataFrame(ROWS, columns=COLS).to_csv(path, index=False)
    # PK by status needs ADA for every NCA subject: the hand listing has other subjects
    assert main(["ada", "--ada", str(path)]) == 2
    assert "have no ADA results" in capsys.readouterr().err
    t = incidence(path)
    ne = t.attrs["not_evaluable"].set_index("subject")["reason"]
    assert ne["G"].startswith("no baseline sample (BASEFL = Y) among line 24, line 25")
